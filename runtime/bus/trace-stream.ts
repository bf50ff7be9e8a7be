import { jetstreamManager, DeliverPolicy, StorageType, RetentionPolicy, DiscardPolicy } from '@nats-io/jetstream';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { TRACE_ROOT, TRACE_STREAM, TraceBatch, traceFilter, type TraceEvent } from '../../protocols/trace.ts';
import { decodeJson } from './codec.ts';

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
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.info(TRACE_STREAM);
  } catch {
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
        duplicate_window: 2 * 60 * 1e9,
      });
    } catch (err) {
      // Another process may have created it between our info and add.
      await jsm.streams.info(TRACE_STREAM).catch(() => {
        throw err;
      });
    }
  }
}

export type ReadTraceOptions = { run?: string; role?: string; follow?: boolean; signal?: AbortSignal };

/**
 * Yields trace events stored for a run/role, oldest first; with `follow`, keeps
 * yielding live events until aborted.
 */
export async function* readTrace(nc: NatsConnection, opts: ReadTraceOptions): AsyncGenerator<TraceEvent> {
  const js = jetstream(nc);
  // Right after a cluster node is lost the replicated stream elects a new leader; the
  // consumer request times out until it has one, so it is asked again a few times.
  const consumer = await withElectionRetries(() =>
    js.consumers.get(TRACE_STREAM, {
      filter_subjects: traceFilter(opts.run, opts.role),
      deliver_policy: DeliverPolicy.All,
    }),
  );
  const info = await withElectionRetries(() => consumer.info(true));
  let remaining = info.num_pending;
  if (!opts.follow && remaining === 0) return;
  const messages = await consumer.consume();
  const stop = () => void messages.close();
  opts.signal?.addEventListener('abort', stop, { once: true });
  try {
    for await (const m of messages) {
      const decoded = decodeJson(m.data);
      if (decoded.ok) {
        const batch = TraceBatch.safeParse(decoded.value);
        if (batch.success) yield* batch.data.events;
      }
      remaining = m.info.pending;
      if (!opts.follow && remaining === 0) break;
    }
  } finally {
    opts.signal?.removeEventListener('abort', stop);
    await messages.close();
  }
}

async function withElectionRetries<T>(ask: () => Promise<T>, tries = 6): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await ask();
    } catch (err) {
      if (i >= tries || (err as Error).name !== 'TimeoutError') throw err;
      await new Promise((r) => setTimeout(r, 500 * i));
    }
  }
}
