import { jetstream, jetstreamManager, DeliverPolicy, StorageType, RetentionPolicy, DiscardPolicy, JetStreamApiError, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { TRACE_ROOT, TRACE_STREAM, TraceBatch, traceFilter, type TraceEvent } from '../../protocols/trace.ts';
import { decodeJson } from './codec.ts';
import { retryFor } from './retry.ts';

/** How long the trace stream remembers a batch's id, so a batch published again is stored once. */
export const TRACE_DUPLICATE_WINDOW_MS = 120_000;

/**
 * How many copies of the trace stream a new one gets: LOOPTOOL_TRACE_REPLICAS, else on a
 * cluster as many nodes as it has up to 3 (the stream survives a node's loss), else 1.
 */
export function traceReplicas(nc: NatsConnection): number {
  const env = Number(process.env.LOOPTOOL_TRACE_REPLICAS);
  if (Number.isInteger(env) && env >= 1 && env <= 5) return env;
  if (!nc.info?.cluster) return 1;
  return Math.max(1, Math.min(3, new Set(nc.info.connect_urls ?? []).size));
}

/** Creates the trace stream if it is missing (idempotent; safe from many processes). */
export async function ensureTraceStream(nc: NatsConnection, opts: { replicas?: number } = {}): Promise<void> {
  try {
    await traceStreamInfo(nc);
  } catch {
    const jsm = await jetstreamManager(nc);
    try {
      await jsm.streams.add({
        name: TRACE_STREAM,
        subjects: [`${TRACE_ROOT}.>`],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        max_age: 7 * 24 * 3600 * 1e9,
        max_bytes: 2 * 1024 ** 3,
        num_replicas: opts.replicas ?? traceReplicas(nc),
        // a batch published again (after a node failed under it) is stored once
        duplicate_window: TRACE_DUPLICATE_WINDOW_MS * 1e6,
      });
    } catch (err) {
      // Another process may have created it between our info and add.
      await jsm.streams.info(TRACE_STREAM).catch(() => {
        throw err;
      });
    }
  }
}

/** A stored batch (with when the stream stored it, ms), or the mark that what follows is live. */
export type FeedItem = { events: TraceEvent[]; storedAt: number } | { synced: true };

/**
 * The one reader of the trace stream: batches stored under `subject`, oldest first (or
 * from `since`, ms, by when the stream stored them). It says `synced` once everything
 * stored when it started has been delivered (what follows is live), and stops there
 * unless `follow`.
 */
export async function* traceFeed(nc: NatsConnection, opts: { subject: string; follow: boolean; since?: number; signal?: AbortSignal }): AsyncGenerator<FeedItem> {
  const js = jetstream(nc);
  const consumer = await withElectionRetries(() =>
    js.consumers.get(
      TRACE_STREAM,
      opts.since === undefined
        ? { filter_subjects: opts.subject, deliver_policy: DeliverPolicy.All }
        : { filter_subjects: opts.subject, deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(opts.since).toISOString() },
    ),
  );
  const info = await withElectionRetries(() => consumer.info(true));
  let synced = false;
  if (info.num_pending === 0) {
    synced = true;
    yield { synced: true };
    if (!opts.follow) return;
  }
  const messages = await consumer.consume();
  const stop = () => void messages.close();
  opts.signal?.addEventListener('abort', stop, { once: true });
  try {
    for await (const m of messages) {
      const decoded = decodeJson(m.data);
      if (decoded.ok) {
        const batch = TraceBatch.safeParse(decoded.value);
        if (batch.success) yield { events: batch.data.events, storedAt: m.info.timestampNanos / 1e6 };
      }
      if (!synced && m.info.pending === 0) {
        synced = true;
        yield { synced: true };
        if (!opts.follow) break;
      }
    }
  } finally {
    opts.signal?.removeEventListener('abort', stop);
    await messages.close();
  }
}

export type ReadTraceOptions = { run?: string; role?: string; follow?: boolean; signal?: AbortSignal };

/**
 * Yields trace events stored for a run/role, oldest first; with `follow`, keeps
 * yielding live events until aborted.
 */
export async function* readTrace(nc: NatsConnection, opts: ReadTraceOptions): AsyncGenerator<TraceEvent> {
  for await (const item of traceFeed(nc, { subject: traceFilter(opts.run, opts.role), follow: !!opts.follow, signal: opts.signal })) {
    if ('events' in item) yield* item.events;
  }
}

/** Trace events stored between two times (by when the stream stored them), for paging back. */
export async function readTraceWindow(nc: NatsConnection, subject: string, from: number, to: number): Promise<TraceEvent[]> {
  const out: TraceEvent[] = [];
  for await (const item of traceFeed(nc, { subject, follow: false, since: from })) {
    if (!('events' in item)) continue;
    if (item.storedAt > to) break;
    out.push(...item.events);
  }
  return out;
}

export type StreamSummary = { runs: Record<string, { events: number; roles: Record<string, number>; kinds: Record<string, number> }> };

/** What the trace stream holds, per run, role and kind (batch counts, from the subjects). */
export async function traceSummary(nc: NatsConnection): Promise<StreamSummary> {
  // the manager is made outside the retry, so that a lost bus fails this at once: the
  // viewer's /api/info reports the lost connection with it and must not wait out elections
  const jsm = await jetstreamManager(nc);
  const info = await withElectionRetries(() => jsm.streams.info(TRACE_STREAM, { subjects_filter: `${TRACE_ROOT}.>` }));
  const out: StreamSummary = { runs: {} };
  const prefix = TRACE_ROOT.split('.').length;
  for (const [subject, n] of Object.entries(info.state.subjects ?? {})) {
    const [run, role, kind] = subject.split('.').slice(prefix);
    if (!run || !role || !kind) continue;
    const r = (out.runs[run] ??= { events: 0, roles: {}, kinds: {} });
    r.events += n;
    r.roles[role] = (r.roles[role] ?? 0) + n;
    r.kinds[kind] = (r.kinds[kind] ?? 0) + n;
  }
  return out;
}

/** When the oldest batch the trace stream still holds was stored (ms), if any. */
export async function traceStart(nc: NatsConnection): Promise<number | undefined> {
  const info = await traceStreamInfo(nc);
  return info.state.first_ts ? Date.parse(info.state.first_ts) : undefined;
}

/** The trace stream's configuration and state, asked again while it is between leaders. */
export function traceStreamInfo(nc: NatsConnection): Promise<StreamInfo> {
  return askJetStream(nc, (jsm) => jsm.streams.info(TRACE_STREAM));
}

/**
 * A JetStream API call, asked again while the stream is between leaders. Making the manager
 * is inside the retry: it asks the server for the account's JetStream info first, which
 * times out the same way right after a cluster node is lost (seen in CI: the 3-node test's
 * read after its SIGKILLed node). A lost bus times out the same way too, so this waits for
 * it (up to the retry's 60 s): for callers that can wait (a node's start, a page of older
 * messages), not for a status report.
 */
function askJetStream<T>(nc: NatsConnection, ask: (jsm: JetStreamManager) => Promise<T>): Promise<T> {
  return withElectionRetries(async () => ask(await jetstreamManager(nc)));
}

/**
 * Asks again while the stream is between leaders (right after a cluster node is lost): the
 * request times out, or JetStream answers 503 "temporarily unavailable", until it has one.
 */
function withElectionRetries<T>(ask: () => Promise<T>): Promise<T> {
  return retryFor(ask, { forMs: 60_000, baseMs: 250, retryIf: isElectionError });
}

function isElectionError(err: unknown): boolean {
  return (err as Error).name === 'TimeoutError' || (err instanceof JetStreamApiError && err.status === 503);
}
