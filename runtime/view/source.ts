import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { TRACE_ROOT, TRACE_STREAM, TraceBatch, TraceKind, type TraceEvent } from '../../protocols/trace.ts';
import { describeIssues } from '../../protocols/errors.ts';
import { decodeJson } from '../nats/codec.ts';

/** A subject token: what NATS accepts between dots (no wildcards, no spaces). */
const Token = z.string().regex(/^[^.*>\s]+$/, 'expected one subject token (no dots, spaces or wildcards)');
const commaList = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

/** The filters the page may put on a trace stream, parsed from the query string. */
export const ViewFilter = z.object({
  run: Token.optional(),
  role: commaList.pipe(z.array(Token)).optional().describe('comma-separated roles'),
  kind: commaList.pipe(z.array(TraceKind)).optional().describe('comma-separated kinds'),
  dialogue: z.string().min(1).optional().describe('a trace id, or the `dialogue` field of an event'),
  /** Mailbox slot idle/working changes are most of a busy run's state events; the page rarely wants them. */
  slots: z.enum(['0', '1']).default('1').transform((v) => v === '1'),
  follow: z.enum(['0', '1']).default('1').transform((v) => v === '1'),
  tail: z.coerce.number().int().min(1).max(1_000_000).optional().describe('send only the last N stored events, then live ones'),
  replay: z.coerce.number().positive().max(10_000).optional().describe('pace stored events at this many times their real speed'),
});
export type ViewFilter = z.infer<typeof ViewFilter>;

export class FilterError extends Error {
  constructor(readonly issues: { path: string; message: string }[]) {
    super(`bad filter: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  }
}

export function parseFilter(params: URLSearchParams): ViewFilter {
  const raw: Record<string, string> = {};
  for (const [k, v] of params) if (v !== '') raw[k] = v;
  const r = ViewFilter.safeParse(raw);
  if (!r.success) throw new FilterError(describeIssues(r.error));
  return r.data;
}

/** The narrowest JetStream subject filter for a view filter; the rest is matched per event. */
export function subjectFor(f: ViewFilter): string {
  const one = (xs?: string[]) => (xs && xs.length === 1 ? xs[0]! : '*');
  return `${TRACE_ROOT}.${f.run ?? '*'}.${one(f.role)}.${one(f.kind)}`;
}

const SLOT_STATES = new Set(['idle', 'working']);

function field(data: unknown, key: string): unknown {
  return data && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>)[key] : undefined;
}

/** True for the idle/working changes of a role host's mailbox slot (actor `<host>/<role>/<slot>`). */
export function isSlotState(e: TraceEvent): boolean {
  if (e.kind !== 'state' || !e.actor || e.actor.split('/').length !== 3) return false;
  return SLOT_STATES.has(String(field(e.data, 'to'))) && SLOT_STATES.has(String(field(e.data, 'from')));
}

/** Which dialogue an event belongs to: an explicit `dialogue` field wins over the trace id. */
export function dialogueOf(e: TraceEvent): string | undefined {
  const d = field(e.data, 'dialogue') ?? field(e.data, 'dialogueId');
  return typeof d === 'string' ? d : e.trace;
}

export function matches(f: ViewFilter, e: TraceEvent): boolean {
  if (f.run && e.run !== f.run) return false;
  if (f.role && !f.role.includes(e.role)) return false;
  if (f.kind && !f.kind.includes(e.kind)) return false;
  if (!f.slots && isSlotState(e)) return false;
  if (f.dialogue && dialogueOf(e) !== f.dialogue && e.trace !== f.dialogue) return false;
  return true;
}

export type FeedItem = { events: TraceEvent[] } | { synced: true };

/**
 * Reads trace batches for a subject from the start of the stream. It says `synced`
 * once everything stored when it started has been delivered (the page then knows
 * that what follows is live), and stops there unless `follow`.
 * (runtime/trace/stream.ts `readTrace` yields single events and has no such mark.)
 */
export async function* traceFeed(nc: NatsConnection, opts: { subject: string; follow: boolean; signal: AbortSignal }): AsyncGenerator<FeedItem> {
  const js = jetstream(nc);
  const consumer = await js.consumers.get(TRACE_STREAM, { filter_subjects: opts.subject, deliver_policy: DeliverPolicy.All });
  const info = await consumer.info(true);
  let synced = false;
  if (info.num_pending === 0) {
    synced = true;
    yield { synced: true };
    if (!opts.follow) return;
  }
  const messages = await consumer.consume();
  const stop = () => void messages.close();
  opts.signal.addEventListener('abort', stop, { once: true });
  try {
    for await (const m of messages) {
      const decoded = decodeJson(m.data);
      if (decoded.ok) {
        const batch = TraceBatch.safeParse(decoded.value);
        if (batch.success) yield { events: batch.data.events };
      }
      if (!synced && m.info.pending === 0) {
        synced = true;
        yield { synced: true };
        if (!opts.follow) break;
      }
    }
  } finally {
    opts.signal.removeEventListener('abort', stop);
    await messages.close();
  }
}

export type StreamSummary = { runs: Record<string, { events: number; roles: Record<string, number>; kinds: Record<string, number> }> };

/** What the trace stream holds, per run, role and kind (batch counts, from the subjects). */
export async function summarize(nc: NatsConnection): Promise<StreamSummary> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(TRACE_STREAM, { subjects_filter: `${TRACE_ROOT}.>` });
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
