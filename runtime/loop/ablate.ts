import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { withTodaysDefaults, type RunConfig } from '../../protocols/config.ts';
import { VARIANTS, type Variant } from '../../protocols/loop/config.ts';
import { Manifest, type RoundEval } from '../../protocols/loop/records.ts';
import { SeedPack } from '../../protocols/loop/seed-pack.ts';
import type { Estimate, MeanCi } from '../../protocols/loop/stats.ts';
import { formatBounds, formatCi, formatPoints, summarizeAblation, type AblationSummary, type VariantSummary } from '../../protocols/loop/ablation.ts';
import { JsonObject, leafDifferences, type LeafDifference } from '../../protocols/json.ts';
import { LooptoolError } from '../../protocols/errors.ts';
import { runLoop, type LoopResult, type StageEvent } from './driver.ts';
import { accuracySeries, accuracySvg, alignTable, pm, roundEvals, writeReport } from './report.ts';
import type { StageProgress } from './stages/index.ts';
import { SNAPSHOT } from './checkpoint/index.ts';
import { RunStore } from './store.ts';
import { forEachLimit } from '../concurrency.ts';
import { seedColumns, seedTablesText, type SeedColumn } from './seed-tables.ts';

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
 * `configDifferences` compares every pooled seed's configuration: their `values` follow
 * `configSources`, the seed folders in pooling order (a seed that differs from the rest of
 * its own run shows as well as runs that differ). `columns` are every variant's evaluations
 * by seed, for the tables beside the summary.
 */
export type PooledAblation = {
  runs: { dir: string; seeds: string[] }[];
  summary: AblationSummary;
  configSources: { dir: string; seedDir: string }[];
  configDifferences: LeafDifference[];
  columns: SeedColumn[];
};

/**
 * Finished `ablate --seeds` runs read back from their folders (`seed-<i>/<variant>`) and
 * summarised as if one run had had all their seeds: replications on new seeds are how an
 * interval narrows. Figures are recomputed from each round's eval.json, so runs written
 * before a figure existed pool too. Only variants that finished count, as in ablateSeeds.
 * A seed in two runs would count twice, so that is an error. Runs of different settings
 * may be pooled, but the settings they differ in are returned, compared over every seed's
 * configuration (its first variant's, less the seed and the variant's own ablations).
 */
export function poolAblationDirs(dirs: readonly string[]): PooledAblation {
  const runs = new Map<string, Map<string, RoundEval[]>>(Object.keys(VARIANTS).map((v) => [v, new Map()]));
  const perRun: { dir: string; seeds: string[] }[] = [];
  const configs: JsonObject[] = [];
  const configSources: { dir: string; seedDir: string }[] = [];
  const owner = new Map<string, string>();
  for (const dir of dirs) {
    const seeds: string[] = [];
    for (const folder of readSeedsRun(dir)) {
      configs.push(folder.config);
      configSources.push({ dir, seedDir: folder.seedDir });
      const other = owner.get(folder.seed);
      if (other !== undefined) throw new LooptoolError({ code: 'invalid_input', message: `seed ${folder.seed} is in both ${other} and ${dir}: each seed may count once` });
      owner.set(folder.seed, dir);
      seeds.push(folder.seed);
      for (const [variant, evals] of folder.finished) runs.get(variant)!.set(folder.seed, evals);
    }
    perRun.push({ dir, seeds });
  }
  for (const [v, bySeed] of runs) if (!bySeed.size) runs.delete(v);
  return {
    runs: perRun,
    summary: summarizeAblation(perRun.flatMap((r) => r.seeds), runs),
    configSources,
    // replicates differ in training's seed by design, as seeds do in the seed
    configDifferences: leafDifferences(configs, ['seed', 'loop.trainSeed', 'loop.ablations']),
    columns: [...runs].map(([name, bySeed]) => ({ name, bySeed })),
  };
}

/**
 * One seed folder of an `ablate --seeds` run (`seed-<i>`), or one replicate of a
 * `looptool replicate` set (`replicate-<k>`), as read back: the key runs are paired and
 * pooled by (`seed`: the seed every variant in it runs on, its first variant's; for a
 * replicate, `<seed>/<trainSeed>`, since replicates share their world and differ in
 * training's own seed), that variant's configuration (settings added since it ran at their
 * defaults: withTodaysDefaults), the variants present and the evaluations of those that
 * finished (an unfinished run does not count).
 */
export type SeedFolder = {
  seedDir: string;
  seed: string;
  config: JsonObject;
  present: Variant[];
  finished: Map<Variant, RoundEval[]>;
  /** each finished variant's test split (round-0/test.jsonl) as a checksum: `missing:<path>` where there is none */
  testHash: Map<Variant, string>;
};

/** Whether the run in `dir` finished (its manifest says done). */
export function isDone(dir: string): boolean {
  const store = new RunStore(dir);
  return store.exists('manifest.json') && store.readJson('manifest.json', Manifest).status === 'done';
}

/** Folders of an `ablate --seeds` run (`seed-<i>`) or of a `looptool replicate` set (`replicate-<k>`). */
const SEED_DIR = /^(seed|replicate)-(\d+)$/;

/**
 * The seed-<i> (or replicate-<k>) folders of a run, in order; a folder that holds none is an
 * error. `dir` may also be a seed pack (`ablate --pack`), read as the folder it was packed from.
 */
export function readSeedsRun(dir: string): SeedFolder[] {
  if (existsSync(dir) && statSync(dir).isFile()) return readSeedPack(dir);
  const order = (d: string) => SEED_DIR.exec(d)!;
  const seedDirs = existsSync(dir)
    ? readdirSync(dir)
        .filter((d) => SEED_DIR.test(d))
        .sort((a, b) => order(a)[1]!.localeCompare(order(b)[1]!) || Number(order(a)[2]) - Number(order(b)[2]))
    : [];
  if (!seedDirs.length)
    throw new LooptoolError({ code: 'invalid_input', message: `${dir} holds no seed-<i> or replicate-<k> folders: it is not a \`looptool ablate --seeds N\` run or a \`looptool replicate\` set` });
  const out: SeedFolder[] = [];
  for (const seedDir of seedDirs) {
    const present = (Object.keys(VARIANTS) as Variant[]).filter((v) => existsSync(join(dir, seedDir, v, 'config.json')));
    if (!present.length) continue;
    const first = new RunStore(join(dir, seedDir, present[0]!));
    const config = withTodaysDefaults(first.readJson('config.json', JsonObject));
    if (typeof config.seed !== 'string') throw new LooptoolError({ code: 'invalid_input', message: `${first.path('config.json')}: seed: expected a string` });
    const finished = new Map<Variant, RoundEval[]>();
    const testHash = new Map<Variant, string>();
    for (const variant of present) {
      const store = new RunStore(join(dir, seedDir, variant));
      if (!isDone(store.dir)) continue;
      finished.set(variant, roundEvals(store));
      testHash.set(variant, store.fileInfo('round-0/test.jsonl')?.checksum ?? `missing:${store.path('round-0/test.jsonl')}`);
    }
    const trainSeed = (config.loop as { trainSeed?: unknown } | undefined)?.trainSeed;
    const key = order(seedDir)[1] === 'replicate' && typeof trainSeed === 'string' ? `${config.seed}/${trainSeed}` : config.seed;
    out.push({ seedDir, seed: key, config, present, finished, testHash });
  }
  return out;
}

/** A run folder's seeds as a seed pack (SeedPack): what --pool and --compare read, without the run's gigabytes. */
export function packSeedsRun(dir: string): SeedPack {
  if (existsSync(dir) && statSync(dir).isFile()) throw new LooptoolError({ code: 'invalid_input', message: `${dir} is a file: pack a run folder` });
  const seeds = readSeedsRun(dir).map((f) => ({
    seedDir: f.seedDir,
    seed: f.seed,
    config: f.config,
    present: f.present,
    finished: Object.fromEntries([...f.finished].map(([v, evals]) => [v, { evals, testHash: f.testHash.get(v)! }])),
  }));
  if (!seeds.length) throw new LooptoolError({ code: 'invalid_input', message: `${dir}: no seed folder holds a variant to pack` });
  return { format: 'looptool-seed-pack', version: 1, from: dir, seeds };
}

/** A seed pack read back as the folders it came from; configurations get today's defaults, as readSeedsRun gives them. */
function readSeedPack(file: string): SeedFolder[] {
  const pack = new RunStore(dirname(file)).readJson(basename(file), SeedPack);
  return pack.seeds.map((s) => {
    const finished = Object.entries(s.finished) as [Variant, { evals: RoundEval[]; testHash: string }][];
    return {
      seedDir: s.seedDir,
      seed: s.seed,
      config: withTodaysDefaults(s.config),
      present: s.present,
      finished: new Map(finished.map(([v, f]) => [v, f.evals])),
      testHash: new Map(finished.map(([v, f]) => [v, f.testHash])),
    };
  });
}

/** A pooled ablation as text: where its seeds came from, what the runs' settings differ in, then the summary. */
export function pooledText(p: PooledAblation): string {
  const head = `Pooled ${p.summary.seeds.length} seeds from ${p.runs.length} ablations: ${p.runs.map((r) => `${r.dir} (${r.seeds.length})`).join(', ')}`;
  const diffs = p.configDifferences.length
    ? ["The runs' settings differ (besides the seed and the training seed):", ...p.configDifferences.map((d) => `  ${d.path}: ${differenceText(d, p.configSources)}`)].join('\n')
    : "The runs' settings are the same but for the seed.";
  return [head, diffs, seedsText(p.summary), '', ...seedTablesText(p.summary, p.columns)].join('\n');
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

/** One differing setting's values, each with the runs that hold it, or the seed folders where a run is split. */
function differenceText(d: LeafDifference, sources: PooledAblation['configSources']): string {
  const byValue = new Map<string, number[]>();
  d.values.forEach((v = '(unset)', i) => byValue.set(v, [...(byValue.get(v) ?? []), i]));
  const holders = (indices: number[]) =>
    [...new Set(indices.map((i) => sources[i]!.dir))].flatMap((dir) => {
      const mine = indices.filter((i) => sources[i]!.dir === dir);
      const all = sources.filter((s) => s.dir === dir).length;
      return mine.length === all ? [dir] : mine.map((i) => `${dir}/${sources[i]!.seedDir}`);
    });
  return [...byValue].map(([v, indices]) => `${v} (${holders(indices).join(', ')})`).join('; ');
}

/** Final accuracy per variant over seeds (or replicates), its paired difference to static, exact-call accuracy and JGLV detection. */
export function seedsText(s: AblationSummary, unit: 'seeds' | 'replicates' = 'seeds'): string {
  const head = ['variant', unit, 'final % (95% CI)', `Δ vs ${s.reference ?? '–'}`, 'Δ CI', 'exact call %', 'call decision %', 'cut off %', 'JGLV det. recall', 'det. precision'];
  const body = s.variants.map((v) => [
    v.variant,
    String(v.seeds),
    formatCi(v.accuracy),
    v.vsReference ? formatCi(v.vsReference, true) : '',
    formatBounds(v.vsReference),
    formatCi(v.exactCall),
    formatCi(v.callDecision),
    formatCi(v.cutOff),
    formatCi(v.detectionRecall),
    formatCi(v.detectionPrecision),
  ]);
  const floor = s.neverCall ? `never-call policy on the same test splits: ${formatCi(s.neverCall)} %` : '';
  const ci = (c: MeanCi) => `${formatCi(c, true)} ${formatBounds(c)}`.trimEnd();
  const pairedLine = (label: string, pick: (v: VariantSummary) => MeanCi | null) => {
    const has = s.variants.filter((v) => pick(v));
    return has.length ? `${label}, paired over ${unit}: ${has.map((v) => `${v.variant} ${ci(pick(v)!)}`).join(', ')}` : '';
  };
  const exactVs = pairedLine(`exact calls Δ vs ${s.reference}, points`, (v) => v.exactCallVsReference);
  const overFloor = pairedLine('final − never-call, points', (v) => v.vsNeverCall);
  const parted = s.variants.filter((v) => v.vsReferenceByPart);
  const byPart = parted.length
    ? `Δ vs ${s.reference} split by label (points of the whole split, paired over ${unit}): ${parted.map((v) => `${v.variant} on calls ${ci(v.vsReferenceByPart!.calls)}, on text ${ci(v.vsReferenceByPart!.noCalls)}`).join('; ')}`
    : '';
  const looped = s.variants.filter((v) => v.cutOffLooping);
  // runs evaluated before loops were counted have no figure: say over how many the mean is
  const over = (v: (typeof looped)[number]) => (v.cutOffLooping!.n < v.seeds ? ` (${v.cutOffLooping!.n} of ${v.seeds} ${unit})` : '');
  const loops = looped.length ? `cut off in a repetition loop (wrong at any length; counted in "cut off %"), %: ${looped.map((v) => `${v.variant} ${formatCi(v.cutOffLooping)}${over(v)}`).join(', ')}` : '';
  const sized = s.variants.filter((v) => v.detectable !== null);
  const detectable = sized.length
    ? `smallest Δ vs ${s.reference} these ${unit} would show above zero 4 times in 5 (power 0.8): ${sized.map((v) => `${v.variant} ${formatPoints(v.detectable)}`).join(', ')} points`
    : '';
  const counted = (e: Estimate) => `${pm(e)} % (${e.k}/${e.n})`;
  const pooled = s.variants.filter((v) => v.pooledDetection && v.pooledDetection.precision.n + v.pooledDetection.recall.n > 0);
  const detection = pooled.length
    ? [`JGLV detection pooled over ${unit} and rounds (± binomial standard error):`, ...pooled.map((v) => `  ${v.variant}: precision ${counted(v.pooledDetection!.precision)}, recall ${counted(v.pooledDetection!.recall)}`)].join('\n')
    : '';
  return [alignTable(head, body), floor, overFloor, exactVs, byPart, loops, detectable, detection, selectedText(s, unit)].filter(Boolean).join('\n');
}

/** Each variant's test accuracy at the round its validation split chose, when the runs drew one. */
function selectedText(s: AblationSummary, unit: 'seeds' | 'replicates'): string {
  const chosen = s.variants.filter((v) => v.selected && v.selected.n > 0);
  if (!chosen.length) return '';
  return [
    `ToolMatch % on the test split at the round each run's validation split chose (the highest validation figure, the earliest on a tie; the test split took no part in the choice), over ${unit}:`,
    ...chosen.map((v) => {
      const rounds = v.perSeed.map((f) => f.selected?.round ?? '–').join(', ');
      const vs = v.selectedVsReference ? `; Δ vs ${s.reference} ${formatCi(v.selectedVsReference, true)} ${formatBounds(v.selectedVsReference)}` : '';
      return `  ${v.variant}: ${formatCi(v.selected)} (rounds chosen: ${rounds})${vs}`;
    }),
  ].join('\n');
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
