import { z } from 'zod';
import { TOKEN_RE } from './ids.ts';

export const Token = z.string().regex(TOKEN_RE, 'expected letters, digits, "_" or "-" (one NATS subject token)');

/**
 * A namespace: the part of every request subject and queue group that keeps runs on a
 * shared bus apart. By default a run's namespace is its run id (its roles serve only
 * it); an operator sets a shared one on purpose (`--namespace NAME`, LOOPTOOL_NAMESPACE)
 * for a pool of role workers that several runs use.
 */
export const Namespace = Token.describe('namespace of request subjects and queue groups');

export const EnvelopeKind = z.enum(['request', 'reply', 'error', 'event']);
export type EnvelopeKind = z.infer<typeof EnvelopeKind>;

/** Every message on the bus, checked by its receiver; compiled, since every message takes it. */
export const Envelope = z.compile(
  z.object({
    id: z.string().min(1),
    run: Token.describe('run id of the asking run: the serving host files its trace events under it'),
    trace: z.string().min(1).describe('trace id shared by every message caused by one root request'),
    parent: z.string().nullable().describe('id of the message that caused this one'),
    from: z.string().min(1).describe('sender role (or "client")'),
    kind: EnvelopeKind,
    ts: z.number().describe('milliseconds since the epoch'),
    payload: z.unknown(),
  }),
);
export type Envelope = z.infer<typeof Envelope>;

/** Root of every request subject: `looptool.rpc.<namespace>.<role>.<verb>` (beside `looptool.trace.>`). */
export const RPC_ROOT = 'looptool.rpc';

export function roleSubject(namespace: string, role: string, verb: string): string {
  return `${RPC_ROOT}.${namespace}.${role}.${verb}`;
}

/** The queue group of a role's replicas within one namespace. */
export function roleQueue(namespace: string, role: string): string {
  return `${RPC_ROOT}.${namespace}.${role}`;
}
