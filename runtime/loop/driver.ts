import { setMaxListeners } from 'node:events';
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { createActor, fromPromise, type SnapshotFrom } from 'xstate';
import type { RunConfig } from '../../protocols/config.ts';
import { LooptoolError } from '../../protocols/errors.ts';
import { variantOf } from '../../protocols/loop/config.ts';
import type { Manifest } from '../../protocols/loop/records.ts';
import type { AnyRoleImpl } from '../../protocols/role.ts';
import { LOOP_STAGES, type LoopStage } from '../../protocols/loop/stages.ts';
import { loopMachine, type LoopContext, type LoopInput, type LoopMachine, type StageActor, type StageInput, type StageSummary } from '../../machines/loop.ts';
import { LooptoolNode } from '../bus/node.ts';
import { ensureModel } from '../models/ensure.ts';
import { busConfigFromEnv } from '../bus/connect.ts';
import { builtinRoles, loadRoleModules } from '../roles.ts';
import { runIdForDir } from '../live-runs.ts';
import { settleRunConfig } from '../seed.ts';
import { writeReport } from './report.ts';
import { runStage, StageContext, type StageProgress } from './stages/index.ts';
import { RunStore } from './store.ts';
import { FileCheckpointer, type LoopCheckpointer, type PersistedSnapshot } from './checkpoint/index.ts';
import { damageError, planResume, verifyStages } from './verify.ts';
import { checkBaseModel, recordDependent } from './dependents.ts';

export type StageEvent =
  | { type: 'start'; stage: string; round: number }
  | { type: 'done'; stage: string; round: number; summary: StageSummary; seconds: number };

/**
 * How a run names its base: the path from the run directory's parent, so that a sibling is
 * its plain name (as `ablate` lays variants out) and a run elsewhere, such as a replicate of
 * training on another run's round 0 (loop.trainSeed), is found again when both move together.
 * `base` is a sibling's name or a path from the working directory.
 */
export function baseRef(runDir: string, base: string): string {
  const parent = dirname(resolve(runDir));
  const candidates = [resolve(parent, base), resolve(base)];
  const found = candidates.find((d) => existsSync(join(d, 'manifest.json')));
  if (!found) throw new LooptoolError({ code: 'invalid_input', message: `--base ${base}: no run at ${[...new Set(candidates)].join(' or ')} (a run folder holds manifest.json)` });
  if (found === resolve(runDir)) throw new LooptoolError({ code: 'invalid_input', message: `--base ${base}: a run cannot be its own base` });
  return relative(parent, found);
}

export type LoopRunOptions = {
  /** run directory (runs/<id>) */
  dir: string;
  /** the run config; required for a new run, optional (stored) for a resume */
  config?: RunConfig;
  /** run whose round 0 this run reuses, as a path from the run directory's parent (a sibling's name; baseRef) */
  base?: string;
  /** continue from snapshot.json when there is one, after checking every finished stage's files */
  resume?: boolean;
  /** resume: run a damaged stage and every stage after it again instead of refusing */
  rerunDamaged?: boolean;
  /** resume: told which finished stages will run again (--rerun-damaged) */
  onRerun?: (stages: string[]) => void;
  /** serve the roles in this process (default true); false: they run elsewhere on the bus */
  serveRoles?: boolean;
  /** an open node to use (tests, benchmarks); otherwise one is started (embedded bus or NATS_URL) */
  node?: LooptoolNode;
  nats?: string;
  roleConcurrency?: number;
  onProgress?: (p: StageProgress) => void;
  onStage?: (e: StageEvent) => void;
  signal?: AbortSignal;
};

export type LoopResult = { run: string; dir: string; status: 'done' | 'failed'; error: string | null; manifest: Manifest; history: LoopContext['history'] };

/** The run id (one NATS subject token) of a run directory: nested runs (`<demo>/full`) get ids of their own. */
export function runIdOf(dir: string): string {
  return runIdForDir(dir);
}

/** The roles the loop's stages call, beside the trainer's: the catalogue's seed and loop roles, and the config's own. */
async function stageRoles(config: RunConfig): Promise<AnyRoleImpl[]> {
  return [...(await builtinRoles('seed', 'loop')), ...(await loadRoleModules(config.roles))];
}

/** Every role a loop run needs, served in this process unless told otherwise: the stages' roles and the trainer's (phase train). */
export async function loopRoles(config: RunConfig): Promise<AnyRoleImpl[]> {
  return [...(await stageRoles(config)), ...(await builtinRoles('train'))];
}

function newManifest(run: string, config: RunConfig, base?: string): Manifest {
  const now = new Date().toISOString();
  const a = config.loop.ablations;
  return { version: 1, run, created: now, variant: variantOf(a), ablations: a, rounds: config.loop.rounds, ...(base ? { base } : {}), status: 'running', stages: [], checkpoint: null, updated: now };
}

/**
 * Runs (or resumes) the closed loop in a run directory: starts or joins the bus, serves
 * the roles, drives the loop machine, persists its snapshot after every transition, and
 * writes the report when the loop is done.
 */
export async function runLoop(opts: LoopRunOptions): Promise<LoopResult> {
  const dir = resolve(opts.dir);
  // every dialogue and stage in flight listens for the abort: more than Node's default 10
  if (opts.signal) setMaxListeners(1024, opts.signal);
  const store = new RunStore(dir);
  if (!opts.config && !existsSync(join(dir, 'config.json'))) throw new LooptoolError({ code: 'invalid_input', message: `${dir} is not a loop run (no config.json)` });
  // Checked before anything is written: a refused resume leaves the directory as it was.
  const plan = opts.resume ? planResume(store, { rerunDamaged: opts.rerunDamaged }) : undefined;
  if (plan?.rerun.length) opts.onRerun?.(plan.rerun);
  const checkpoints = new FileCheckpointer(store);
  const storedManifest = plan ? plan.manifest : checkpoints.get('manifest');
  if (storedManifest && !plan) {
    // A run continued with `run --out`: its finished stages are trusted only as they are.
    const damage = verifyStages(store, storedManifest);
    if (damage.length) throw damageError(dir, damage);
  }
  // a run keeps the id its manifest gave it (its trace is filed under it), even when moved
  const run = storedManifest?.run ?? runIdOf(dir);
  const base = opts.base ?? storedManifest?.base;
  // a base is named from the run directory's parent (baseRef)
  const baseDir = base ? resolve(dir, '..', base) : null;
  if (baseDir && !storedManifest && opts.config) checkBaseModel(baseDir, opts.config.trainer.model);
  const config = settleRunConfig(dir, opts.config);
  let manifest = storedManifest ?? newManifest(run, config, base);
  if (storedManifest && opts.config && storedManifest.variant !== variantOf(config.loop.ablations))
    throw new LooptoolError({ code: 'invalid_input', message: `${dir} is a "${storedManifest.variant}" run; it cannot continue as "${variantOf(config.loop.ablations)}"` });
  manifest = { ...manifest, status: 'running', rounds: config.loop.rounds };
  checkpoints.put('manifest', manifest);
  // from here on, a run that stops on an error says so in its manifest instead of staying "running"
  const markFailed = (current: Manifest) => checkpoints.put('manifest', { ...current, status: 'failed' });

  let node: LooptoolNode;
  try {
    // the trainer served here loads the policy: a preset must exist first (nano is built once)
    if (opts.serveRoles ?? true) await ensureModel(config.trainer.model);
    node = opts.node ?? (await LooptoolNode.start({ run, runDir: dir, bus: busConfigFromEnv({ url: opts.nats }), config: config as unknown as Record<string, unknown> }));
  } catch (err) {
    markFailed(manifest);
    throw err;
  }
  const ownNode = !opts.node;
  // the base's prune must see this run wherever it lives, since it restores the base's
  // checkpoints; a base it may not write to (a shared folder) only loses that
  if (baseDir) {
    try {
      recordDependent(baseDir, dir);
    } catch (err) {
      node.log.warn({ base, error: (err as Error).message }, "cannot list this run in its base's dependents.jsonl: `looptool prune` of the base will not know that this run restores its checkpoints");
    }
  }
  let trainerServed: Promise<void> | undefined;
  let current = () => manifest;
  try {
    if (opts.serveRoles ?? true) {
      const serveOpts = opts.roleConcurrency ? { concurrency: opts.roleConcurrency } : {};
      for (const r of await stageRoles(config)) await node.serve(r, serveOpts);
      // The trainer's roles start the policy worker and load the model: seconds on a CPU,
      // minutes for a large model. They are served while seeding runs, which needs no
      // policy; every other stage waits for them, and fails with their start's error. An
      // interrupted run calls their start off (the worker is killed) instead of waiting for it.
      trainerServed = (async () => {
        for (const r of await builtinRoles('train')) await node.serve(r, { ...serveOpts, signal: opts.signal });
      })();
      trainerServed.catch((err: Error) => {
        if (!opts.signal?.aborted) node.log.error({ error: err.message }, 'the trainer roles could not start; the first stage after seeding fails with this');
      });
    }
    const cx = new StageContext({ node, store, checkpoints, config, ablations: config.loop.ablations, base, onProgress: opts.onProgress, signal: opts.signal }, manifest);
    current = () => cx.currentManifest();
    // every stage runs as its own actor, announced before and measured after
    const stageActor = (stage: LoopStage): StageActor =>
      fromPromise<StageSummary, StageInput>(async ({ input }) => {
        if (input.stage !== 'seeding') await trainerServed;
        const t0 = performance.now();
        opts.onStage?.({ type: 'start', ...input });
        node.publish({ role: 'loop', kind: 'state', actor: `loop/${run}`, data: { stage: input.stage, round: input.round, phase: 'start' } });
        const summary = await runStage(cx, stage, input.round);
        const seconds = (performance.now() - t0) / 1000;
        opts.onStage?.({ type: 'done', ...input, summary, seconds });
        node.publish({ role: 'loop', kind: 'metric', actor: `loop/${run}`, data: { stage: input.stage, round: input.round, ...summary } });
        return summary;
      });
    const machine = loopMachine.provide({
      actors: Object.fromEntries(LOOP_STAGES.map((s) => [s, stageActor(s)])) as Record<LoopStage, StageActor>,
    });
    const snap = await driveLoop(machine, { rounds: config.loop.rounds, ablations: config.loop.ablations }, checkpoints, {
      resume: opts.resume,
      signal: opts.signal,
      // Stages announce themselves as they start; the end states have no stage to do it.
      onEnd: (state, context) => {
        const error = context.error ?? undefined;
        node.publish({ role: 'loop', kind: 'state', actor: `loop/${run}`, data: { to: state, round: context.round, ...(error ? { error } : {}) } });
      },
    });
    const status = snap.value === 'done' ? 'done' : 'failed';
    const error = status === 'failed' ? snap.context.error ?? (opts.signal?.aborted ? 'interrupted' : 'stopped') : null;
    manifest = { ...cx.currentManifest(), status };
    checkpoints.put('manifest', manifest);
    if (status === 'done') writeReport(store, manifest);
    return { run, dir, status, error, manifest, history: snap.context.history };
  } catch (err) {
    markFailed(current());
    throw err;
  } finally {
    // a host still starting is stopped with the others, not left serving (and holding its worker) after the node
    await trainerServed?.catch(() => undefined);
    // a node of its own is stopped (which flushes its trace); a caller's node only has its trace flushed
    if (ownNode) await node.stop(opts.signal?.aborted ? { graceMs: 0 } : {});
    else await node.tracer.close().catch(() => undefined);
  }
}

/**
 * Runs a provided loop machine to its end state, keeping its snapshot in `checkpoints`
 * after every transition. A failed state is not kept: resume retries the failed stage from
 * the last good snapshot. With `resume`, starts from the kept snapshot; a finished run asked
 * for more rounds starts over (a final snapshot cannot be continued), and every stage the
 * manifest lists answers from its files at once, so the new rounds run after them.
 */
export async function driveLoop(
  machine: LoopMachine,
  input: LoopInput,
  checkpoints: LoopCheckpointer,
  opts: { resume?: boolean; signal?: AbortSignal; onEnd?: (state: string, context: LoopContext) => void } = {},
): Promise<SnapshotFrom<LoopMachine>> {
  let snapshot = opts.resume ? checkpoints.get('snapshot') : undefined;
  if (snapshot) {
    const s = snapshot as { value?: unknown; context?: LoopContext };
    if (s.context) s.context.rounds = input.rounds;
    if (s.value === 'done' && s.context && s.context.round < input.rounds) snapshot = undefined;
  }
  const actor = createActor(machine, snapshot ? { snapshot: snapshot as never, input } : { input });
  let last = '';
  const finished = new Promise<void>((done) => {
    actor.subscribe({
      next: (snap) => {
        const state = String(snap.value);
        if (state === last) return;
        last = state;
        if (state !== 'failed') checkpoints.put('snapshot', actor.getPersistedSnapshot() as PersistedSnapshot);
        if (snap.status !== 'active') {
          opts.onEnd?.(state, snap.context);
          done();
        }
      },
      error: () => done(),
      complete: () => done(),
    });
  });
  const onAbort = () => actor.stop();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  actor.start();
  // restored in a final state: nothing left to run
  if (actor.getSnapshot().status === 'active') await finished;
  opts.signal?.removeEventListener('abort', onAbort);
  return actor.getSnapshot();
}
