import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { withTodaysDefaults } from '../../protocols/config.ts';
import { VARIANTS, type Variant } from '../../protocols/loop/config.ts';
import { Manifest, type RoundEval } from '../../protocols/loop/records.ts';
import { SeedPack } from '../../protocols/loop/seed-pack.ts';
import type { Estimate, MeanCi } from '../../protocols/loop/stats.ts';
import { formatBounds, formatCi, formatPoints, summarizeAblation, type AblationSummary, type VariantSummary } from '../../protocols/loop/ablation.ts';
import { JsonObject, leafDifferences, type LeafDifference } from '../../protocols/json.ts';
import { LooptoolError } from '../../protocols/errors.ts';
import { alignTable, pm, roundEvals } from './report.ts';
import { RunStore } from './store.ts';
import { seedTablesText, type SeedColumn } from './seed-tables.ts';

/*
 * Finished `ablate --seeds` runs and `looptool replicate` sets read back (their folders or a
 * seed pack), pooled, and put as text. Nothing here runs a loop: `ablate --pool`, `--compare`
 * and `--pack` load this without the loop's runner (runtime/loop/ablate.ts runs them).
 */

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
  const onBfcl = s.variants.filter((v) => v.bfcl && v.bfcl.n > 0);
  const bfclFloor = s.variants.flatMap((v) => v.perSeed).find((f) => f.bfclNeverCall !== null)?.bfclNeverCall;
  const bfcl = onBfcl.length
    ? [
        `BFCL v3 overall at the last round, % (loop.eval.bfcl${bfclFloor != null ? `; never calling scores ${formatPoints(bfclFloor)}` : ''}): ${onBfcl.map((v) => `${v.variant} ${formatCi(v.bfcl)}`).join(', ')}`,
        pairedLine(`BFCL Δ vs ${s.reference}, points`, (v) => v.bfclVsReference),
      ]
        .filter(Boolean)
        .join('\n')
    : '';
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
  return [alignTable(head, body), floor, overFloor, exactVs, byPart, bfcl, loops, detectable, detection, selectedText(s, unit)].filter(Boolean).join('\n');
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
