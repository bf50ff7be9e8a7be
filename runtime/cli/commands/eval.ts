import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { CATEGORIES, type Category, type CheckMode, normalizeCategory } from '../../../protocols/bfcl/index.ts';
import { bfclDataDir, loadBfclCategory } from '../../bfcl/files.ts';
import { checkFile, findResultFiles, pct, scoreFiles, scoresJson, scoresTable } from '../../bfcl/score.ts';
import { type Answerer, PolicyAnswerer, policyModelSpec } from '../../bfcl/answerers.ts';
import { runBfcl as answerAll } from '../../bfcl/run.ts';
import { resolveEndpoint } from '../../../agents/common/llm/config.ts';
import { runsRoot } from '../../rundir.ts';
import { Progress } from '../../terminal.ts';
import { interruptOnSignals } from '../interrupt.ts';import { EXIT, UsageError, defineCommand } from '../command.ts';

/**
 * `looptool eval <what> ...`: evaluations. The first word picks the evaluation, so later
 * ones (`eval sim`, ...) are one more entry in SUBCOMMANDS.
 */

const USAGE = `eval bfcl run (--endpoint URL --model NAME | --model RUN [--round N] | --model DIR|PRESET) [--mode fc|prompt] [--categories a,b,...] [--limit N]
                      [--out DIR] [--concurrency C] [--api-key-env VAR] [--timeout-ms MS] [--retries N] [--max-tokens N] [--data DIR] [--json]
       looptool eval bfcl check --category C --results FILE [--out FILE] [--data DIR] [--mode prompt|fc] [--json]
       looptool eval bfcl score --results DIR [--data DIR] [--mode prompt|fc] [--json]

run: asks a model every question of the chosen single-turn categories, appends the
answers to BFCL result files in --out (one per category; a second run skips the ids
already answered), then checks and scores them like "score". Default categories: all of
${CATEGORIES.join(', ')}.
Multi-turn categories are out of scope.
--endpoint: any OpenAI-compatible server; the key comes from LOOPTOOL_LLM_API_KEY or the
variable that --api-key-env names. --model without --endpoint: the local policy worker.
--mode fc (default): the functions go as OpenAI tools; prompt: the system prompt asks for
[func(a=1)] text. Exit: 0 done, 1 stopped by an endpoint failure or questions refused
(what was written stays; run again to continue), 2 usage, 130 interrupted. See docs/eval.md.`;

type Sub = { summary: string; run(argv: string[]): Promise<number> };

const SUBCOMMANDS: Record<string, Sub> = {
  bfcl: { summary: 'BFCL v3: answer with a model or endpoint, check and score with the leaderboard verdicts (run, check, score)', run: runBfcl },
};

async function runBfcl(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === 'check') return bfclCheck(rest);
  if (verb === 'score') return bfclScore(rest);
  if (verb === 'run') return bfclRun(rest);
  throw new UsageError(verb ? `unknown "eval bfcl" verb "${verb}" (run, check, score)` : 'eval bfcl needs a verb: run, check or score');
}

/** parseArgs with our rules (no positionals, unknown flags refused) and its errors as usage errors. */
function parseFlags<O extends ParseArgsConfig['options']>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

const flags = (argv: string[]) =>
  parseFlags(argv, {
    data: { type: 'string' },
    category: { type: 'string' },
    results: { type: 'string' },
    out: { type: 'string' },
    mode: { type: 'string', default: 'prompt' },
    json: { type: 'boolean', default: false },
  });

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
  if (statSync(resultsPath).isDirectory()) throw new UsageError(`--results ${f.results} is a directory: check takes one result file (score takes a directory of them)`);
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

const runFlags = (argv: string[]) =>
  parseFlags(argv, {
    endpoint: { type: 'string' },
    model: { type: 'string' },
    mode: { type: 'string', default: 'fc' },
    categories: { type: 'string' },
    limit: { type: 'string' },
    out: { type: 'string' },
    concurrency: { type: 'string', default: '16' },
    'api-key-env': { type: 'string' },
    'timeout-ms': { type: 'string' },
    retries: { type: 'string' },
    'max-tokens': { type: 'string' },
    round: { type: 'string' },
    data: { type: 'string' },
    json: { type: 'boolean', default: false },
  });

function intFlag(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} expects an integer ${min}..${max}, got "${v}"`);
  return n;
}

function categoriesFlag(v: string | undefined): Category[] {
  if (v === undefined) return [...CATEGORIES];
  const out: Category[] = [];
  for (const raw of v.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (raw.startsWith('multi_turn') || raw.startsWith('BFCL_v3_multi_turn'))
      throw new UsageError(`${raw}: multi-turn categories are out of scope for "eval bfcl run" (single-turn only)`);
    const c = normalizeCategory(raw);
    if (!c) throw new UsageError(`unknown category "${raw}" (one of: ${CATEGORIES.join(', ')})`);
    if (!out.includes(c)) out.push(c);
  }
  if (!out.length) throw new UsageError('--categories is empty');
  return out;
}

const slug = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 80) || 'model';

async function bfclRun(argv: string[]): Promise<number> {
  const f = runFlags(argv);
  const mode = modeFlag(f.mode);
  if (!f.model) throw new UsageError('--model is required: a model name with --endpoint URL, or a checkpoint directory / preset for the local policy');
  const categories = categoriesFlag(f.categories);
  const limit = intFlag('limit', f.limit, 1, 1_000_000);
  const concurrency = intFlag('concurrency', f.concurrency, 1, 4096)!;
  const dataDir = bfclDataDir(f.data);
  const round = intFlag('round', f.round, 0, 1_000_000);
  if (round !== undefined && f.endpoint) throw new UsageError('--round picks a round of a loop run given as --model, without --endpoint');
  // a run's policy by round: answers of another round must not be taken for this one's
  let named = slug(f.model);

  let answerer: Answerer;
  if (f.endpoint) {
    let apiKey: string | undefined;
    if (f['api-key-env']) {
      apiKey = process.env[f['api-key-env']];
      if (!apiKey) throw new UsageError(`--api-key-env ${f['api-key-env']}: that environment variable is not set`);
    }
    // Flags are the most specific layer; LOOPTOOL_LLM_* (key, timeouts, retries) fill the rest.
    const flagged = {
      baseURL: f.endpoint,
      model: f.model,
      concurrency,
      ...(apiKey === undefined ? {} : { apiKey }),
      ...(f['timeout-ms'] === undefined ? {} : { timeoutMs: intFlag('timeout-ms', f['timeout-ms'], 1, 86_400_000) }),
      ...(f.retries === undefined ? {} : { maxRetries: intFlag('retries', f.retries, 0, 20) }),
      ...(f['max-tokens'] === undefined ? {} : { maxTokens: intFlag('max-tokens', f['max-tokens'], 1, 1_000_000) }),
    };
    let endpoint;
    try {
      endpoint = resolveEndpoint('bfcl', { roles: { bfcl: flagged } });
    } catch (err) {
      // A bad --endpoint (or a bad LOOPTOOL_LLM_* value) is a usage error; the issues name it.
      throw new UsageError((err as Error).message.replace('llm.roles.bfcl.baseURL', '--endpoint'));
    }
    // OpenAI's SDK, loaded only for an endpoint: a local policy's evaluation never needs it
    const { EndpointAnswerer } = await import('../../bfcl/endpoint-answerer.ts');
    answerer = new EndpointAnswerer(endpoint);
  } else {
    if (f['api-key-env']) throw new UsageError('--api-key-env needs --endpoint');
    let policy;
    try {
      policy = policyModelSpec(f.model, round);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (policy.from) process.stderr.write(`${policy.from}\n`);
    if (policy.round !== undefined) named = `${slug(f.model).slice(0, 72)}-r${policy.round}`;
    answerer = await PolicyAnswerer.start(policy.spec, {
      maxBatch: concurrency,
      maxNewTokens: intFlag('max-tokens', f['max-tokens'], 1, 1_000_000),
    });
  }

  const outDir = resolve(f.out ?? join(runsRoot(), 'bfcl', `${named}-${mode}`));
  const label = `bfcl ${mode}`;
  let bar: Progress | undefined;
  let t0 = 0;
  const interrupt = interruptOnSignals();
  let outcome;
  try {
    outcome = await answerAll({
      answerer,
      modelLabel: f.endpoint ? f.model : JSON.stringify(answerer.describe.model),
      mode,
      categories,
      limit,
      outDir,
      dataDir,
      concurrency,
      signal: interrupt.signal,
      onStart(toAsk) {
        if (toAsk > 0) bar = new Progress(label, toAsk);
        t0 = performance.now();
      },
      onAnswer(done) {
        const secs = (performance.now() - t0) / 1000;
        bar?.set(done, secs > 0 ? `${(done / secs).toFixed(1)} answers/s` : '');
      },
    });
  } finally {
    interrupt.dispose();
    await answerer.close();
  }
  bar?.end();
  for (const p of outcome.problems) process.stderr.write(`data: ${p}\n`);
  const rate = outcome.seconds > 0 ? outcome.answered / outcome.seconds : 0;
  process.stderr.write(
    `${label}: ${outcome.answered} answered in ${outcome.seconds.toFixed(1)} s (${rate.toFixed(1)} answers/s), ${outcome.skipped} already in ${outDir}` +
      `${outcome.rejected.length ? `, ${outcome.rejected.length} refused by the endpoint (counted wrong; a rerun asks them again)` : ''}\n`,
  );
  for (const r of outcome.rejected.slice(0, 5)) process.stderr.write(`  refused ${r.id}: ${r.reason}\n`);
  if (outcome.stopped !== undefined) {
    const why = outcome.stopped instanceof Error ? outcome.stopped.message : String(outcome.stopped);
    const written = outcome.skipped + outcome.answered;
    process.stderr.write(
      `${outcome.interrupted ? 'interrupted' : 'stopped'}: ${why}\n${written}/${outcome.questions} answers are in ${outDir}; run the same command again to continue.\n`,
    );
    return outcome.interrupted ? EXIT.interrupted : EXIT.failed;
  }
  const scores = scoreFiles(outcome.files, dataDir, mode, outcome.subset);
  const scope = limit === undefined ? 'all questions' : `the first ${limit} questions per category`;
  if (f.json) {
    process.stdout.write(
      JSON.stringify({
        ...scoresJson(scores),
        run: {
          answerer: answerer.describe,
          out: outDir,
          limit: limit ?? null,
          questions: outcome.questions,
          answered: outcome.answered,
          skipped: outcome.skipped,
          rejected: outcome.rejected,
          seconds: outcome.seconds,
          answers_per_s: rate,
        },
      }) + '\n',
    );
  } else {
    process.stdout.write(scoresTable(scores, `BFCL v3 AST scores (${mode} mode) of ${f.model}, ${scope}; results in ${outDir}`) + '\n');
  }
  return outcome.rejected.length ? EXIT.failed : EXIT.ok;
}

export default defineCommand({
  name: 'eval',
  summary: 'evaluate a model: BFCL v3 answers, verdicts and leaderboard scores (eval bfcl run|check|score)',
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
