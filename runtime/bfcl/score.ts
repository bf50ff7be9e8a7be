import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  type BfclDataset,
  type Category,
  type CategoryCount,
  type CheckMode,
  type Figure,
  type Leaderboard,
  type ResultLineVerdict,
  checkResultLine,
  displayFigure,
  jsonLines,
  leaderboard,
  normalizeCategory,
} from '../../protocols/bfcl/index.ts';
import { loadBfclCategory } from './files.ts';

/**
 * Checking and scoring BFCL result files, shared by `eval bfcl check`, `score` and `run`:
 * per-file summaries, the leaderboard aggregation, and the table / JSON the CLI prints.
 */

export type FileSummary = {
  category: Category;
  lines: number;
  valid: number;
  malformed: number;
  unknownIds: number;
  /** evaluated ids with no result line */
  missing: number;
  duplicates: number;
  /** correct / total over the evaluated ids, the leaderboard's accuracy (missing ids count as wrong) */
  correct: number;
  total: number;
  errorTypes: Record<string, number>;
};

/**
 * Checks every line of a result file; verdicts come back in input order. `only` narrows
 * the evaluated ids (a `run --limit N` evaluates the first N): total and missing count
 * those, so a partial run is scored over what it was asked, not over the whole file.
 */
export function checkFile(ds: BfclDataset, text: string, mode: CheckMode, only?: ReadonlySet<string>): { verdicts: ResultLineVerdict[]; summary: FileSummary } {
  const verdicts: ResultLineVerdict[] = [];
  const seen = new Set<string>();
  let correct = 0;
  let duplicates = 0;
  const errorTypes: Record<string, number> = {};
  const counted = (id: string) => ds.entries.has(id) && (!only || only.has(id));
  for (const { text: line } of jsonLines(text)) {
    const v = checkResultLine(ds, line, mode);
    verdicts.push(v);
    if (!v.valid && v.error_type) errorTypes[v.error_type] = (errorTypes[v.error_type] ?? 0) + 1;
    if (v.id !== null && counted(v.id)) {
      if (seen.has(v.id)) duplicates++;
      else {
        seen.add(v.id);
        if (v.valid) correct++;
      }
    }
  }
  const total = only ? [...only].filter((id) => ds.entries.has(id)).length : ds.order.length;
  const summary: FileSummary = {
    category: ds.category,
    lines: verdicts.length,
    valid: verdicts.filter((v) => v.valid).length,
    malformed: verdicts.filter((v) => v.error_type === 'looptool:malformed_line').length,
    unknownIds: verdicts.filter((v) => v.error_type === 'looptool:unknown_id').length,
    missing: total - seen.size,
    duplicates,
    correct,
    total,
    errorTypes,
  };
  return { verdicts, summary };
}

/** Result files BFCL writes (`BFCL_v3_simple_result.json`) or plain `<category>.jsonl`. */
export function findResultFiles(dir: string): Map<Category, string> {
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

export type Scores = { mode: CheckMode; summaries: FileSummary[]; leaderboard: Leaderboard };

/** Checks each result file against its category and aggregates as the leaderboard does. */
export function scoreFiles(files: Map<Category, string>, dataDir: string, mode: CheckMode, only?: Map<Category, ReadonlySet<string>>): Scores {
  const counts: Partial<Record<string, CategoryCount>> = {};
  const summaries: FileSummary[] = [];
  for (const [cat, path] of files) {
    const ds = loadBfclCategory(dataDir, cat);
    const { summary } = checkFile(ds, readFileSync(path, 'utf8'), mode, only?.get(cat));
    summaries.push(summary);
    counts[cat] = { correct: summary.correct, total: summary.total };
  }
  return { mode, summaries, leaderboard: leaderboard(counts) };
}

/** The `--json` form of the scores. */
export function scoresJson(s: Scores): Record<string, unknown> {
  const lb = s.leaderboard;
  const fig = (x: Figure) => ({ accuracy: x.accuracy, display: displayFigure(x), total: x.total });
  return {
    mode: s.mode,
    categories: Object.fromEntries(s.summaries.map((x) => [x.category, { ...x, accuracy: x.total ? x.correct / x.total : 0 }])),
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
  };
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

export function pct(n: number, d: number): string {
  return d > 0 ? `${((100 * n) / d).toFixed(2)}%` : 'n/a';
}

/** The leaderboard table: a row per category, then the summary figures. */
export function scoresTable(s: Scores, title: string): string {
  const lb = s.leaderboard;
  const bySummary = new Map(s.summaries.map((x) => [x.category as string, x]));
  const lines: string[] = [title, ''];
  lines.push(`${'category'.padEnd(44)}${'correct'.padStart(9)}${'total'.padStart(8)}${'accuracy'.padStart(10)}  notes`);
  for (const [key, label] of TABLE_ROWS) {
    const x = bySummary.get(key);
    const figure = lb.categories[key];
    const notes = x
      ? [x.missing ? `${x.missing} missing` : '', x.malformed ? `${x.malformed} malformed` : '', x.unknownIds ? `${x.unknownIds} unknown ids` : '']
          .filter(Boolean)
          .join(', ')
      : 'no result file';
    lines.push(
      `${label.padEnd(44)}${(x ? String(x.correct) : '-').padStart(9)}${String(x ? x.total : figure.total).padStart(8)}${displayFigure(figure).padStart(10)}  ${notes}`,
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
  const evaluated = s.summaries.reduce((a, x) => ({ c: a.c + x.correct, t: a.t + x.total }), { c: 0, t: 0 });
  lines.push('', `all evaluated entries: ${evaluated.c}/${evaluated.t} = ${pct(evaluated.c, evaluated.t)}`);
  return lines.join('\n');
}
