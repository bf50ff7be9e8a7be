import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { newId } from '../../protocols/ids.ts';
import { TraceEvent, traceSubject, type TraceKind } from '../../protocols/trace.ts';
import { encodeJson } from './codec.ts';
import { retryFor } from './retry.ts';
import { TRACE_DUPLICATE_WINDOW_MS } from './trace-stream.ts';

/**
 * How long an acked batch is published again before it is given up (and counted in
 * `dropped`): long enough to outlast a leader election on a loaded machine (seconds, at
 * times tens of them), and inside the trace stream's duplicate window (with room for the
 * last attempt's own timeout), so a batch stored by an attempt whose acknowledgement was
 * lost is still recognised, not stored twice.
 */
export const ACKED_RETRY_MS = TRACE_DUPLICATE_WINDOW_MS - 30_000;

export type TraceInput = Omit<TraceEvent, 'id' | 'ts' | 'run'> & { run?: string; ts?: number };

/**
 * Publishes trace events in small batches (one NATS message per subject per flush),
 * so tracing every request, reply and state change costs little on the hot path.
 * Events are validated before they leave; a bad one is logged and dropped, never sent.
 * A batch is flushed every `flushMs` (20) or at `maxBatch` (1,024) events, and a batch
 * larger than the server takes (its max_payload: 1 MB unless configured) goes as several
 * messages; an event larger than that alone is dropped (and counted), never thrown at the
 * code that emitted it.
 *
 * `acked` (on by default when the server is part of a cluster): each batch goes to the
 * trace stream as a JetStream publish with a message id, and is published again until
 * the stream acknowledges it (for up to ACKED_RETRY_MS); the stream drops a repeated id,
 * so a batch in flight when a node dies is neither lost nor stored twice. On a single
 * server a plain publish is enough (the server is the store; when it dies the run ends).
 * `close` waits for the batches still being published, up to ACKED_RETRY_MS.
 */
export class TracePublisher {
  private pending = new Map<string, TraceEvent[]>();
  private count = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly idPrefix = `${newId()}-`;
  private seq = 0;
  /** this run's subjects by role and kind, made once: a fresh string per event cost a hash per event */
  private subjects = new Map<string, Map<string, string>>();
  /** events not sent: invalid, alone larger than the server takes, or (acked) never acknowledged */
  dropped = 0;
  /** batches sent again after a failed or unacknowledged publish (acked mode) */
  republished = 0;
  private readonly js: JetStreamClient | undefined;
  private batchSeq = 0;
  private inflight = new Set<Promise<void>>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly run: string,
    private readonly opts: { flushMs?: number; maxBatch?: number; validate?: boolean; acked?: boolean } = {},
  ) {
    if (opts.acked ?? !!nc.info?.cluster) this.js = jetstream(nc);
  }

  emit(e: TraceInput): void {
    // One fixed shape for every event (no spread, no per-event random id): several events
    // are traced per request on the bus's hot path, and this keeps each to a few
    // hundred nanoseconds and their serialisation on V8's fast path.
    const event: TraceEvent = {
      id: `${this.idPrefix}${(++this.seq).toString(36)}`,
      run: e.run ?? this.run,
      role: e.role,
      kind: e.kind,
      ts: e.ts ?? Date.now(),
      actor: e.actor,
      verb: e.verb,
      trace: e.trace,
      msg: e.msg,
      parent: e.parent,
      data: e.data,
    };
    if (this.opts.validate && !TraceEvent.safeParse(event).success) {
      this.dropped++;
      return;
    }
    const subject = this.subjectFor(event.run, event.role, event.kind);
    let list = this.pending.get(subject);
    if (!list) this.pending.set(subject, (list = []));
    list.push(event);
    this.count++;
    // 1,024 rather than fewer: in a cluster every batch is a replicated JetStream write, and
    // at 256 the bus benchmark's host path ran at 0.48x raw NATS through three servers, 0.57x at 1,024
    if (this.count >= (this.opts.maxBatch ?? 1024)) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.opts.flushMs ?? 20);
  }

  private subjectFor(run: string, role: string, kind: TraceKind): string {
    if (run !== this.run) return traceSubject(run, role, kind);
    let byKind = this.subjects.get(role);
    if (!byKind) this.subjects.set(role, (byKind = new Map()));
    let subject = byKind.get(kind);
    if (!subject) byKind.set(kind, (subject = traceSubject(run, role, kind)));
    return subject;
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.count === 0 || this.nc.isClosed()) return;
    for (const [subject, events] of this.pending) {
      for (const [data, n] of this.messages(events)) {
        if (this.js) this.publishAcked(subject, data, `${this.idPrefix}b${(++this.batchSeq).toString(36)}`, n);
        else this.nc.publish(subject, data);
      }
    }
    this.pending.clear();
    this.count = 0;
  }

  /** One subject's events as messages within the server's payload limit (halves until each fits). */
  private *messages(events: TraceEvent[]): Generator<[Uint8Array, number]> {
    const data = encodeJson({ events });
    // room for the headers of an acked publish (its message id)
    if (data.length <= (this.nc.info?.max_payload ?? 1024 * 1024) - 1024) {
      yield [data, events.length];
    } else if (events.length === 1) {
      this.dropped++;
    } else {
      const half = events.length >> 1;
      yield* this.messages(events.slice(0, half));
      yield* this.messages(events.slice(half));
    }
  }

  private publishAcked(subject: string, data: Uint8Array, msgID: string, events: number): void {
    const js = this.js!;
    const p = retryFor(() => js.publish(subject, data, { msgID, timeout: 5000 }), {
      forMs: ACKED_RETRY_MS,
      retryIf: () => !this.nc.isClosed(),
      onRetry: () => this.republished++,
    }).then(
      () => undefined,
      () => void (this.dropped += events),
    );
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  /** Flushes and waits until the server has the events (in acked mode: until the stream acknowledged them). */
  async close(): Promise<void> {
    this.flush();
    if (this.inflight.size) await Promise.all([...this.inflight]);
    if (!this.nc.isClosed()) await this.nc.flush();
  }
}
