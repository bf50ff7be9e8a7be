import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import type { Logger } from '../../protocols/role.ts';
import { traceSubject } from '../../protocols/trace.ts';
import { liveRunState, type LiveRun } from '../live-runs.ts';
import { processAlive } from '../process.ts';
import { openStore } from '../bus/trace-locate.ts';
import { traceFeed } from '../bus/trace-stream.ts';

/** How a watched run ended, as the page and the CLI report it. */
export const RunEnd = z.object({ status: z.enum(['finished', 'failed']), reason: z.string().optional(), at: z.number() });
export type RunEnd = z.infer<typeof RunEnd>;

// The loop's last state event (runtime/loop/driver.ts): { to: 'done' | 'failed', error? }.
const LoopEnd = z.object({ to: z.enum(['done', 'failed']), error: z.string().optional() });

export type RunWatchOptions = {
  nc: NatsConnection;
  live: boolean;
  run?: string;
  /** the registry record of the live run: its withdrawal (or its process dying) ends the run */
  liveRun?: LiveRun;
  /** the run's directory: once its own embedded bus is gone, its store is served from here */
  dir?: string;
  log?: Logger;
  /** told once, when the run ends */
  onEnd?: (end: RunEnd) => void;
  pollMs?: number;
};

/**
 * What the viewer reads from, and whether that is still live: it notices when the
 * watched run ends (its registry record withdrawn or its process gone, or the loop's
 * final state on a shared bus), tells the listeners once, and moves to the run's store
 * when the run's own nats-server went with it, so the page can still page back. A lost
 * connection is logged once when lost and once when back, not once per retry.
 */
export class RunWatch {
  nc: NatsConnection;
  live: boolean;
  ended: RunEnd | undefined;
  connection: 'ok' | 'lost' = 'ok';
  private loopEnd: z.infer<typeof LoopEnd> | undefined;
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private store: { close(): Promise<void> } | undefined;
  private listeners = new Set<(end: RunEnd) => void>();
  private closed = false;

  constructor(private readonly o: RunWatchOptions) {
    this.nc = o.nc;
    this.live = o.live;
    if (!o.live) return;
    this.watchConnection(o.nc);
    if (o.run) void this.watchLoopEnd(o.run);
    if (o.liveRun) {
      const rec = o.liveRun;
      this.timer = setInterval(() => {
        const s = liveRunState(rec);
        if (s !== 'live') void this.end(s === 'gone' && !this.loopEnd ? { status: 'failed', reason: `process ${rec.pid} (${rec.command}) exited without closing the run` } : undefined);
      }, o.pollMs ?? 500);
    }
  }

  /** Called with the run's end, at once when it has already ended. */
  onEnd(fn: (end: RunEnd) => void): () => void {
    if (this.ended) {
      fn(this.ended);
      return () => undefined;
    }
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private async watchLoopEnd(run: string): Promise<void> {
    try {
      for await (const item of traceFeed(this.nc, { subject: traceSubject(run, 'loop', 'state'), follow: true, signal: this.abort.signal })) {
        if (!('events' in item)) continue;
        for (const e of item.events) {
          const end = LoopEnd.safeParse(e.data);
          if (end.success) this.loopEnd = end.data;
        }
        // On a shared bus nothing else says the run is over; with a registry record, its withdrawal does.
        if (this.loopEnd && !this.o.liveRun) void this.end();
      }
    } catch {
      // the bus went away: the registry (or the connection watch) tells what happened
    }
  }

  private watchConnection(nc: NatsConnection): void {
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect' && this.connection === 'ok') {
          this.connection = 'lost';
          // the end of a run with its own server looks like this too: not worth a warning
          if (!this.ended && !(this.o.liveRun && liveRunState(this.o.liveRun) !== 'live')) this.o.log?.warn(`view: lost the connection to the bus; retrying`);
        } else if (s.type === 'reconnect' && this.connection === 'lost') {
          this.connection = 'ok';
          if (!this.ended) this.o.log?.info('view: connection to the bus is back');
        }
      }
    })().catch(() => undefined);
  }

  private async end(over?: RunEnd | Omit<RunEnd, 'at'>): Promise<void> {
    if (this.ended) return;
    const l = this.loopEnd;
    const base = over ?? (l?.to === 'failed' ? { status: 'failed' as const, reason: l.error ?? 'the loop failed' } : { status: 'finished' as const });
    this.ended = { ...base, at: Date.now() };
    this.live = false;
    if (this.timer) clearInterval(this.timer);
    this.o.onEnd?.(this.ended);
    for (const fn of this.listeners) fn(this.ended);
    this.listeners.clear();
    if (this.o.liveRun?.embedded && this.o.dir) await this.moveToStore(this.o.dir);
  }

  /** The run's own server stops with it: read its store instead (retried while that server lets go of it). */
  private async moveToStore(dir: string): Promise<void> {
    const old = this.nc;
    // Never a second server on a store in use: wait until the run's own server is gone.
    const pid = this.o.liveRun!.pid;
    for (let i = 0; i < 100 && this.connection === 'ok' && !old.isClosed() && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    if (this.connection === 'ok' && !old.isClosed() && processAlive(pid)) return;
    for (let i = 0; i < 20 && !this.abort.signal.aborted; i++) {
      try {
        const opened = await openStore(dir);
        if (!opened) return;
        if (this.closed) return void (await opened.close());
        this.store = opened;
        this.nc = opened.nc;
        this.connection = 'ok';
        this.abort.abort();
        if (!old.isClosed()) await old.close().catch(() => undefined);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    if (this.timer) clearInterval(this.timer);
    await this.store?.close();
  }
}
