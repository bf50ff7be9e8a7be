import { existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CATEGORIES,
  type CategoryCount,
  type CheckMode,
  type Figure,
  type ResultLineVerdict,
  type BfclDataset,
  type Category,
  checkResultLine,
  displayFigure,
  jsonLines,
  leaderboard,
  normalizeCategory,
} from '../../../protocols/bfcl/index.ts';
import { bfclDataDir, loadBfclCategory } from '../../bfcl/files.ts';
import { EXIT, UsageError, defineCommand } from '../command.ts';

/**
 * `looptool eval <what> ...`: evaluations. The first word picks the evaluation, so later
 * ones (`eval sim`, ...) are one more entry in SUBCOMMANDS.
 */

const USAGE = `eval bfcl check --category C --results FILE [--out FILE] [--data DIR] [--mode prompt|fc] [--json]
       looptool eval bfcl score --results DIR [--data DIR] [--mode prompt|fc] [--json]`;

type Sub = { summary: string; run(argv: string[]): Promise<number> };

const SUBCOMMANDS: Record<string, Sub> = {
  bfcl: { summary: 'BFCL v3 AST checker with the leaderboard verdicts (check, score)', run: runBfcl },
};

async function runBfcl(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === 'check') return bfclCheck(rest);
  if (verb === 'score') return bfclScore(rest);
  throw new UsageError(verb ? `unknown "eval bfcl" verb "${verb}" (check, score)` : 'eval bfcl needs a verb: check or score');
}

function flags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: {
        data: { type: 'string' },
        category: { type: 'string' },
        results: { type: 'string' },
        out: { type: 'string' },
        mode: { type: 'string', default: 'prompt' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function modeFlag(mode: string | undefined): CheckMode {
  if (mode === 'prompt' || mode === 'fc') return mode;
  throw new UsageError(`--mode must be "prompt" or "fc", got "${mode}"`);
}

type FileSummary = {
  category: Category;
  lines: number;
  valid: number;
  malformed: number;
  unknownIds: number;
  /** dataset ids with no result line */
  missing: number;
  duplicates: number;
  /** correct / total over the dataset, the leaderboard's accuracy (missing ids count as wrong) */
  correct: number;
  total: number;
  errorTypes: Record<string, number>;
};

/** Checks every line of a result file; verdicts come back in input order. */
function checkFile(ds: BfclDataset, text: string, mode: CheckMode): { verdicts: ResultLineVerdict[]; summary: FileSummary } {
  const verdicts: ResultLineVerdict[] = [];
  const seen = new Set<string>();
  let correct = 0;
  let duplicates = 0;
  const errorTypes: Record<string, number> = {};
  for (const { text: line } of jsonLines(text)) {
    const v = checkResultLine(ds, line, mode);
    verdicts.push(v);
    if (!v.valid && v.error_type) errorTypes[v.error_type] = (errorTypes[v.error_type] ?? 0) + 1;
    if (v.id !== null && ds.entries.has(v.id)) {
      if (seen.has(v.id)) duplicates++;
      else {
        seen.add(v.id);
        if (v.valid) correct++;
      }
    }
  }
  const summary: FileSummary = {
    category: ds.category,
    lines: verdicts.length,
    valid: verdicts.filter((v) => v.valid).length,
    malformed: verdicts.filter((v) => v.error_type === 'looptool:malformed_line').length,
    unknownIds: verdicts.filter((v) => v.error_type === 'looptool:unknown_id').length,
    missing: ds.order.length - seen.size,
    duplicates,
    correct,
    total: ds.order.length,
    errorTypes,
  };
  return { verdicts, summary };
}

function writeAtomic(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function pct(n: number, d: number): string {
  return d > 0 ? `${((100 * n) / d).toFixed(2)}%` : 'n/a';
}

async function bfclCheck(argv: string[]): Promise<number> {
  const f = flags(argv);
  const mode = modeFlag(f.mode);
  if (!f.category) throw new UsageError('--category is required');
  if (!f.results) throw new UsageError('--results is required');
  const category = normalizeCategory(f.category);
  if (!category) throw new UsageError(`unknown category "${f.category}" (one of: ${CATEGORIES.join(', ')})`);
  const ds = loadBfclCategory(bfclDataDir(f.data), category);
  const resultsPath = resolve(f.results);
  if (!existsSync(resultsPath)) throw new Error(`results file not found: ${resultsPath}`);
  const { verdicts, summary } = checkFile(ds, readFileSync(resultsPath, 'utf8'), mode);
  const out = verdicts.map((v) => JSON.stringify(v)).join('\n') + (verdicts.length ? '\n' : '');
  if (f.out) writeAtomic(resolve(f.out), out);
  else process.stdout.write(out);
  const report = f.out ? process.stdout : process.stderr;
  if (f.json) report.write(JSON.stringify({ ...summary, mode, out: f.out ? resolve(f.out) : null }) + '\n');
  else {
    const extras = [
      summary.malformed ? `${summary.malformed} malformed` : '',
      summary.unknownIds ? `${summary.unknownIds} unknown ids` : '',
      summary.missing ? `${summary.missing} ids without a result` : '',
      summary.duplicates ? `${summary.duplicates} duplicate ids` : '',
    ].filter(Boolean);
    report.write(
      `${category} (${mode}): ${summary.valid}/${summary.lines} lines valid; accuracy ${summary.correct}/${summary.total} = ${pct(summary.correct, summary.total)}` +
        `${extras.length ? ` (${extras.join(', ')})` : ''}${f.out ? ` -> ${resolve(f.out)}` : ''}\n`,
    );
    if (ds.problems.length) report.write(`data problems: ${ds.problems.join('; ')}\n`);
  }
  return EXIT.ok;
}

/** Result files BFCL writes (`BFCL_v3_simple_result.json`) or plain `<category>.jsonl`. */
function findResultFiles(dir: string): Map<Category, string> {
  const found = new Map<Category, string>();
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (!statSync(path).isFile() || !/\.jsonl?$/.test(name)) continue;
    const cat = normalizeCategory(name);
    if (!cat) continue;
    if (found.has(cat)) throw new Error(`two result files for ${cat}: ${found.get(cat)} and ${path}`);
    found.set(cat, path);
  }
  return found;
}

const TABLE_ROWS: [string, string][] = [
  ['simple', 'Non-Live simple (python)'],
  ['multiple', 'Non-Live multiple'],
  ['parallel', 'Non-Live parallel'],
  ['parallel_multiple', 'Non-Live parallel multiple'],
  ['irrelevance', 'Non-Live irrelevance'],
  ['live_simple', 'Live simple'],
  ['live_multiple', 'Live multiple'],
  ['live_parallel', 'Live parallel'],
  ['live_parallel_multiple', 'Live parallel multiple'],
  ['live_irrelevance', 'Live irrelevance'],
  ['live_relevance', 'Live relevance'],
  ['java', 'Non-Live simple java (not evaluated)'],
  ['javascript', 'Non-Live simple javascript (not evaluated)'],
];

async function bfclScore(argv: string[]): Promise<number> {
  const f = flags(argv);
  const mode = modeFlag(f.mode);
  if (!f.results) throw new UsageError('--results DIR is required');
  const dir = resolve(f.results);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`results directory not found: ${dir}`);
  const dataDir = bfclDataDir(f.data);
  const files = findResultFiles(dir);
  if (files.size === 0) throw new Error(`no BFCL result files in ${dir} (expected e.g. BFCL_v3_simple_result.json)`);
  const counts: Partial<Record<string, CategoryCount>> = {};
  const summaries: FileSummary[] = [];
  for (const [cat, path] of files) {
    const ds = loadBfclCategory(dataDir, cat);
    const { summary } = checkFile(ds, readFileSync(path, 'utf8'), mode);
    summaries.push(summary);
    counts[cat] = { correct: summary.correct, total: summary.total };
  }
  const lb = leaderboard(counts);
  if (f.json) {
    const fig = (x: Figure) => ({ accuracy: x.accuracy, display: displayFigure(x), total: x.total });
    process.stdout.write(
      JSON.stringify({
        mode,
        categories: Object.fromEntries(summaries.map((s) => [s.category, { ...s, accuracy: s.total ? s.correct / s.total : 0 }])),
        summary: {
          overall: fig(lb.overall),
          non_live_overall: fig(lb.nonLiveOverall),
          non_live_ast: fig(lb.nonLiveAst),
          simple_ast: fig(lb.simpleAst),
          live_overall: fig(lb.liveOverall),
          live_ast: fig(lb.liveAst),
          multi_turn_overall: fig(lb.multiTurnOverall),
          irrelevance_detection: fig(lb.irrelevanceDetection),
          relevance_detection: fig(lb.relevanceDetection),
        },
      }) + '\n',
    );
    return EXIT.ok;
  }
  const bySummary = new Map(summaries.map((s) => [s.category as string, s]));
  const lines: string[] = [`BFCL v3 AST scores (${mode} mode), results from ${dir}`, ''];
  lines.push(`${'category'.padEnd(44)}${'correct'.padStart(9)}${'total'.padStart(8)}${'accuracy'.padStart(10)}  notes`);
  for (const [key, label] of TABLE_ROWS) {
    const s = bySummary.get(key);
    const figure = lb.categories[key];
    const notes = s
      ? [s.missing ? `${s.missing} missing` : '', s.malformed ? `${s.malformed} malformed` : '', s.unknownIds ? `${s.unknownIds} unknown ids` : '']
          .filter(Boolean)
          .join(', ')
      : 'no result file';
    lines.push(
      `${label.padEnd(44)}${(s ? String(s.correct) : '-').padStart(9)}${String(s ? s.total : figure.total).padStart(8)}${displayFigure(figure).padStart(10)}  ${notes}`,
    );
  }
  lines.push('', 'summary (leaderboard formulas; a category not evaluated counts as 0)');
  const rows: [string, Figure][] = [
    ['Overall Acc', lb.overall],
    ['Non-Live Overall', lb.nonLiveOverall],
    ['Non-Live AST', lb.nonLiveAst],
    ['Non-Live simple AST (python, java, js)', lb.simpleAst],
    ['Live Overall (weighted)', lb.liveOverall],
    ['Live AST (weighted)', lb.liveAst],
    ['Multi-turn Overall (not evaluated)', lb.multiTurnOverall],
    ['Irrelevance Detection', lb.irrelevanceDetection],
    ['Relevance Detection', lb.relevanceDetection],
  ];
  for (const [label, fig] of rows) lines.push(`${label.padEnd(44)}${displayFigure(fig).padStart(27)}`);
  const evaluated = summaries.reduce((a, s) => ({ c: a.c + s.correct, t: a.t + s.total }), { c: 0, t: 0 });
  lines.push('', `all evaluated entries: ${evaluated.c}/${evaluated.t} = ${pct(evaluated.c, evaluated.t)}`);
  process.stdout.write(lines.join('\n') + '\n');
  return EXIT.ok;
}

export default defineCommand({
  name: 'eval',
  summary: 'evaluate a model: BFCL v3 verdicts and leaderboard scores (eval bfcl check|score)',
  usage: USAGE,
  async run(argv) {
    const [what, ...rest] = argv;
    const sub = what ? SUBCOMMANDS[what] : undefined;
    if (!sub) {
      const known = Object.entries(SUBCOMMANDS)
        .map(([k, s]) => `${k}: ${s.summary}`)
        .join('; ');
      throw new UsageError(what ? `unknown evaluation "${what}" (${known})` : `which evaluation? (${known})`);
    }
    return sub.run(rest);
  },
});
