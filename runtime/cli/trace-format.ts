import type { TraceEvent } from '../../protocols/trace.ts';
import { colorFor, dim, paint } from '../terminal.ts';

function summary(data: unknown): string {
  if (data === undefined) return '';
  const s = typeof data === 'string' ? data : JSON.stringify(data);
  return s.length > 160 ? `${s.slice(0, 157)}...` : s;
}

/** One line per trace event: time, role (coloured), kind, verb, actor, data. */
export function formatTraceLine(e: TraceEvent): string {
  const t = new Date(e.ts).toISOString().slice(11, 23);
  const role = paint(e.role.padEnd(12), colorFor(e.role));
  const kind = e.kind === 'error' ? paint(e.kind.padEnd(8), 31) : e.kind.padEnd(8);
  const verb = (e.verb ?? '').padEnd(10);
  const who = e.actor ? dim(e.actor.split('/').slice(-1)[0]!.padStart(2)) : '  ';
  return `${dim(t)} ${role} ${kind} ${verb} ${who} ${summary(e.data)}${e.msg ? dim(` ${e.msg.slice(-8)}`) : ''}`;
}
