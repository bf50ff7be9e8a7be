import { randomBytes } from 'node:crypto';

// One random tag per process plus a counter: unique across processes without a
// random draw per id (ids are minted several times per request on the bus's hot path).
const processTag = randomBytes(5).toString('hex').slice(0, 8);
let counter = 0;

/** Short, sortable-enough ids for messages and traces (time prefix + process tag + counter). */
export function newId(prefix = ''): string {
  counter = (counter + 1) % 0x1000000;
  const id = `${Date.now().toString(36)}${processTag}${counter.toString(36).padStart(5, '0')}`;
  return prefix ? `${prefix}-${id}` : id;
}

/** A role or run name usable as one NATS subject token. */
export const TOKEN_RE = /^[A-Za-z0-9_-]+$/;
