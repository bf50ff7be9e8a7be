import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { withTodaysDefaults, worldDifference, type RunConfig } from '../../protocols/config.ts';
import { storedRunConfig } from '../run-config.ts';
import { VARIANTS, variantOf, type Variant } from '../../protocols/loop/config.ts';
import { formatBounds, formatCi, formatPoints, summarizeAblation, type VariantSummary } from '../../protocols/loop/ablation.ts';
import { sdInterval } from '../../protocols/loop/stats.ts';
import { JsonObject, leafDifferences, type LeafDifference } from '../../protocols/json.ts';
import { LooptoolError } from '../../protocols/errors.ts';
import { baseRef, runLoop } from './driver.ts';
import { remainingSeconds, seedConfig, timedRun, type PairDone } from './ablate.ts';
import { isDone, readSeedsRun, type SeedFolder } from './seed-runs.ts';
import { forEachLimit } from '../concurrency.ts';
import { alignTable, roundEvals } from './report.ts';
import { SNAPSHOT } from './checkpoint/index.ts';
import { RunStore } from './store.ts';
import { settleRunConfig } from '../seed.ts';
import type { StageProgress } from './stages/index.ts';
import type { StageEvent } from './driver.ts';

/**
 * Replicates of training (docs/loop.md, "Replicates of training"): a finished run's round 0
 * (world, seed pool, test split, warm-up) trained again N times, each with its own
 * `loop.trainSeed` (`replicate-<k>`). Their spread is training's own noise on one world,
 * which a seed's gap in an ablation carries too. Replicates of two settings with the same
 * names share their batch order and rollout seeds, so `ablate --compare` pairs them by name
 * (a replicate's key is `<seed>/<trainSeed>`: readSeedsRun); `ablate --pool` reads them too.
 * Each replicate is a run folder, `<dir>/replicate-<k>/<variant>`, continued where it
 * stopped by the same command.
 */

export type ReplicateOptions = {
  /** the finished run whose round 0 every replicate takes (an absolute path) */
  base: string;
  dir: string;
  /** the setting to train: the base's own configuration, or another on the same world */
  config: RunConfig;
  names: string[];
  nats?: string;
  signal?: AbortSignal;
  progress?: (name: string) => { onProgress?: (p: StageProgress) => void; onStage?: (e: StageEvent) => void };
  onRun?: (e: PairDone) => void;
  /** replicates at once (default 1): ablate's --parallel, for a small policy on several cores or a GPU with room for two */
  parallel?: number;
};

export type ReplicateSummary = {
  base: string;
  /** the setting's variant (full, static, …): one per set */
  variant: string;
  /** settings in which the replicates differ from the base run (besides the training seed) */
  settings: LeafDifference[];
  summary: VariantSummary;
  /** the 95 % interval of the replicates' standard deviation (sdInterval) */
  sdInterval: { lo: number; hi: number } | null;
  /** the base run's own last round, trained once with its own training seed */
  baseFigures: { round: number; accuracy: number } | null;
  complete: boolean;
};

/** `replicate-<first>` … `replicate-<first+n-1>`: the training seeds of a set. */
export function replicateNames(n: number, first = 1): string[] {
  return Array.from({ length: n }, (_, i) => `replicate-${first + i}`);
}

/** The configuration a finished run stored (checked, defaults filled): a replicate's default setting. */
export function storedConfig(run: string): RunConfig {
  const store = new RunStore(run);
  if (!store.exists('manifest.json')) throw new LooptoolError({ code: 'invalid_input', message: `${run}: not a run folder (no manifest.json)` });
  if (!isDone(run)) throw new LooptoolError({ code: 'invalid_input', message: `${run}: the run has not finished; replicate a finished run` });
  return settleRunConfig(run, undefined);
}

/** A replicate trains on its base's world: the settings that make the world must be the base's. */
function checkSameWorld(config: RunConfig, base: RunConfig, baseDir: string): void {
  const key = worldDifference(base, config);
  if (key)
    throw new LooptoolError({
      code: 'invalid_input',
      message: `config.${key} differs from the base run's (${relative(process.cwd(), baseDir) || '.'}): a replicate trains on its base's world, so only training and loop settings may change`,
      issues: [{ path: `config.${key}`, message: "differs from the base run's" }],
    });
}

/** Replicates already in the set's folder were trained under one setting: a call with another would mix two in one spread. */
function checkSameSetting(dir: string, config: RunConfig): void {
  const given = JSON.parse(JSON.stringify(storedRunConfig(config))) as JsonObject;
  for (const f of replicateFolders(dir)) {
    // torch threads follow --parallel and the machine's cores: how a replicate ran, not what it trained
    const d = leafDifferences([f.config, given], ['loop.trainSeed', 'trainer.threads']);
    if (d.length)
      throw new LooptoolError({
        code: 'invalid_input',
        message: `${relative(process.cwd(), join(dir, f.seedDir)) || '.'} was trained under another setting (${d.map((x) => `${x.path}: ${x.values[0] ?? '(unset)'} there, ${x.values[1] ?? '(unset)'} here`).join('; ')}); give this setting a set of its own (--out)`,
        issues: d.map((x) => ({ path: `config.${x.path}`, message: 'differs from the set\'s other replicates' })),
      });
  }
}

/** The set's replicate folders as read back (none before its first replicate starts). */
function replicateFolders(dir: string): SeedFolder[] {
  return existsSync(dir) && readdirSync(dir).some((d) => /^replicate-\d+$/.test(d)) ? readSeedsRun(dir).filter((f) => f.seedDir.startsWith('replicate-')) : [];
}

/** A set as `replicate` leaves it: the summary, and the replicate that stopped it by failing (null if none did). */
export type ReplicateRun = ReplicateSummary & { failed: { name: string; error: string | null; dir: string } | null };

/**
 * Runs the replicates, `parallel` at once (each with its own bus and policy worker, the
 * cores shared out as torch threads, as `ablate --parallel` does), then summarises them.
 * No replicate starts after one has failed; those running finish first.
 */
export async function runReplicates(o: ReplicateOptions): Promise<ReplicateRun> {
  const named = variantOf(o.config.loop.ablations);
  // a replicate's folder is named for its variant, which `ablate --compare` and `--pool` read
  if (named === 'custom') throw new LooptoolError({ code: 'invalid_input', message: `loop.ablations: ${JSON.stringify(o.config.loop.ablations)} is no named variant (${Object.keys(VARIANTS).join(', ')}); replicates need one` });
  const variant = named;
  checkSameWorld(o.config, storedConfig(o.base), o.base);
  checkSameSetting(o.dir, o.config);
  mkdirSync(o.dir, { recursive: true });
  const parallel = Math.max(1, Math.min(o.parallel ?? 1, o.names.length));
  const config = seedConfig(o.config, o.config.seed, parallel);
  const ran: { variant: typeof variant; seconds: number }[] = [];
  let settled = 0;
  let failed: ReplicateRun['failed'] = null;
  let stopped = false;
  await forEachLimit(
    o.names,
    parallel,
    async (name) => {
      const dir = join(o.dir, name, variant);
      mkdirSync(dir, { recursive: true });
      const t = await timedRun(dir, () =>
        runLoop({
          dir,
          config: { ...config, loop: { ...config.loop, trainSeed: name } },
          base: baseRef(dir, o.base),
          resume: existsSync(join(dir, SNAPSHOT)),
          nats: o.nats,
          signal: o.signal,
          ...(o.progress?.(name) ?? {}),
        }),
      );
      if (t.ran) ran.push({ variant, seconds: t.seconds });
      settled += 1;
      const left = o.names.slice(settled).map(() => variant);
      o.onRun?.({ seed: name, variant, status: t.result.status, error: t.result.error, ran: t.ran, seconds: t.seconds, done: settled, total: o.names.length, leftSeconds: remainingSeconds(ran, left, parallel) });
      if (t.result.status === 'failed') failed ??= { name, error: t.result.error, dir };
      if (t.result.status !== 'done') stopped = true;
    },
    { signal: o.signal, stop: () => stopped },
  );
  const s = summarizeReplicates(o.base, o.dir, o.names, variant);
  const store = new RunStore(o.dir);
  store.writeJson('replicates.json', s);
  store.writeText('replicates.md', `# ${s.summary.perSeed.length} replicates of training\n\n\`\`\`\n${replicatesText(s)}\n\`\`\`\n`);
  return { ...s, failed };
}

/**
 * Every finished replicate in the set's folder (also those an earlier call with another
 * --first ran) against their base, with the spread's own uncertainty; keyed as
 * `ablate --compare` pairs them (readSeedsRun).
 */
export function summarizeReplicates(base: string, dir: string, names: readonly string[], variant: Variant): ReplicateSummary {
  const done = replicateFolders(dir).filter((f) => f.finished.has(variant));
  const summary = summarizeAblation(
    done.map((f) => f.seed),
    new Map([[variant, new Map(done.map((f) => [f.seed, f.finished.get(variant)!]))]]),
    null,
  ).variants[0]!;
  const baseStore = new RunStore(base);
  const baseLast = roundEvals(baseStore).at(-1);
  const baseConfig = withTodaysDefaults(baseStore.readJson('config.json', JsonObject));
  return {
    base,
    variant,
    settings: done.length ? leafDifferences([baseConfig, done[0]!.config], ['loop.trainSeed']) : [],
    summary,
    sdInterval: sdInterval(summary.accuracy),
    baseFigures: baseLast ? { round: baseLast.round, accuracy: baseLast.test.accuracy } : null,
    complete: names.every((n) => done.some((f) => f.seedDir === n)),
  };
}

/** The set as text: one row per replicate, the mean with its interval, the spread with its own. */
export function replicatesText(s: ReplicateSummary, cwd = process.cwd()): string {
  const v = s.summary;
  const rows = v.perSeed.map((f) => [f.seed.slice(f.seed.lastIndexOf('/') + 1), formatPoints(f.accuracy), formatPoints(f.se), formatPoints(f.exactCall), formatPoints(f.callDecision), formatPoints(f.cutOff)]);
  const first = v.perSeed[0];
  const settings = s.settings.length ? `settings apart from the base run: ${s.settings.map((d) => `${d.path} ${d.values[1] ?? '(unset)'} (base ${d.values[0] ?? '(unset)'})`).join(', ')}` : "the base run's settings";
  const spread =
    v.accuracy.sd === null
      ? 'one replicate says nothing about the spread'
      : `sd ${formatPoints(v.accuracy.sd)} points, 95 % interval ${formatBounds(s.sdInterval)}`;
  return [
    `${v.perSeed.length} replicates of ${s.variant} on the round 0 of ${relative(cwd, s.base) || '.'} (${settings}), round ${first?.round ?? '–'}, ToolMatch % on the test split:`,
    alignTable(['replicate', 'final %', '± se', 'exact call %', 'call decision %', 'cut off %'], rows),
    `mean ${formatCi(v.accuracy)} % (95 % interval over replicates); ${spread}`,
    `the base run, trained once with its own training seed: ${s.baseFigures ? `${formatPoints(s.baseFigures.accuracy)} % at round ${s.baseFigures.round}` : '–'}; start ${formatPoints(first?.start?.accuracy)} %; never call ${formatPoints(first?.neverCall)} %`,
    'A setting steadies training when its spread is well below another\'s; pair two sets by replicate with `looptool ablate --compare DIR,DIR`.',
  ].join('\n');
}
