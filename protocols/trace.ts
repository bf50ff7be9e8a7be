import { z } from 'zod';
import { JsonValue } from './json.ts';

export const TraceKind = z.enum(['request', 'reply', 'error', 'state', 'metric', 'progress', 'message', 'log', 'retry']);
export type TraceKind = z.infer<typeof TraceKind>;

/** One observable thing that happened. Ids are ours, never XState's session ids. */
export const TraceEvent = z.object({
  id: z.string(),
  run: z.string(),
  role: z.string(),
  kind: TraceKind,
  ts: z.number(),
  actor: z.string().optional().describe('our actor id: <host>/<role>/<slot>'),
  verb: z.string().optional(),
  trace: z.string().optional(),
  msg: z.string().optional().describe('id of the bus message concerned'),
  parent: z.string().nullable().optional(),
  data: JsonValue.optional(),
});
export type TraceEvent = z.infer<typeof TraceEvent>;

/** Trace events travel in small batches: one NATS message per (run, role, kind) flush. */
export const TraceBatch = z.object({ events: z.array(TraceEvent).min(1) });
export type TraceBatch = z.infer<typeof TraceBatch>;

export const TRACE_STREAM = 'LOOPTOOL_TRACE';
export const TRACE_ROOT = 'looptool.trace';

export function traceSubject(run: string, role: string, kind: TraceKind): string {
  return `${TRACE_ROOT}.${run}.${role}.${kind}`;
}

/** Filter subject for `looptool trace --run R --role X` (either may be a wildcard). */
export function traceFilter(run?: string, role?: string): string {
  return `${TRACE_ROOT}.${run ?? '*'}.${role ?? '*'}.*`;
}
