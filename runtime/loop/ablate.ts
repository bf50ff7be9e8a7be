import { existsSync, mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { RunConfig } from '../../protocols/config.ts';
import { VARIANTS, type Variant } from '../../protocols/loop/config.ts';
import type { RoundEval } from '../../protocols/loop/records.ts';
import { formatPoints, summarizeAblation, type AblationSummary } from '../../protocols/loop/ablation.ts';
import { runLoop, type LoopResult, type StageEvent } from './driver.ts';
import { accuracySeries, accuracySvg, alignTable, roundEvals, writeReport } from './report.ts';
import type { StageProgress } from './stages/index.ts';
import { SNAPSHOT } from './checkpoint/index.ts';
import { RunStore } from './store.ts';
import { forEachLimit } from '../concurrency.ts';
import { seedColumns, seedTablesText, type SeedColumn } from './seed-tables.ts';
import { isDone, seedsText } from './seed-runs.ts';

/**
 * Several variants of the loop on the same seed data: the first variant seeds, warms up
 * and evaluates round 0; the others reuse its round 0 (`base`), so every variant starts
 * from the same pool, test split and warmed-up policy, and trains with the same budget
 * per round. They also take its round 1, which trains on the shared D_1 with the same
 * settings (StageContext.sharesBaseRound): variants part from round 1's probing on. Each
 * variant is a run directory under `dir`; an interrupted comparison continues where it
 * stopped when run again.
 */
export type CompareOptions = {
  dir: string;
  config: RunConfig;
  variants: Variant[];
  nats?: string;
  signal?: AbortSignal;
  progress?: (variant: Variant) => { onProgress?: (p: StageProgress) => void; onStage?: (e: StageEvent) => void };
};

export type VariantResult = { variant: Variant; result: LoopResult; evals: RoundEval[] };

export async function compareVariants(o: CompareOptions): Promise<VariantResult[]> {
  mkdirSync(o.dir, { recursive: true });
  const out: VariantResult[] = [];
  for (const variant of o.variants) {
    if (o.signal?.aborted) break;
    const r = await runVariant(o, variant);
    out.push(r);
    if (r.result.status !== 'done') break;
  }
  writeComparison(o.dir, out);
  return out;
}

/** One variant of a comparison in `<dir>/<variant>`, on the first variant's round 0 unless it is the first. */
async function runVariant(o: CompareOptions, variant: Variant): Promise<VariantResult> {
  const dir = join(o.dir, variant);
  const first = o.variants[0];
  const config: RunConfig = { ...o.config, loop: { ...o.config.loop, ablations: { ...VARIANTS[variant] } } };
  const result = await runLoop({
    dir,
    config,
    resume: existsSync(join(dir, SNAPSHOT)),
    ...(variant === first ? {} : { base: first }),
    nats: o.nats,
    signal: o.signal,
    ...(o.progress?.(variant) ?? {}),
  });
  return { variant, result, evals: roundEvals(new RunStore(dir)) };
}

/** Each variant's report shows the others beside it; the comparison gets its own chart and table. */
function writeComparison(dir: string, out: VariantResult[]): void {
  for (const v of out)
    if (v.result.status === 'done')
      writeReport(new RunStore(join(dir, v.variant)), v.result.manifest, out.filter((x) => x !== v).map((x) => ({ name: x.variant, evals: x.evals })));
  const store = new RunStore(dir);
  store.writeText('accuracy.svg', accuracySvg(out.map((v) => accuracySeries(v.variant, v.evals))));
  store.writeText('ablation.md', ablationMarkdown(out));
}

/**
 * The ablation over seeds: the comparison above once per seed, each seed in its own
 * folder (`seed-<i>/<variant>`), then every variant's last-round figures summarised as
 * mean ± 95 % interval over seeds, paired with the static baseline seed by seed.
 */
export type SeedsOptions = Omit<CompareOptions, 'progress'> & {
  seeds: string[];
  /** runs (seed, variant pairs) at once, each with its own bus and policy worker, the cores shared out as torch threads (default 1) */
  parallel?: number;
  progress?: (seed: string, variant: Variant) => ReturnType<NonNullable<CompareOptions['progress']>>;
  /** after each (seed, variant) pair: how it ended and how far the whole ablation is */
  onPair?: (e: PairDone) => void;
};

/**
 * One finished (seed, variant) pair of `ablateSeeds`. `ran` is false for a pair a
 * continued ablation found already done; `error` says why a run failed; `total` counts
 * the pairs settled and those still to run (pairsLeft), and `leftSeconds` estimates the
 * latter (remainingSeconds), null until a pair of this invocation has run.
 */
export type PairDone = { seed: string; variant: Variant; status: LoopResult['status']; error: string | null; ran: boolean; seconds: number; done: number; total: number; leftSeconds: number | null };

/**
 * Wall time the pairs still to run will take: each at the mean time of the pairs of its
 * variant that ran (a static run, taking round 1 from its base, is shorter than a full
 * one), else of all that ran, shared out over the lanes. Null before any pair has run.
 */
export function remainingSeconds(ran: readonly { variant: Variant; seconds: number }[], left: readonly Variant[], parallel: number): number | null {
  if (!ran.length) return null;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const all = mean(ran.map((r) => r.seconds));
  const of = (v: Variant) => {
    const mine = ran.filter((r) => r.variant === v).map((r) => r.seconds);
    return mine.length ? mean(mine) : all;
  };
  return left.reduce((sum, v) => sum + of(v), 0) / Math.max(1, parallel);
}

/**
 * The variants of the pairs still to run: not settled, and not of a seed whose base (the
 * first variant) settled unfinished, since such a seed runs none of its others.
 */
export function pairsLeft(jobs: readonly { i: number; variant: Variant }[], settled: ReadonlyMap<string, LoopResult['status']>, variants: readonly Variant[]): Variant[] {
  const baseFailed = (i: number) => {
    const s = settled.get(`${i}/${variants[0]}`);
    return s !== undefined && s !== 'done';
  };
  return jobs.filter((j) => !settled.has(`${j.i}/${j.variant}`) && !baseFailed(j.i)).map((j) => j.variant);
}

/** `work` on the run in `dir`, timed; `ran` is false for a run that had finished before (a continued ablation or replicate set). */
export async function timedRun<T>(dir: string, work: () => Promise<T>): Promise<{ result: T; seconds: number; ran: boolean }> {
  const ran = !isDone(dir);
  const t0 = performance.now();
  const result = await work();
  return { result, seconds: (performance.now() - t0) / 1000, ran };
}

export type SeedsResult = { seeds: { seed: string; rows: VariantResult[] }[]; summary: AblationSummary; complete: boolean };

/** N random seeds derived from a base seed: `<base>-<first>` … `<base>-<first+N-1>`. */
export function runSeeds(base: string, n: number, first = 1): string[] {
  return Array.from({ length: n }, (_, i) => `${base}-${first + i}`);
}

/**
 * Seeds to run at once for the nano policy on the CPU: one per core, at most one per seed.
 * A 4M-parameter policy gains little from a second torch thread, so on 2 cores two seeds
 * on one thread each finish sooner than one seed after another on two: the demo took 8.8
 * minutes against 13.1, with the same figures (BENCHMARKS.md, "ablate"). A large policy,
 * or one on a GPU, wants `parallel: 1`.
 */
export function defaultParallel(seeds: number, cores = availableParallelism()): number {
  return Math.max(1, Math.min(seeds, cores));
}

/**
 * The config each of `parallel` concurrent seeds runs with: the cores shared out as torch
 * threads, unless the config or LOOPTOOL_TORCH_THREADS already says how many.
 */
export function seedConfig(config: RunConfig, seed: string, parallel: number, cores = availableParallelism(), env = process.env): RunConfig {
  const given = config.trainer.threads !== undefined || Number(env.LOOPTOOL_TORCH_THREADS) > 0;
  if (parallel <= 1 || given) return { ...config, seed };
  return { ...config, seed, trainer: { ...config.trainer, threads: Math.max(1, Math.floor(cores / parallel)) } };
}

/**
 * The order in which the (seed, variant) pairs are taken. With several lanes, every seed's
 * first variant (its base) goes ahead of all the others, so a lane rarely waits for a base
 * still running. With one lane nothing can wait, so seeds go one after another: a run
 * stopped part-way (a SmolLM2 seed takes half an hour on 2 cores) then holds whole seeds,
 * where bases first would leave every finished seed without its static baseline.
 */
export function pairJobs(seeds: number, variants: readonly Variant[], parallel: number): { i: number; variant: Variant }[] {
  const [first, ...others] = variants;
  if (!first) return [];
  const all = Array.from({ length: seeds }, (_, i) => i);
  if (parallel <= 1) return all.flatMap((i) => variants.map((variant) => ({ i, variant })));
  return [...all.map((i) => ({ i, variant: first })), ...all.flatMap((i) => others.map((variant) => ({ i, variant })))];
}

/**
 * Runs every (seed, variant) pair, `parallel` at once, in `pairJobs`' order; a seed's other
 * variants start once its base is done.
 * Scheduling pairs rather than whole seeds keeps every lane busy to the end (five seeds on
 * two lanes left one lane idle for a whole seed).
 */
export async function ablateSeeds(o: SeedsOptions): Promise<SeedsResult> {
  mkdirSync(o.dir, { recursive: true });
  const parallel = Math.max(1, Math.min(o.parallel ?? 1, o.seeds.length * o.variants.length));
  const { progress, seeds: _seeds, parallel: _parallel, ...rest } = o;
  const first = o.variants[0];
  const compare = o.seeds.map((seed, i): CompareOptions => ({
    ...rest,
    dir: join(o.dir, `seed-${i + 1}`),
    config: seedConfig(o.config, seed, parallel),
    ...(progress ? { progress: (v: Variant) => progress(seed, v) } : {}),
  }));
  const rows = new Map<string, VariantResult>();
  const bases = new Map<number, Promise<VariantResult>>();
  const jobs = pairJobs(o.seeds.length, o.variants, parallel);
  const ran: { variant: Variant; seconds: number }[] = [];
  const settled = new Map<string, LoopResult['status']>();
  const timed = async (i: number, variant: Variant): Promise<VariantResult> => {
    const t = await timedRun(join(compare[i]!.dir, variant), () => runVariant(compare[i]!, variant));
    if (t.ran) ran.push({ variant, seconds: t.seconds });
    settled.set(`${i}/${variant}`, t.result.result.status);
    const left = pairsLeft(jobs, settled, o.variants);
    o.onPair?.({ seed: o.seeds[i]!, variant, status: t.result.result.status, error: t.result.result.error, ran: t.ran, seconds: t.seconds, done: settled.size, total: settled.size + left.length, leftSeconds: remainingSeconds(ran, left, parallel) });
    return t.result;
  };
  await forEachLimit(
    jobs,
    parallel,
    async ({ i, variant }) => {
      if (variant === first) {
        const run = timed(i, variant);
        bases.set(i, run);
        rows.set(`${i}/${variant}`, await run);
        return;
      }
      const base = await bases.get(i)!;
      if (base.result.status !== 'done' || o.signal?.aborted) return;
      rows.set(`${i}/${variant}`, await timed(i, variant));
    },
    { signal: o.signal },
  );
  const finished = o.seeds.map((seed, i) => ({ seed, rows: o.variants.map((v) => rows.get(`${i}/${v}`)).filter((r): r is VariantResult => r !== undefined) }));
  finished.forEach((f, i) => f.rows.length && writeComparison(compare[i]!.dir, f.rows));
  const done = finished.filter((f) => f.rows.length > 0);
  const runs = new Map<string, Map<string, RoundEval[]>>();
  for (const v of o.variants) runs.set(v, new Map());
  for (const { seed, rows } of done) for (const r of rows) if (r.result.status === 'done') runs.get(r.variant)!.set(seed, r.evals);
  const summary = summarizeAblation(o.seeds, runs);
  const complete = done.length === o.seeds.length && done.every((d) => d.rows.length === o.variants.length && d.rows.every((r) => r.result.status === 'done'));
  const store = new RunStore(o.dir);
  store.writeJson('ablation.json', summary);
  store.writeText('ablation.md', seedsMarkdown(summary, done, seedColumns({ seeds: done }, o.variants)));
  return { seeds: done, summary, complete };
}

/**
 * Why an ablation is incomplete, one line per (seed, variant) that did not finish: a failed
 * run with its error, or a variant never started because its seed's base failed. Without it
 * a researcher sees "incomplete" and reruns into the same failure.
 */
export function unfinishedText(r: Pick<SeedsResult, 'seeds'>, seeds: readonly string[], variants: readonly Variant[]): string[] {
  const lines: string[] = [];
  for (const seed of seeds) {
    const rows = r.seeds.find((x) => x.seed === seed)?.rows ?? [];
    for (const v of variants) {
      const row = rows.find((x) => x.variant === v);
      if (row?.result.status === 'done') continue;
      const missing = v === variants[0] ? 'not started' : `not run (${variants[0]} did not finish on this seed)`;
      lines.push(row ? `${seed} ${v}: ${row.result.status}: ${row.result.error ?? 'no error recorded'} (${row.result.dir})` : `${seed} ${v}: ${missing}`);
    }
  }
  return lines;
}

function seedsMarkdown(s: AblationSummary, done: { seed: string; rows: VariantResult[] }[], columns: SeedColumn[]): string {
  const lines = [
    `# Ablation over ${s.seeds.length} seeds (ToolMatch on the held-out test split, %)`,
    '',
    'Mean ± half-width of the 95 % t-interval over seeds; Δ is the paired difference to the static baseline, seed by seed.',
    '',
    '```',
    seedsText(s),
    '',
    ...seedTablesText(s, columns),
    '```',
    '',
    '## Per seed (last round)',
    '',
    `| seed | ${s.variants.map((v) => v.variant).join(' | ')} | never call |`,
    `|---|${s.variants.map(() => '---').join('|')}|---|`,
    ...s.seeds.map((seed) => {
      const cell = (v: (typeof s.variants)[number]) => {
        const f = v.perSeed.find((p) => p.seed === seed);
        return f ? `${formatPoints(f.accuracy)}${f.se !== null ? ` ± ${formatPoints(f.se)}` : ''}` : '–';
      };
      const floor = s.variants.flatMap((v) => v.perSeed).find((p) => p.seed === seed)?.neverCall;
      return `| ${seed} | ${s.variants.map(cell).join(' | ')} | ${formatPoints(floor)} |`;
    }),
    '',
    '## Per seed: exact calls, from the starting policy to the last round',
    '',
    'Exact-call accuracy % on the call samples of the test split. The start is the policy after the warm-up, before any',
    "GRPO round, shared by every variant of the seed. A seed whose world the starting policy makes no exact call in gives",
    'GRPO nothing to reward there, whatever data a variant picks.',
    '',
    `| seed | start | ${s.variants.map((v) => v.variant).join(' | ')} |`,
    `|---|---|${s.variants.map(() => '---').join('|')}|`,
    ...s.seeds.map((seed) => {
      const figs = s.variants.map((v) => v.perSeed.find((p) => p.seed === seed));
      const start = figs.find((f) => f?.start)?.start;
      return `| ${seed} | ${formatPoints(start?.exactCall)} | ${figs.map((f) => formatPoints(f?.exactCall)).join(' | ')} |`;
    }),
    '',
    `Run folders: ${done.map((d) => `seed-${s.seeds.indexOf(d.seed) + 1} (${d.seed})`).join(', ')}.`,
    '',
  ];
  return lines.join('\n');
}

/** The ablation table: accuracy per round for every variant, and the last round's gap to the first variant. */
export function ablationTable(rows: VariantResult[]): { head: string[]; body: string[][] } {
  const rounds = [...new Set(rows.flatMap((r) => r.evals.map((e) => e.round)))].sort((a, b) => a - b);
  const last = rounds[rounds.length - 1] ?? 0;
  const ref = rows[0]?.evals.find((e) => e.round === last)?.test.accuracy;
  const head = ['variant', ...rounds.map((r) => `r${r}`), 'Δ last vs ' + (rows[0]?.variant ?? '')];
  const body = rows.map((v) => {
    const acc = (r: number) => v.evals.find((e) => e.round === r)?.test.accuracy;
    const l = acc(last);
    const d = formatPoints(l !== undefined && ref !== undefined ? l - ref : null);
    return [v.variant, ...rounds.map((r) => formatPoints(acc(r))), v === rows[0] ? '' : d];
  });
  return { head, body };
}

export function ablationText(rows: VariantResult[]): string {
  const { head, body } = ablationTable(rows);
  return alignTable(head, body);
}

export function ablationMarkdown(rows: VariantResult[]): string {
  const { head, body } = ablationTable(rows);
  return [
    '# Ablation (ToolMatch accuracy on the held-out test split, %)',
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...body.map((b) => `| ${b.join(' | ')} |`),
    '',
    'Every variant starts from the same seed pool, test split and warmed-up policy (round 0 of the first variant) and trains on the same budget per round.',
    '',
    '![accuracy per round](accuracy.svg)',
    '',
  ].join('\n');
}
