import type { NatsConnection } from '@nats-io/transport-node';
import type { AnyRoleImpl, CallFn, Logger } from '../../protocols/role.ts';
import { Namespace } from '../../protocols/envelope.ts';
import { TraceBatch, traceSubject, type TraceEvent, type TraceKind } from '../../protocols/trace.ts';
import { decodeJson } from './codec.ts';
import { LooptoolError, parseOrThrow } from '../../protocols/errors.ts';
import { describeBusEvent, openBus, type Bus, type BusConfig, type BusEvent } from './connect.ts';
import { ensureTraceStream } from './trace-stream.ts';
import { TracePublisher, type TraceInput } from './trace-publisher.ts';
import { BusClient } from './client.ts';
import { RoleHost } from './host.ts';
import { childLogger, logToRunDir } from '../log.ts';
import { announceLiveRun, publicUrl } from '../live-runs.ts';

export type NodeOptions = {
  run: string;
  runDir: string;
  /**
   * Namespace of the request subjects this node serves and calls: by default
   * LOOPTOOL_NAMESPACE, else the run id (a run's roles serve only that run).
   */
  namespace?: string;
  /** what a person does to continue after the bus went away (default: by command) */
  resumeHint?: string;
  /** bus events (disconnects, reconnects, the bus gone); default: a line on stderr each */
  onBus?: (e: BusEvent) => void;
  bus?: BusConfig;
  /** reuse an open connection instead of opening one (tests, benchmarks) */
  nc?: NatsConnection;
  config?: Record<string, unknown>;
  log?: Logger;
  /**
   * Announce the run in the live-run registry (runs/.live) while this node is up, so
   * `view` and `trace --follow` find it. On by default for a node that opens its own
   * bus; `agent` turns it off (it joins a run someone else announced).
   */
  announce?: boolean;
};

/**
 * One process's share of a run: a bus connection (embedded server or cluster), the
 * trace publisher, a client for calling roles, and the role hosts it serves.
 *
 * The bus as the rest of looptool uses it is these four: `call` a role, `serve` roles,
 * `publish` trace events, `watchTraces` of a role live (stored traces: trace-stream.ts).
 */
export class LooptoolNode {
  readonly hosts: RoleHost[] = [];
  /** Calls a role of this node's namespace over the bus (validated both ways, retried, traced). */
  readonly call: CallFn;
  private constructor(
    readonly run: string,
    readonly namespace: string,
    readonly runDir: string,
    readonly nc: NatsConnection,
    readonly tracer: TracePublisher,
    readonly client: BusClient,
    readonly log: Logger,
    private readonly bus: Bus | undefined,
    private readonly config: Record<string, unknown>,
    private readonly withdraw: (() => void) | undefined,
  ) {
    this.call = client.call;
  }

  /** Publishes a trace event under this run (batched; stored in the trace stream). */
  publish(e: TraceInput): void {
    this.tracer.emit(e);
  }

  static async start(opts: NodeOptions): Promise<LooptoolNode> {
    const namespace = namespaceOf(opts);
    const onBus = opts.onBus ?? ((e: BusEvent) => process.stderr.write(`${describeBusEvent(e)}\n`));
    const bus = opts.nc ? undefined : await openBus({ runDir: opts.runDir, config: opts.bus, resumeHint: opts.resumeHint ?? resumeHintFor(opts.runDir), onEvent: onBus });
    const nc = opts.nc ?? bus!.nc;
    try {
      await ensureTraceStream(nc);
    } catch (err) {
      // a bus opened here and left open (a connection retrying, an embedded server) would
      // keep the command alive after it reported the error: a script waiting on it never ends
      await bus?.close();
      throw err;
    }
    const tracer = new TracePublisher(nc, opts.run);
    const client = new BusClient(nc, { run: opts.run, namespace, from: 'client', tracer });
    // logs of a process working in a run directory go to its log file, not into the terminal's output
    logToRunDir(opts.runDir);
    const log = opts.log ?? childLogger({ run: opts.run });
    const withdraw = bus && opts.announce !== false ? announceLiveRun({ run: opts.run, dir: opts.runDir, url: bus.url, embedded: !!bus.embedded, namespace }) : undefined;
    return new LooptoolNode(opts.run, namespace, opts.runDir, nc, tracer, client, log, bus, opts.config ?? {}, withdraw);
  }

  /** The bus URL as it may be printed: without user, password or token (connections use the bus config). */
  get url(): string | undefined {
    return this.bus ? publicUrl(this.bus.url) : undefined;
  }

  get embedded(): boolean {
    return !!this.bus?.embedded;
  }

  /**
   * Resolves with the error every call fails with once the bus this node opened is gone for
   * good (the embedded server died, an external one stayed unreachable); never for a bus
   * passed in (`nc`).
   */
  get lost(): Promise<LooptoolError> {
    return this.bus?.lost ?? new Promise<never>(() => undefined);
  }

  /**
   * Calls `onEvent` with each live trace event that `role` publishes under this run with one
   * of `kinds` (core subscription: nothing replayed, nothing stored); returns the unsubscribe.
   */
  watchTraces(role: string, kinds: readonly TraceKind[], onEvent: (e: TraceEvent) => void): () => void {
    const subs = kinds.map((kind) =>
      this.nc.subscribe(traceSubject(this.run, role, kind), {
        callback: (err, msg) => {
          if (err) return;
          const d = decodeJson(msg.data);
          const batch = d.ok ? TraceBatch.safeParse(d.value) : undefined;
          if (batch?.success) for (const e of batch.data.events) onEvent(e);
        },
      }),
    );
    return () => {
      for (const s of subs) s.unsubscribe();
    };
  }

  /** Serves `role` with `replicas` hosts in this process (more hosts may join from elsewhere). */
  async serve(role: AnyRoleImpl, opts: { replicas?: number; concurrency?: number; maxQueue?: number; signal?: AbortSignal } = {}): Promise<RoleHost[]> {
    const started: RoleHost[] = [];
    for (let r = 0; r < (opts.replicas ?? 1); r++) {
      const host = await RoleHost.start(role, {
        nc: this.nc,
        run: this.run,
        namespace: this.namespace,
        runDir: this.runDir,
        config: this.config,
        tracer: this.tracer,
        log: this.log,
        concurrency: opts.concurrency,
        maxQueue: opts.maxQueue,
        replica: r,
        signal: opts.signal,
      });
      started.push(host);
    }
    this.hosts.push(...started);
    return started;
  }

  /**
   * Stops serving, then closes the bus. Requests in flight get `graceMs` (the hosts'
   * default, 10 s) to finish; an interrupted command passes 0 so that a hung call (an
   * LLM endpoint that never answers) is aborted at once instead of holding Ctrl-C up.
   */
  async stop(opts: { graceMs?: number } = {}): Promise<void> {
    await Promise.all(this.hosts.map((h) => h.stop(opts.graceMs)));
    await this.tracer.close().catch(() => undefined);
    if (this.tracer.dropped) this.log.warn(`trace: ${this.tracer.dropped} event(s) of this process could not be stored (see the trace's limits in docs/cluster.md)`);
    // withdrawn before the bus closes: a watcher learns the run ended before it loses the connection
    this.withdraw?.();
    await this.bus?.close();
  }
}

/** The namespace a node uses: given, else LOOPTOOL_NAMESPACE, else its run id; checked as one subject token. */
export function namespaceOf(opts: { run: string; namespace?: string }): string {
  const given = opts.namespace ?? (process.env.LOOPTOOL_NAMESPACE || undefined);
  if (given === undefined) return opts.run;
  return parseOrThrow(Namespace, given, opts.namespace !== undefined ? 'namespace' : 'LOOPTOOL_NAMESPACE');
}

/** How a run of this command continues after the bus went away. */
function resumeHintFor(runDir: string): string {
  const cmd = process.argv[2];
  if (cmd === 'run' || cmd === 'resume') return `resume it with \`looptool resume ${runDir}\``;
  return 'run the same command again to continue (finished work is not redone)';
}
