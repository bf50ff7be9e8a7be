import type { NatsConnection } from '@nats-io/transport-node';
import type { AnyRoleImpl, Logger } from '../protocols/role.ts';
import { openBus, type Bus, type BusConfig } from './nats/connect.ts';
import { ensureTraceStream } from './trace/stream.ts';
import { TracePublisher } from './trace/publisher.ts';
import { BusClient } from './host/client.ts';
import { RoleHost } from './host/host.ts';
import { childLogger, logToRunDir } from './log.ts';
import { announceLiveRun, publicUrl } from './live-runs.ts';

export type NodeOptions = {
  run: string;
  runDir: string;
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
 */
export class LooptoolNode {
  readonly hosts: RoleHost[] = [];
  private constructor(
    readonly run: string,
    readonly runDir: string,
    readonly nc: NatsConnection,
    readonly tracer: TracePublisher,
    readonly client: BusClient,
    readonly log: Logger,
    private readonly bus: Bus | undefined,
    private readonly config: Record<string, unknown>,
    private readonly withdraw: (() => void) | undefined,
  ) {}

  static async start(opts: NodeOptions): Promise<LooptoolNode> {
    const bus = opts.nc ? undefined : await openBus({ runDir: opts.runDir, config: opts.bus });
    const nc = opts.nc ?? bus!.nc;
    await ensureTraceStream(nc);
    const tracer = new TracePublisher(nc, opts.run);
    const client = new BusClient(nc, { run: opts.run, from: 'client', tracer });
    // logs of a process working in a run directory go to its log file, not into the terminal's output
    logToRunDir(opts.runDir);
    const log = opts.log ?? childLogger({ run: opts.run });
    const withdraw = bus && opts.announce !== false ? announceLiveRun({ run: opts.run, dir: opts.runDir, url: bus.url, embedded: !!bus.embedded }) : undefined;
    return new LooptoolNode(opts.run, opts.runDir, nc, tracer, client, log, bus, opts.config ?? {}, withdraw);
  }

  /** The bus URL as it may be printed: without user, password or token (connections use the bus config). */
  get url(): string | undefined {
    return this.bus ? publicUrl(this.bus.url) : undefined;
  }

  get embedded(): boolean {
    return !!this.bus?.embedded;
  }

  /** Serves `role` with `replicas` hosts in this process (more hosts may join from elsewhere). */
  async serve(role: AnyRoleImpl, opts: { replicas?: number; concurrency?: number; maxQueue?: number } = {}): Promise<RoleHost[]> {
    const started: RoleHost[] = [];
    for (let r = 0; r < (opts.replicas ?? 1); r++) {
      const host = await RoleHost.start(role, {
        nc: this.nc,
        run: this.run,
        runDir: this.runDir,
        config: this.config,
        tracer: this.tracer,
        log: this.log,
        concurrency: opts.concurrency,
        maxQueue: opts.maxQueue,
        replica: r,
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
    // withdrawn before the bus closes: a watcher learns the run ended before it loses the connection
    this.withdraw?.();
    await this.bus?.close();
  }
}
