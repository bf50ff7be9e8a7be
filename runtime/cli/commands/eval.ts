import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CATEGORIES, type CheckMode, normalizeCategory } from '../../../protocols/bfcl/index.ts';
import { bfclDataDir, loadBfclCategory } from '../../bfcl/files.ts';
import { checkFile, findResultFiles, pct, scoreFiles, scoresJson, scoresTable } from '../../bfcl/score.ts';
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

function writeAtomic(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, path);
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

async function bfclScore(argv: string[]): Promise<number> {
  const f = flags(argv);
  const mode = modeFlag(f.mode);
  if (!f.results) throw new UsageError('--results DIR is required');
  const dir = resolve(f.results);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`results directory not found: ${dir}`);
  const files = findResultFiles(dir);
  if (files.size === 0) throw new Error(`no BFCL result files in ${dir} (expected e.g. BFCL_v3_simple_result.json)`);
  const scores = scoreFiles(files, bfclDataDir(f.data), mode);
  if (f.json) process.stdout.write(JSON.stringify(scoresJson(scores)) + '\n');
  else process.stdout.write(scoresTable(scores, `BFCL v3 AST scores (${mode} mode), results from ${dir}`) + '\n');
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
