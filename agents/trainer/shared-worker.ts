import { join, resolve } from 'node:path';
import { LooptoolError } from '../../protocols/errors.ts';
import type { Logger, RoleEnv } from '../../protocols/role.ts';
import { modelName, TrainerConfig, type LatestCheckpoint } from '../../protocols/trainer.ts';
import { hashString } from '../../protocols/rng.ts';
import { checkCheckpointModel, modelFingerprint } from './checkpoint-model.ts';
import { CheckpointStore } from './checkpoints.ts';
import { resolveModelSpec } from './presets.ts';
import { WorkerError, WorkerProcess, type WorkerProcessOptions } from './worker-process.ts';

/**
 * The one policy worker of a process and run directory, shared by the `trainer` and
 * `policy` roles (and their replicas): the worker holds one model, so both roles must
 * talk to the same one. Reference-counted: every role host's init acquires it, every
 * dispose releases it, and the last release closes the worker.
 */
export class SharedPolicy {
  /** The checkpoint the worker serves (absolute path), or null for freshly loaded weights. */
  current: string | null = null;
  /** Prompt keys found too long for the model context (cleared when the model changes). */
  readonly tooLong = new Set<string>();
  private chain: Promise<unknown> = Promise.resolve();
  /** The base model's fingerprint, which every checkpoint records (agents/trainer/checkpoint-model.ts); unknown after restoring a checkpoint that recorded none. */
  private fingerprint: string | undefined;

  private constructor(
    readonly runDir: string,
    readonly config: TrainerConfig,
    readonly worker: WorkerProcess,
    readonly checkpoints: CheckpointStore,
    readonly seed: number,
    readonly log: Logger,
  ) {}

  /** Which policy answers: the checkpoint's directory name, or the model's name. */
  get name(): string {
    return this.current ? this.current : modelName(this.config.model);
  }

  /**
   * Starts the worker and puts the run's policy in it: the latest checkpoint of the run
   * when there is one (a restarted trainer continues where it stopped), else the model
   * of the config, freshly initialised.
   */
  static async open(runDir: string, env: Pick<RoleEnv, 'config' | 'log'> & { signal?: AbortSignal }, opts: WorkerProcessOptions = {}): Promise<SharedPolicy> {
    const raw = (env.config as { trainer?: unknown }).trainer ?? {};
    const parsed = TrainerConfig.safeParse(raw);
    if (!parsed.success)
      throw new LooptoolError({
        code: 'invalid_input',
        message: 'invalid trainer config',
        issues: parsed.error.issues.map((i) => ({ path: ['trainer', ...i.path.map(String)].join('.'), message: i.message })),
      });
    const config = parsed.data;
    const runSeed = typeof (env.config as { seed?: unknown }).seed === 'string' ? ((env.config as { seed: string }).seed) : 'looptool';
    const seed = config.seed ?? hashString(`${runSeed}/trainer`) % 1_000_000;
    const envThreads = Number(process.env.LOOPTOOL_TORCH_THREADS);
    const threads = config.threads ?? (Number.isInteger(envThreads) && envThreads > 0 ? envThreads : undefined);
    const checkpoints = new CheckpointStore(runDir, config.checkpoints);
    env.signal?.throwIfAborted();
    const worker = new WorkerProcess({
      threads,
      logFile: join(runDir, 'logs', 'policy-worker.log'),
      startTimeoutMs: config.startTimeoutMs,
      ...opts,
    });
    // A start called off (the command interrupted) kills the worker at once: importing torch
    // and loading a model (minutes for a large one) cannot be interrupted from outside.
    const callOff = () => void worker.close({ graceMs: 0 });
    env.signal?.addEventListener('abort', callOff, { once: true });
    const p = new SharedPolicy(runDir, config, worker, checkpoints, seed, env.log);
    worker.on('restarted', (info: { pid?: number; replayed?: string | null; error?: string }) => {
      p.tooLong.clear();
      env.log.warn(
        { pid: info.pid, replayed: info.replayed, error: info.error, checkpoint: p.current },
        info.replayed ? `policy worker replaced; it serves ${p.name} again (training steps after it are lost)` : 'policy worker replaced without a model',
      );
      // Without a replay (it failed) the replacement holds nothing: say so in replies.
      if (!info.replayed) p.current = null;
    });
    try {
      await worker.started();
      const latest = checkpoints.latest();
      if (!latest) await p.load();
      if (latest) await p.restore(latest.path, true);
    } catch (err) {
      await worker.close();
      throw err;
    } finally {
      env.signal?.removeEventListener('abort', callOff);
    }
    return p;
  }

  /** Loads the config's model with fresh weights. */
  async load(): Promise<void> {
    const c = this.config;
    const model = resolveModelSpec(c.model);
    await this.worker.load({
      model,
      seed: this.seed,
      threads: c.threads,
      optimizer: c.optimizer,
      micro_batch_tokens: microBatchTokens(c),
    });
    this.current = null;
    this.fingerprint = modelFingerprint(model.path);
    this.tooLong.clear();
    this.log.info({ model: modelName(c.model), seed: this.seed }, 'policy loaded (fresh weights)');
  }

  /** Serves the checkpoint at `path` (relative paths are taken from the run directory); refused when it holds another model than trainer.model. */
  async restore(path: string, optimizer: boolean) {
    const abs = resolve(this.runDir, path);
    const fingerprint = checkCheckpointModel(abs, this.config.model);
    // the check above found the configured model to be the checkpoint's base, wherever it lives now
    const model_path = resolveModelSpec(this.config.model).path;
    const r = await this.worker.restore({ path: abs, optimizer, model_path, micro_batch_tokens: microBatchTokens(this.config) });
    this.current = r.path;
    this.fingerprint = fingerprint;
    this.tooLong.clear();
    this.log.info({ checkpoint: r.path, optimizer }, 'policy restored from checkpoint');
    return r;
  }

  /** Saves the policy (and the optimizer, when checkpointOptimizer) into a new checkpoint and points latest.json at it. */
  async checkpoint(tag: string, info: Omit<LatestCheckpoint, 'path' | 'created'>, meta: Record<string, unknown> = {}): Promise<string> {
    const path = this.checkpoints.next(tag);
    const saved = await this.worker.save({ path, meta: { ...meta, ...info, ...(this.fingerprint ? { model_fingerprint: this.fingerprint } : {}) }, optimizer: checkpointOptimizer(this.config) });
    this.checkpoints.setLatest(saved.path, info);
    this.current = saved.path;
    return saved.path;
  }

  /**
   * Runs `fn` alone among the callers of `exclusive` (training rounds, restores): a GRPO
   * round is many worker requests, and a restore or another round must not slip between
   * them. Generation and scoring do not wait for it; they see the weights as they are.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** A stable key for a prompt (too-long bookkeeping). */
  static key(prompt: unknown): string {
    return String(hashString(JSON.stringify(prompt)));
  }

  async close(): Promise<void> {
    await this.worker.close();
  }
}

/** Rewrites a worker failure as an error that says what the trainer was doing. */
export function workerFailure(err: unknown, doing: string, policy: SharedPolicy): Error {
  if (err instanceof WorkerError) {
    const back =
      err.type === 'worker_died' || err.type === 'timeout' || err.type === 'aborted'
        ? `; the worker is being replaced and will serve ${policy.current ? `checkpoint ${policy.current}` : 'the freshly loaded model'} again (steps after it are lost)`
        : '';
    return new LooptoolError({ code: err.reply.code, message: `${doing}: ${err.message}${back}`, issues: err.reply.issues, retryable: err.reply.retryable });
  }
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Whether checkpoints carry the optimizer state. Every loop round, warm-up and SFT pass, and
 * every `looptool train` call unless trainer.grpo.reset_optimizer is false, starts a fresh
 * optimizer, so a saved state would never be read; with AdamW it is two thirds of a
 * checkpoint's bytes (1 GB a round for SmolLM2-135M in fp32, 64 GB for an 8B model in fp32).
 */
export function checkpointOptimizer(c: TrainerConfig): boolean {
  return c.checkpoint_optimizer ?? !c.grpo.reset_optimizer;
}

/** The token budget of one forward/backward: the config's, else the worker's default. */
export function microBatchTokens(c: TrainerConfig): number | undefined {
  return c.micro_batch_tokens;
}

type Entry = { refs: number; ready: Promise<SharedPolicy> };
const shared = new Map<string, Entry>();

/** Options for tests: how the worker is started (e.g. fewer restarts). */
let workerOptions: WorkerProcessOptions = {};
export function setSharedWorkerOptions(o: WorkerProcessOptions): void {
  workerOptions = o;
}

/** The shared policy of `env.runDir`, started on first use. Pair every call with releasePolicy. */
export async function acquirePolicy(env: Pick<RoleEnv, 'runDir' | 'config' | 'log'> & { signal?: AbortSignal }): Promise<SharedPolicy> {
  const key = resolve(env.runDir);
  let e = shared.get(key);
  if (!e) {
    e = { refs: 0, ready: SharedPolicy.open(key, env, workerOptions) };
    shared.set(key, e);
  }
  e.refs++;
  try {
    return await e.ready;
  } catch (err) {
    e.refs--;
    if (shared.get(key) === e) shared.delete(key);
    throw err;
  }
}

/** Drops one reference; the last one closes the worker. */
export async function releasePolicy(p: SharedPolicy): Promise<void> {
  const e = shared.get(p.runDir);
  if (!e) return;
  e.refs--;
  if (e.refs > 0) return;
  shared.delete(p.runDir);
  await p.close();
}

/** How many run directories have a live shared worker in this process (tests). */
export function sharedPolicyCount(): number {
  return shared.size;
}
