import { z } from 'zod';
import { TOKEN_RE } from './ids.ts';

export const Token = z.string().regex(TOKEN_RE, 'expected letters, digits, "_" or "-" (one NATS subject token)');

export const EnvelopeKind = z.enum(['request', 'reply', 'error', 'event']);
export type EnvelopeKind = z.infer<typeof EnvelopeKind>;

/** Every message on the bus, checked by its receiver; compiled, since every message takes it. */
export const Envelope = z.compile(
  z.object({
    id: z.string().min(1),
    run: Token.describe('run id'),
    trace: z.string().min(1).describe('trace id shared by every message caused by one root request'),
    parent: z.string().nullable().describe('id of the message that caused this one'),
    from: z.string().min(1).describe('sender role (or "client")'),
    kind: EnvelopeKind,
    ts: z.number().describe('milliseconds since the epoch'),
    payload: z.unknown(),
  }),
);
export type Envelope = z.infer<typeof Envelope>;

export function roleSubject(role: string, verb: string): string {
  return `looptool.${role}.${verb}`;
}

export function roleQueue(role: string): string {
  return `looptool.${role}`;
}
