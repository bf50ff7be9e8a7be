import { randomUUID } from 'node:crypto';

/** Short, sortable-enough ids for messages and traces (time prefix + random suffix). */
export function newId(prefix = ''): string {
  const t = Date.now().toString(36);
  const r = randomUUID().replace(/-/g, '').slice(0, 12);
  return prefix ? `${prefix}-${t}${r}` : `${t}${r}`;
}

/** A role or run name usable as one NATS subject token. */
export const TOKEN_RE = /^[A-Za-z0-9_-]+$/;
