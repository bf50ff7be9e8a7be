import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeIssues, LooptoolError, type ErrorCode, type ErrorIssue } from '../../protocols/errors.ts';
import { WorkerLine, WorkerVerbs, type WorkerArgs, type WorkerResult, type WorkerVerb } from './worker-protocol.ts';
import { findPython } from './python.ts';

/** The worker's entry point (a script; see worker/server.py for the protocol). */
export const WORKER_MAIN = fileURLToPath(new URL('./worker/main.py', import.meta.url));

/** Why a request to the worker failed. The worker's own error types, plus the supervisor's. */
export type WorkerFailure =
  | 'bad_json'
  | 'bad_request'
  | 'unknown_verb'
  | 'not_loaded'
  | 'out_of_memory'
  | 'runtime_error'
  | 'worker_died'
  | 'timeout'
  | 'aborted'
  | 'closed'
  | 'spawn_failed'
  | 'invalid_output';

export type ExitInfo = {
  pid: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines the worker wrote to stderr. */
  stderrTail: string;
  /** The request it was serving, if any. */
  verb?: string;
  requestId?: string;
};

const CODE_OF: Record<WorkerFailure, ErrorCode> = {
  bad_json: 'internal',
  bad_request: 'invalid_input',
  unknown_verb: 'unknown_verb',
  not_loaded: 'internal',
  out_of_memory: 'internal',
  runtime_error: 'internal',
  worker_died: 'internal',
  timeout: 'timeout',
  aborted: 'internal',
  closed: 'internal',
  spawn_failed: 'internal',
  invalid_output: 'invalid_output',
};

/** A failed worker request; a LooptoolError, so a role can let it travel to its caller. */
export class WorkerError extends LooptoolError {
  readonly type: WorkerFailure;
  readonly exit?: ExitInfo;
  constructor(type: WorkerFailure, message: string, extra: { exit?: ExitInfo; issues?: ErrorIssue[]; retryable?: boolean } = {}) {
    super({
      code: CODE_OF[type],
      message,
      issues: extra.issues ?? [],
      retryable: extra.retryable ?? (type === 'worker_died' || type === 'timeout' || type === 'out_of_memory'),
    });
    this.name = 'WorkerError';
    this.type = type;
    this.exit = extra.exit;
  }
}

/** Whether `err` is a WorkerError (of `type`, when given): a guard, like isLooptoolError, for the worker's own failure types. */
export function isWorkerError(err: unknown, type?: WorkerFailure): err is WorkerError {
  return err instanceof WorkerError && (type === undefined || err.type === type);
}

export type WorkerProcessOptions = {
  /** Interpreter; default: findPython() (LOOPTOOL_PYTHON, then candidates that import torch). */
  python?: string;
  /** torch CPU threads (LOOPTOOL_TORCH_THREADS); default: the worker's own choice (all cores). */
  threads?: number;
  /** Extra environment for the worker. */
  env?: Record<string, string>;
  /** The worker's stderr is appended here (the supervisor also keeps a tail for errors). */
  logFile?: string;
  /** Per-verb timeouts in ms; a request past its timeout fails and the worker is replaced. */
  timeouts?: Partial<Record<WorkerVerb, number>>;
  /** How long to wait for the worker's "ready" line (torch import, CUDA init). */
  startTimeoutMs?: number;
  /** Give up after this many crashes within restartWindowMs (queued requests then fail). */
  maxRestarts?: number;
  restartWindowMs?: number;
  /**
   * After a crash, send the replacement the last successful `load`, or `restore` of the
   * last checkpoint loaded or saved, so it serves the same model as of that point.
   * Default true. Steps taken after that point are lost; the 'restarted' event says so.
   */
  replay?: boolean;
  /** Seconds close() waits for a busy worker to finish before killing it. */
  closeGraceMs?: number;
};

export type RequestOptions = { timeoutMs?: number; signal?: AbortSignal };

const DEFAULT_TIMEOUTS: Record<WorkerVerb, number> = {
  load: 600_000,
  restore: 600_000,
  generate: 600_000,
  score: 600_000,
  sft_step: 1_200_000,
  grpo_step: 1_800_000,
  save: 600_000,
  export: 600_000,
  init_nano: 1_200_000,
  stats: 60_000,
  ping: 60_000,
};

type Pending = {
  id: string;
  verb: WorkerVerb;
  args: unknown;
  timeoutMs: number;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
  signal?: AbortSignal;
  onAbort?: () => void;
};

// Every live worker, so that none outlives this process (a normal exit or process.exit:
// SIGKILL them; a parent killed outright is covered by the worker's PR_SET_PDEATHSIG and
// its exit on stdin EOF).
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of live) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

const TAIL_BYTES = 8192;

/**
 * Owns one policy worker process: spawns it, sends typed requests one at a time (the
 * worker is sequential), enforces timeouts, and replaces it after a crash. Events:
 * 'ready' (worker info), 'started' ({id, verb}: the worker began a request), 'exit'
 * (ExitInfo), 'restarted' ({pid, replayed, error?}), 'protocol_error' (a line that
 * answered no request), 'stderr' (a line of the worker's stderr).
 */
export class WorkerProcess extends EventEmitter {
  private child: ChildProcess | null = null;
  private ready = false;
  private starting: Promise<void> | null = null;
  private queue: Pending[] = [];
  private current: Pending | null = null;
  private closed = false;
  private seq = 0;
  private crashes: number[] = [];
  private lastModel: { verb: 'load' | 'restore'; args: unknown } | null = null;
  private stderrBuf = '';
  private log: WriteStream | null = null;
  private expectedExit = new WeakSet<ChildProcess>();
  private everStarted = false;
  private readonly opts: Required<Pick<WorkerProcessOptions, 'startTimeoutMs' | 'maxRestarts' | 'restartWindowMs' | 'replay' | 'closeGraceMs'>> &
    WorkerProcessOptions;
  /** Number of times the worker was replaced after a crash or timeout. */
  restarts = 0;
  /** What the last 'ready' line said (torch version, threads, pid). */
  info: Record<string, unknown> | null = null;

  constructor(opts: WorkerProcessOptions = {}) {
    super();
    this.opts = { startTimeoutMs: 120_000, maxRestarts: 5, restartWindowMs: 60_000, replay: true, closeGraceMs: 5_000, ...opts };
    if (opts.logFile) {
      mkdirSync(dirname(opts.logFile), { recursive: true });
      this.log = createWriteStream(opts.logFile, { flags: 'a' });
    }
    installExitHook();
  }

  /** Starts a worker and waits until it is ready. */
  static async start(opts: WorkerProcessOptions = {}): Promise<WorkerProcess> {
    const w = new WorkerProcess(opts);
    try {
      await w.started();
    } catch (e) {
      await w.close();
      throw e;
    }
    return w;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get busy(): boolean {
    return this.current !== null;
  }

  /** Sends one request; args are validated here first, the result on the way back. */
  request<V extends WorkerVerb>(verb: V, args: WorkerArgs<V>, opts: RequestOptions = {}): Promise<WorkerResult<V>> {
    const schema = WorkerVerbs[verb]?.args;
    if (!schema) return Promise.reject(new WorkerError('unknown_verb', `unknown worker verb "${String(verb)}"`));
    const parsed = schema.safeParse(args ?? {});
    if (!parsed.success) {
      const issues = describeIssues(parsed.error, 'args');
      return Promise.reject(new WorkerError('bad_request', `invalid ${verb} request`, { issues }));
    }
    if (this.closed) return Promise.reject(new WorkerError('closed', 'the policy worker was closed'));
    if (opts.signal?.aborted) return Promise.reject(new WorkerError('aborted', `${verb} aborted before it was sent`));
    return new Promise<WorkerResult<V>>((resolve, reject) => {
      const p: Pending = {
        id: `r${++this.seq}`,
        verb,
        args: parsed.data,
        timeoutMs: opts.timeoutMs ?? this.opts.timeouts?.[verb] ?? DEFAULT_TIMEOUTS[verb],
        resolve: resolve as (v: unknown) => void,
        reject,
        signal: opts.signal,
      };
      if (opts.signal) {
        p.onAbort = () => this.abort(p);
        opts.signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.queue.push(p);
      this.pump();
    });
  }

  load(args: WorkerArgs<'load'>, o?: RequestOptions) {
    return this.request('load', args, o);
  }
  /**
   * One policy to answer with (serve, eval bfcl run): a model directory is loaded; a
   * checkpoint the trainer wrote (its meta.json) is restored over its base model, without
   * its optimizer, since nothing trains it here.
   */
  loadPolicy(model: WorkerArgs<'load'>['model'] & { path: string }, opts: { threads?: number } = {}) {
    if (existsSync(join(model.path, 'meta.json'))) return this.restore({ path: model.path, optimizer: false, ...(model.device ? { device: model.device } : {}) });
    return this.load({ model, ...(opts.threads ? { threads: opts.threads } : {}) });
  }
  generate(args: WorkerArgs<'generate'>, o?: RequestOptions) {
    return this.request('generate', args, o);
  }
  score(args: WorkerArgs<'score'>, o?: RequestOptions) {
    return this.request('score', args, o);
  }
  sftStep(args: WorkerArgs<'sft_step'>, o?: RequestOptions) {
    return this.request('sft_step', args, o);
  }
  grpoStep(args: WorkerArgs<'grpo_step'>, o?: RequestOptions) {
    return this.request('grpo_step', args, o);
  }
  save(args: WorkerArgs<'save'>, o?: RequestOptions) {
    return this.request('save', args, o);
  }
  restore(args: WorkerArgs<'restore'>, o?: RequestOptions) {
    return this.request('restore', args, o);
  }
  export(args: WorkerArgs<'export'>, o?: RequestOptions) {
    return this.request('export', args, o);
  }
  initNano(args: WorkerArgs<'init_nano'>, o?: RequestOptions) {
    return this.request('init_nano', args, o);
  }
  stats(o?: RequestOptions) {
    return this.request('stats', {}, o);
  }
  ping(o?: RequestOptions) {
    return this.request('ping', {}, o);
  }

  /** Writes a raw line to the worker (diagnostics and protocol tests). Its answer, having
   * no request of ours, comes back as a 'protocol_error' event. */
  writeRaw(line: string): void {
    this.child?.stdin?.write(line.endsWith('\n') ? line : `${line}\n`);
  }

  /**
   * Stops the worker: closes its stdin (it exits at EOF), kills it after the grace time
   * (`graceMs`, else the option closeGraceMs; 0 kills it at once, busy or not).
   */
  async close(opts: { graceMs?: number } = {}): Promise<void> {
    if (this.closed && !this.child) return;
    this.closed = true;
    const err = new WorkerError('closed', 'the policy worker was closed');
    for (const p of this.queue.splice(0)) this.settle(p, err);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      this.expectedExit.add(child);
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.stdin?.end();
      const t = setTimeout(() => child.kill('SIGKILL'), opts.graceMs ?? this.opts.closeGraceMs);
      await exited;
      clearTimeout(t);
    }
    if (this.current) this.settle(this.current, err);
    this.current = null;
    await new Promise<void>((r) => (this.log ? this.log.end(r) : r()));
    this.log = null;
  }

  // ----------------------------------------------------------------------------------

  private pump(): void {
    if (this.current || this.closed || this.queue.length === 0) return;
    if (!this.ready) {
      this.started().then(
        () => this.pump(),
        (e: Error) => {
          const err = e instanceof WorkerError ? e : new WorkerError('spawn_failed', e.message);
          for (const p of this.queue.splice(0)) this.settle(p, err);
        },
      );
      return;
    }
    const p = this.queue.shift()!;
    this.send(p);
  }

  private send(p: Pending): void {
    this.current = p;
    p.timer = setTimeout(() => {
      const pid = this.child?.pid;
      this.settle(p, new WorkerError('timeout', `${p.verb} (${p.id}) took longer than ${p.timeoutMs} ms; the policy worker (pid ${pid}) was killed and is being replaced`));
      this.killCurrentChild();
    }, p.timeoutMs);
    p.timer.unref?.();
    this.child!.stdin!.write(`${JSON.stringify({ id: p.id, verb: p.verb, args: p.args })}\n`);
  }

  private abort(p: Pending): void {
    const i = this.queue.indexOf(p);
    if (i >= 0) {
      this.queue.splice(i, 1);
      this.settle(p, new WorkerError('aborted', `${p.verb} aborted before it was sent`));
    } else if (this.current === p) {
      // The worker cannot be interrupted mid-step: replace it.
      this.settle(p, new WorkerError('aborted', `${p.verb} (${p.id}) aborted; the policy worker was killed and is being replaced`));
      this.killCurrentChild();
    }
  }

  private killCurrentChild(): void {
    const c = this.child;
    if (c && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }

  private settle(p: Pending, err: Error | null, value?: unknown): void {
    if (p.timer) clearTimeout(p.timer);
    p.timer = undefined;
    if (p.signal && p.onAbort) p.signal.removeEventListener('abort', p.onAbort);
    const was = p.resolve;
    // Settle once: later calls (a timeout racing an exit) are no-ops.
    p.resolve = () => {};
    const rej = p.reject;
    p.reject = () => {};
    if (err) rej(err);
    else was(value);
  }

  /** Resolves when the worker is ready, spawning it if none runs. */
  started(): Promise<void> {
    if (this.ready) return Promise.resolve();
    if (!this.starting) {
      this.starting = this.spawnWorker().finally(() => {
        this.starting = null;
      });
    }
    return this.starting;
  }

  private stderrTail(): string {
    return this.stderrBuf.trim();
  }

  private async spawnWorker(): Promise<void> {
    const python = this.opts.python ?? (await findPython()).path;
    if (this.closed) throw new WorkerError('closed', 'the policy worker was closed');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PYTHONUNBUFFERED: '1',
      PYTHONDONTWRITEBYTECODE: '1',
      // Busy-waiting OpenMP threads fight every other process on a small shared machine.
      OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE',
      ...(this.opts.threads ? { LOOPTOOL_TORCH_THREADS: String(this.opts.threads) } : {}),
      ...this.opts.env,
    };
    const child = spawn(python, [WORKER_MAIN], { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.child = child;
    this.ready = false;
    this.stderrBuf = '';
    live.add(child);
    const isRestart = this.everStarted;
    this.log?.write(`--- policy worker pid ${child.pid} (${python}) started ${new Date().toISOString()}\n`);

    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    const readyP = new Promise<void>((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    let fatal: string | null = null;

    let buf = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim()) this.onLine(child, line, readyResolve, (m) => (fatal = m));
      }
    });
    let errLine = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      this.log?.write(chunk);
      this.stderrBuf = (this.stderrBuf + chunk).slice(-TAIL_BYTES);
      errLine += chunk;
      let nl: number;
      while ((nl = errLine.indexOf('\n')) >= 0) {
        this.emit('stderr', errLine.slice(0, nl));
        errLine = errLine.slice(nl + 1);
      }
    });
    child.stdin!.on('error', () => {
      /* EPIPE after a crash: the exit handler reports it */
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      live.delete(child);
      readyReject(new WorkerError('spawn_failed', `could not start the policy worker with ${python}: ${e.message}`));
    });
    child.on('exit', (code, signal) => {
      live.delete(child);
      const exit: ExitInfo = { pid: child.pid, code, signal, stderrTail: this.stderrTail() };
      readyReject(
        new WorkerError(
          'spawn_failed',
          `the policy worker (${python} ${WORKER_MAIN}) exited before it was ready (${describeExit(code, signal)})` +
            (fatal ? `: ${fatal}` : '') +
            (exit.stderrTail ? `\n--- stderr ---\n${exit.stderrTail}` : ''),
          { exit },
        ),
      );
      this.onExit(child, exit);
    });

    const timer = setTimeout(() => {
      readyReject(new WorkerError('spawn_failed', `the policy worker did not become ready in ${this.opts.startTimeoutMs} ms`));
      child.kill('SIGKILL');
    }, this.opts.startTimeoutMs);
    try {
      await readyP;
    } finally {
      clearTimeout(timer);
    }
    this.ready = true;
    this.everStarted = true;
    if (isRestart) {
      let replayed: 'load' | 'restore' | null = null;
      let error: string | undefined;
      if (this.opts.replay && this.lastModel) {
        const { verb, args } = this.lastModel;
        try {
          await this.direct(verb, args);
          replayed = verb;
        } catch (e) {
          error = (e as Error).message;
        }
      }
      this.emit('restarted', { pid: child.pid, restarts: this.restarts, replayed, args: replayed ? this.lastModel?.args : undefined, error });
    }
  }

  /** Sends a request outside the queue (replay after a restart, before the queue resumes). */
  private direct(verb: WorkerVerb, args: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const p: Pending = { id: `r${++this.seq}`, verb, args, timeoutMs: this.opts.timeouts?.[verb] ?? DEFAULT_TIMEOUTS[verb], resolve, reject };
      this.send(p);
    });
  }

  private onLine(child: ChildProcess, line: string, onReady: () => void, onFatal: (m: string) => void): void {
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      // Not ours (the worker routes prints to stderr, but be tolerant): keep it in the log.
      this.log?.write(`[stdout, not protocol] ${line}\n`);
      return;
    }
    const r = WorkerLine.safeParse(obj);
    if (!r.success) {
      this.emit('protocol_error', { line: line.slice(0, 500), issues: describeIssues(r.error) });
      return;
    }
    const msg = r.data;
    if ('event' in msg) {
      if (msg.event === 'ready') {
        this.info = msg as Record<string, unknown>;
        this.emit('ready', msg);
        onReady();
      } else if (msg.event === 'started') {
        this.emit('started', { id: String(msg.id), verb: msg.verb, pid: child.pid });
      } else if (msg.event === 'fatal') {
        onFatal(`${msg.error.type}: ${msg.error.message}`);
      }
      return;
    }
    const p = this.current;
    if (!p || msg.id === null || String(msg.id) !== p.id) {
      this.emit('protocol_error', { line: line.slice(0, 500), message: 'a response that answers no pending request' });
      return;
    }
    this.current = null;
    if (msg.ok) {
      const schema = WorkerVerbs[p.verb].result;
      const res = schema.safeParse(msg.result);
      if (!res.success) {
        this.settle(p, new WorkerError('invalid_output', `the worker's ${p.verb} result does not match the protocol`, { issues: describeIssues(res.error, 'result') }));
      } else {
        this.remember(p, res.data);
        this.settle(p, null, res.data);
      }
    } else {
      this.settle(p, new WorkerError(msg.error.type, `policy worker ${p.verb}: ${msg.error.message}`));
    }
    this.pump();
  }

  /** Tracks the model state a replacement worker should start from. */
  private remember(p: Pending, result: unknown): void {
    if (p.verb === 'load') this.lastModel = { verb: 'load', args: p.args };
    else if (p.verb === 'restore') this.lastModel = { verb: 'restore', args: p.args };
    else if (p.verb === 'save') this.lastModel = { verb: 'restore', args: { path: (result as { path: string }).path, optimizer: true } };
  }

  private onExit(child: ChildProcess, exit: ExitInfo): void {
    if (child !== this.child) return;
    this.child = null;
    const wasReady = this.ready;
    this.ready = false;
    const p = this.current;
    this.current = null;
    if (p) {
      exit.verb = p.verb;
      exit.requestId = p.id;
    }
    this.log?.write(`--- policy worker pid ${exit.pid} exited (${describeExit(exit.code, exit.signal)}) ${new Date().toISOString()}\n`);
    this.emit('exit', exit);
    if (p) {
      this.settle(
        p,
        new WorkerError(
          'worker_died',
          `the policy worker (pid ${exit.pid}) died while serving ${p.verb} (${p.id}): ${describeExit(exit.code, exit.signal)}` +
            (exit.stderrTail ? `\n--- stderr tail ---\n${exit.stderrTail.slice(-2000)}` : ''),
          { exit },
        ),
      );
    }
    if (this.closed || this.expectedExit.has(child) || !wasReady) return;
    // A crash (or a kill after a timeout): replace the worker, unless it keeps dying.
    const now = Date.now();
    this.crashes = this.crashes.filter((t) => now - t < this.opts.restartWindowMs);
    this.crashes.push(now);
    if (this.crashes.length > this.opts.maxRestarts) {
      const err = new WorkerError(
        'worker_died',
        `the policy worker died ${this.crashes.length} times in ${this.opts.restartWindowMs} ms; not restarting it (last: ${describeExit(exit.code, exit.signal)})`,
        { exit, retryable: false },
      );
      for (const q of this.queue.splice(0)) this.settle(q, err);
      this.crashes = [];
      return;
    }
    this.restarts++;
    this.started().then(
      () => this.pump(),
      (e: Error) => {
        for (const q of this.queue.splice(0)) this.settle(q, e);
      },
    );
  }
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  // a worker nobody signalled is most often taken by the kernel's out-of-memory killer
  if (signal === 'SIGKILL') return 'killed by SIGKILL (if nothing here sent it, most likely the kernel\'s out-of-memory killer: see `dmesg`, and give the worker more memory or shorter batches)';
  if (signal) return `killed by ${signal}`;
  return `exit code ${code}`;
}
