import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { TRACE_ROOT, TraceKind, type TraceEvent } from '../../protocols/trace.ts';
import { describeIssues } from '../../protocols/errors.ts';
import { readTraceWindow, traceStart } from '../bus/trace-stream.ts';

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
  conversation: z.enum(['0', '1']).default('0').transform((v) => v === '1').describe('only what was said in dialogues (and their verdicts), not the protocol'),
});
export type ViewFilter = z.infer<typeof ViewFilter>;

export class FilterError extends Error {
  constructor(readonly issues: { path: string; message: string }[]) {
    super(`bad filter: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  }
}

/** `omit`: parameters of the endpoint itself, not filters (e.g. `/api/older`'s `before`). */
export function parseFilter(params: URLSearchParams, omit: string[] = []): ViewFilter {
  const raw: Record<string, string> = {};
  for (const [k, v] of params) if (v !== '' && !omit.includes(k)) raw[k] = v;
  const r = ViewFilter.safeParse(raw);
  if (!r.success) throw new FilterError(describeIssues(r.error));
  return r.data;
}

/**
 * Events in the order the page shows them: by time, then by id, so that "before this
 * event" means the same to the page and to the server when many share a millisecond.
 */
export function byTime(a: TraceEvent, b: TraceEvent): number {
  return a.ts - b.ts || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** `/api/older`: the events before an event (its time in ms and id), at most `limit` of them. */
export const OlderPage = z.object({
  before: z.coerce.number().positive(),
  beforeId: z.string().min(1).optional().describe('the id of the oldest event the page has: others of the same millisecond sort by id'),
  limit: z.coerce.number().int().min(1).max(5_000).default(500),
});

export function parsePage(params: URLSearchParams): z.infer<typeof OlderPage> {
  const r = OlderPage.safeParse({ before: params.get('before') ?? undefined, beforeId: params.get('beforeId') || undefined, limit: params.get('limit') || undefined });
  if (!r.success) throw new FilterError(describeIssues(r.error));
  return r.data;
}

/**
 * Who speaks in a dialogue: a person filtering by "user" means what users said, which the
 * trace files under role `dialogue`, kind `message` (the user role's own events are only
 * its requests and replies). These names match both.
 */
export const SPEAKERS = new Set(['user', 'assistant', 'tool', 'system', 'judge']);

/** The narrowest JetStream subject filter for a view filter; the rest is matched per event. */
export function subjectFor(f: ViewFilter): string {
  const one = (xs?: string[]) => (xs && xs.length === 1 ? xs[0]! : '*');
  if (f.conversation) return `${TRACE_ROOT}.${f.run ?? '*'}.dialogue.*`;
  // a speaker's words live under `dialogue`: the role token cannot narrow the subject
  const role = f.role?.some((r) => SPEAKERS.has(r)) ? '*' : one(f.role);
  return `${TRACE_ROOT}.${f.run ?? '*'}.${role}.${one(f.kind)}`;
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

/** Whether an event is part of dialogue `id`: it names the dialogue, or carries its id as its trace. */
export function inDialogue(e: TraceEvent, id: string): boolean {
  return dialogueOf(e) === id || e.trace === id;
}

/** The speaker of a dialogue event: a message's role, or `judge` for the dialogue's verdict. */
export function speakerOf(e: TraceEvent): string | undefined {
  if (e.role !== 'dialogue') return undefined;
  if (e.kind === 'message') {
    const role = field(field(e.data, 'message'), 'role');
    return typeof role === 'string' ? role : undefined;
  }
  return e.kind === 'progress' && typeof field(e.data, 'status') === 'string' ? 'judge' : undefined;
}

export function matches(f: ViewFilter, e: TraceEvent): boolean {
  if (f.run && e.run !== f.run) return false;
  if (f.conversation && speakerOf(e) === undefined) return false;
  if (f.role && !f.role.includes(e.role)) {
    const who = speakerOf(e);
    if (!who || !f.role.includes(who)) return false;
  }
  if (f.kind && !f.kind.includes(e.kind)) return false;
  if (!f.slots && isSlotState(e)) return false;
  if (f.dialogue && !inDialogue(e, f.dialogue)) return false;
  return true;
}

// A batch is stored a flush (≈20 ms) after its first event: events older than `before`
// may sit in batches stored a little after it.
const STORE_LAG_MS = 2_000;

/**
 * The newest `limit` events that match `f` and happened before `before` (ms), oldest
 * first, read from the stream on demand so a page can scroll back through a whole run.
 * The window read grows (2 s, then ×4) until it holds enough events or reaches the stream's
 * start: a busy run stores thousands of events a second, and each page reads its window whole.
 */
export async function readOlder(nc: NatsConnection, f: ViewFilter, page: z.infer<typeof OlderPage>): Promise<{ events: TraceEvent[]; more: boolean }> {
  const { before, beforeId, limit } = page;
  const earlier = (e: TraceEvent) => e.ts < before || (e.ts === before && beforeId !== undefined && e.id < beforeId);
  const start = await traceStart(nc);
  const first = start !== undefined ? start - STORE_LAG_MS : 0;
  const subject = subjectFor(f);
  for (let span = 2_000; ; span *= 4) {
    const from = Math.max(first, before - span);
    const hits = (await readTraceWindow(nc, subject, from, before + STORE_LAG_MS)).filter((e) => earlier(e) && matches(f, e));
    if (hits.length >= limit || from <= first) {
      hits.sort(byTime);
      return { events: hits.slice(-limit), more: hits.length > limit || from > first };
    }
  }
}
