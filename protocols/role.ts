import { z } from 'zod';
import type { AnyActorLogic } from 'xstate';
import type { JsonValue } from './json.ts';
import { Token } from './envelope.ts';
import { describeIssues, LooptoolError, type ErrorIssue } from './errors.ts';

/**
 * A role's contract: its name and, per verb, the input and output schemas.
 * Contracts live in protocols/ so that callers can type their requests without
 * importing the role that serves them (roles meet only on the bus).
 */
export type VerbContract = {
  input: z.ZodType;
  output: z.ZodType;
  description?: string;
  /** Default caller-side timeout for this verb. */
  timeoutMs?: number;
};
export type RoleContract = { name: string; description?: string; verbs: Record<string, VerbContract> };

export function defineContract<const C extends RoleContract>(contract: C): C {
  return contract;
}

const compiledSchemas = new WeakMap<z.ZodType, z.ZodType>();

/**
 * `schema` as zod's compiled parser, made once per schema: generated straight-line code
 * that falls back to zod's interpreter on a failure, so error messages are unchanged.
 * Hosts and clients parse every payload on the bus through it (about twice as fast, and
 * far less garbage). A schema zod cannot compile (a cycle, an async check) comes back as
 * it is.
 */
export function compiledSchema<S extends z.ZodType>(schema: S): S {
  let compiled = compiledSchemas.get(schema);
  if (!compiled) compiledSchemas.set(schema, (compiled = z.compile(schema)));
  return compiled as S;
}

export type VerbName<C extends RoleContract> = keyof C['verbs'] & string;
export type VerbInput<C extends RoleContract, V extends VerbName<C>> = z.input<C['verbs'][V]['input']>;
export type VerbArgs<C extends RoleContract, V extends VerbName<C>> = z.output<C['verbs'][V]['input']>;
export type VerbOutput<C extends RoleContract, V extends VerbName<C>> = z.output<C['verbs'][V]['output']>;

export type CallOptions = {
  timeoutMs?: number;
  retries?: number;
  /** A stable id makes retries idempotent: the host answers a repeated id from its cache. */
  id?: string;
};

/** Calls another role over the bus; the reply is validated against the contract. */
export type CallFn = <C extends RoleContract, V extends VerbName<C>>(
  contract: C,
  verb: V,
  input: VerbInput<C, V>,
  opts?: CallOptions,
) => Promise<VerbOutput<C, V>>;

export type Logger = {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
};

/** What a verb handler may use. Everything here goes through the bus or the trace. */
export type HandlerContext<R = unknown> = {
  run: string;
  trace: string;
  /** id of the request being served */
  msg: string;
  role: string;
  actor: string;
  resources: R;
  log: Logger;
  call: CallFn;
  /** Publishes a metric / progress / message trace event. */
  emit(kind: 'metric' | 'progress' | 'message' | 'log', data: JsonValue): void;
  signal: AbortSignal;
};

export type VerbImpl<C extends RoleContract, V extends VerbName<C>, R> =
  // Method syntax on purpose: it keeps parameters bivariant so any role fits AnyRoleImpl.
  | { handle(input: VerbArgs<C, V>, ctx: HandlerContext<R>): Promise<z.input<C['verbs'][V]['output']>> }
  /** Any XState actor logic; it receives `{ input, ctx }` and its output is the reply. */
  | { logic: AnyActorLogic };

export type RoleImpl<C extends RoleContract, R = unknown> = {
  contract: C;
  /** How many requests one replica serves at once (mailbox slots). */
  concurrency: number;
  /** Builds per-replica resources (a worker process, an HTTP client); disposed on stop. */
  init?: (env: RoleEnv) => Promise<R> | R;
  dispose?: (resources: R) => Promise<void> | void;
  verbs: { [V in VerbName<C>]: VerbImpl<C, V, R> };
};

/** What the host tells a role about where it runs. */
export type RoleEnv = {
  run: string;
  runDir: string;
  config: Record<string, unknown>;
  log: Logger;
  call: CallFn;
  emit(kind: 'metric' | 'progress' | 'message' | 'log', data: JsonValue): void;
  /**
   * Aborted when the start is called off (the command serving the role was interrupted
   * while the role started): an `init` that takes long (a model's load) stops on it.
   */
  signal: AbortSignal;
};

export type AnyRoleImpl = RoleImpl<RoleContract, any>;

/** Declares a role: a contract plus the actor logic behind each verb. */
export function defineRole<const C extends RoleContract, R = undefined>(impl: RoleImpl<C, R>): RoleImpl<C, R> {
  return impl;
}

// Duck-typed, not `instanceof`: a role module of another project may bring its own copy of zod.
const Schema = z.custom<z.ZodType>((v) => !!v && typeof (v as { safeParse?: unknown }).safeParse === 'function', 'expected a zod schema');
const Fn = z.custom<(...a: unknown[]) => unknown>((v) => typeof v === 'function', 'expected a function');
const RoleShape = z.object({
  contract: z.object({
    name: Token,
    description: z.string().optional(),
    verbs: z.record(z.string(), z.object({ input: Schema, output: Schema, description: z.string().optional(), timeoutMs: z.number().int().positive().optional() })),
  }),
  concurrency: z.number({ error: 'expected a whole number >= 1: how many requests one replica serves at once' }).int().min(1),
  init: Fn.optional(),
  dispose: Fn.optional(),
  verbs: z.record(z.string(), z.union([z.object({ handle: Fn }), z.object({ logic: z.object({}).loose() })], { error: 'expected { handle(input, ctx) } or { logic } (XState actor logic)' })),
});

/**
 * What is wrong with a role, field by field: roles come from module files no type checker
 * may have seen, and a role without `concurrency`, say, would be served by no mailbox slot
 * and never answer.
 */
export function roleIssues(role: unknown): ErrorIssue[] {
  const parsed = RoleShape.safeParse(role);
  if (!parsed.success) return describeIssues(parsed.error);
  const declared = Object.keys(parsed.data.contract.verbs);
  const given = Object.keys(parsed.data.verbs);
  return [
    ...declared.filter((v) => !given.includes(v)).map((v) => ({ path: `verbs.${v}`, message: `the contract declares "${v}" but the role does not implement it` })),
    ...given.filter((v) => !declared.includes(v)).map((v) => ({ path: `verbs.${v}`, message: `"${v}" is not a verb of the contract (${declared.join(', ') || 'none'})` })),
  ];
}

/** Throws an invalid_input error naming every field of `role` that is wrong (`where`: the module or caller it came from). */
export function checkRole(role: unknown, where?: string): asserts role is AnyRoleImpl {
  const issues = roleIssues(role);
  if (!issues.length) return;
  const name = (role as { contract?: { name?: unknown } } | undefined)?.contract?.name;
  const what = typeof name === 'string' ? `role "${name}"` : 'a role';
  throw new LooptoolError({
    code: 'invalid_input',
    message: `${where ? `${where}: ` : ''}${what} is not a valid role`,
    issues,
  });
}
