import { z } from 'zod';

/** Why a request failed; callers branch on `code`, people read `message`. */
export const ErrorCode = z.enum([
  'invalid_input', // the payload did not match the verb's input schema
  'invalid_output', // the actor answered with something its own schema rejects
  'invalid_envelope', // the message was not an envelope at all
  'unknown_verb',
  'overloaded', // the mailbox is full; retry later
  'timeout',
  'no_responders',
  'unavailable', // a service behind the role (an LLM endpoint) could not be reached or answered no model output: nothing was attempted
  'internal',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ErrorIssue = z.object({
  path: z.string().describe('dotted path of the offending field, e.g. payload.tools.0.name'),
  message: z.string(),
});
export type ErrorIssue = z.infer<typeof ErrorIssue>;

export const ErrorReply = z.object({
  code: ErrorCode,
  message: z.string(),
  issues: z.array(ErrorIssue).default([]),
  retryable: z.boolean().default(false),
});
export type ErrorReply = z.infer<typeof ErrorReply>;

/** Turns zod issues into `path: message` lines rooted at `root` (e.g. "payload"). */
export function describeIssues(error: z.ZodError, root = ''): ErrorIssue[] {
  return error.issues.map((issue) => {
    const parts = [root, ...issue.path.map(String)].filter((p) => p !== '');
    return { path: parts.join('.') || '(root)', message: issue.message };
  });
}

export function formatIssues(issues: ErrorIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('; ');
}

/** An Error that carries a structured reply across the bus. */
export class LooptoolError extends Error {
  readonly reply: ErrorReply;
  constructor(reply: z.input<typeof ErrorReply>) {
    const parsed = ErrorReply.parse(reply);
    super(parsed.issues.length ? `${parsed.message}: ${formatIssues(parsed.issues)}` : parsed.message);
    this.name = 'LooptoolError';
    this.reply = parsed;
  }
  get code(): ErrorCode {
    return this.reply.code;
  }
}

/**
 * Whether `err` is a LooptoolError (with one of `code`, when given): a guard that narrows,
 * so callers branch on the code without casting what a catch gave them.
 */
export function isLooptoolError(err: unknown, code?: ErrorCode | readonly ErrorCode[]): err is LooptoolError {
  if (!(err instanceof LooptoolError)) return false;
  if (code === undefined) return true;
  return typeof code === 'string' ? err.code === code : code.includes(err.code);
}

/** Parses `value` or throws a LooptoolError whose issues name the fields. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
  code: ErrorCode = 'invalid_input',
  root = '',
): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new LooptoolError({ code, message: `invalid ${what}`, issues: describeIssues(r.error, root) });
}

/**
 * Failures of the infrastructure, not of the work: an unreachable or failing endpoint, a
 * call that timed out, a role nobody serves. Work that fails this way was not attempted;
 * it is not data (a rejection) and runs again next time.
 */
export const INFRASTRUCTURE_CODES: readonly ErrorCode[] = ['unavailable', 'timeout', 'no_responders'];

export function isInfrastructureError(err: unknown): err is LooptoolError {
  return isLooptoolError(err, INFRASTRUCTURE_CODES);
}
