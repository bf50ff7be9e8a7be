import type { NatsConnection } from '@nats-io/transport-node';
import { Envelope, roleSubject } from '../../protocols/envelope.ts';
import { ErrorReply, LooptoolError, describeIssues, isLooptoolError, type ErrorCode } from '../../protocols/errors.ts';
import { newId } from '../../protocols/ids.ts';
import { compiledSchema, type CallFn, type CallOptions, type RoleContract, type VerbInput, type VerbName, type VerbOutput } from '../../protocols/role.ts';
import { decodeJson, encodeJson } from './codec.ts';
import type { TracePublisher } from './trace-publisher.ts';
import { ReplyMux } from './reply-mux.ts';

export type ClientOptions = {
  /** the asking run: envelopes carry it, and serving hosts file their trace events under it */
  run: string;
  /** namespace of the subjects called (default: the run id) */
  namespace?: string;
  /** who is calling: a role name or "client" */
  from?: string;
  trace?: string;
  parent?: string | null;
  tracer?: TracePublisher;
  defaultTimeoutMs?: number;
  defaultRetries?: number;
  /** check inputs before sending (the host always checks them on arrival) */
  validateInput?: boolean;
};

const RETRYABLE: ErrorCode[] = ['timeout', 'no_responders', 'overloaded'];

function isRetryable(err: unknown): boolean {
  return isLooptoolError(err) && (err.reply.retryable || RETRYABLE.includes(err.code));
}

/**
 * Typed requests to roles. Inputs are checked by the host that receives them, outputs
 * here when they come back (each payload once, by its receiver); timeouts and overload are retried with backoff under the same message
 * id, which the host answers from its cache, so a retry never runs a request twice.
 */
export class BusClient {
  readonly namespace: string;
  /** request subjects by role and verb, made once */
  private subjects = new Map<string, string>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly opts: ClientOptions,
  ) {
    this.namespace = opts.namespace ?? opts.run;
  }

  /** The same client, acting on behalf of a request being served (trace and parent ids follow; the namespace stays). */
  child(over: Partial<ClientOptions>): BusClient {
    return new BusClient(this.nc, { ...this.opts, namespace: this.namespace, ...over });
  }

  private subjectOf(role: string, verb: string): string {
    const key = `${role}\u0000${verb}`;
    let s = this.subjects.get(key);
    if (!s) this.subjects.set(key, (s = roleSubject(this.namespace, role, verb)));
    return s;
  }

  call: CallFn = async <C extends RoleContract, V extends VerbName<C>>(
    contract: C,
    verb: V,
    input: VerbInput<C, V>,
    callOpts: CallOptions = {},
  ): Promise<VerbOutput<C, V>> => {
    const spec = contract.verbs[verb];
    if (!spec) throw new LooptoolError({ code: 'unknown_verb', message: `role ${contract.name} has no verb "${verb}"` });
    // The serving host validates every input as it arrives; checking here as well would
    // only double the cost of the hot path. Opt in where an early local error helps.
    if (this.opts.validateInput) {
      const checked = compiledSchema(spec.input).safeParse(input);
      if (!checked.success)
        throw new LooptoolError({ code: 'invalid_input', message: `invalid input for ${contract.name}.${verb}`, issues: describeIssues(checked.error, 'payload') });
    }
    const subject = this.subjectOf(contract.name, verb);
    const id = callOpts.id ?? newId();
    const trace = this.opts.trace ?? id;
    const envelope: Envelope = {
      id,
      run: this.opts.run,
      trace,
      parent: this.opts.parent ?? null,
      from: this.opts.from ?? 'client',
      kind: 'request',
      ts: Date.now(),
      payload: input,
    };
    const data = encodeJson(envelope);
    const timeoutMs = callOpts.timeoutMs ?? spec.timeoutMs ?? this.opts.defaultTimeoutMs ?? 30_000;
    const retries = callOpts.retries ?? this.opts.defaultRetries ?? 3;
    for (let attempt = 0; ; attempt++) {
      try {
        const reply = await this.requestOnce(subject, data, timeoutMs);
        return this.readReply(contract.name, verb, id, trace, reply, spec.output) as VerbOutput<C, V>;
      } catch (err) {
        if (attempt >= retries || !isRetryable(err)) throw err;
        const delay = Math.min(2000, 50 * 2 ** attempt) * (0.5 + Math.random());
        this.opts.tracer?.emit({ role: this.opts.from ?? 'client', kind: 'retry', verb: `${contract.name}.${verb}`, msg: id, trace, data: { attempt: attempt + 1, error: (err as Error).message } });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  };

  private requestOnce(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    return ReplyMux.for(this.nc).request(subject, data, timeoutMs);
  }

  private readReply(role: string, verb: string, id: string, trace: string, data: Uint8Array, output: RoleContract['verbs'][string]['output']): unknown {
    const where = `${role}.${verb}`;
    const decoded = decodeJson(data);
    if (!decoded.ok) throw new LooptoolError({ code: 'internal', message: `${where} answered with invalid JSON: ${decoded.error}` });
    const env = Envelope.safeParse(decoded.value);
    if (!env.success) throw new LooptoolError({ code: 'invalid_envelope', message: `${where} answered with a bad envelope`, issues: describeIssues(env.error) });
    if (env.data.kind === 'error') {
      const reply = ErrorReply.safeParse(env.data.payload);
      throw new LooptoolError(reply.success ? reply.data : { code: 'internal', message: `${where} failed without a readable error` });
    }
    const out = compiledSchema(output).safeParse(env.data.payload);
    if (!out.success) {
      // Hosts send what their handler returned; this is where a broken answer is caught,
      // so it is traced here, under the caller, naming the role that gave it.
      const err = new LooptoolError({ code: 'invalid_output', message: `${where} answered with an invalid payload`, issues: describeIssues(out.error, 'payload') });
      this.opts.tracer?.emit({ role: this.opts.from ?? 'client', kind: 'error', verb: where, msg: id, trace, data: err.reply });
      throw err;
    }
    return out.data;
  }
}
