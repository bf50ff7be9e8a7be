import { hostname } from 'node:os';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { createActor, type Actor } from 'xstate';
import { Envelope, roleQueue, roleSubject } from '../../protocols/envelope.ts';
import { ErrorReply, describeIssues, isLooptoolError } from '../../protocols/errors.ts';
import { newId } from '../../protocols/ids.ts';
import type { JsonValue } from '../../protocols/json.ts';
import { checkRole, compiledSchema, type AnyRoleImpl, type HandlerContext, type Logger, type RoleEnv } from '../../protocols/role.ts';
import { runJob, slotLogic, type SlotEvent, type SlotJob } from '../../machines/slot.ts';
import { encodeJson, decodeJson } from './codec.ts';
import type { TracePublisher } from './trace-publisher.ts';
import { BusClient } from './client.ts';

export type HostOptions = {
  nc: NatsConnection;
  /** the run this host belongs to (its directory, its config); requests may come from other runs of its namespace */
  run: string;
  /** the namespace it serves (default: the run id); it never sees requests of another namespace */
  namespace?: string;
  runDir: string;
  config?: Record<string, unknown>;
  tracer: TracePublisher;
  log: Logger;
  /** overrides the role's own concurrency */
  concurrency?: number;
  /** mailbox bound: beyond it callers get a retryable "overloaded" error */
  maxQueue?: number;
  /** replica index, for actor ids */
  replica?: number;
  /** calls the role's start off (its `init` sees it as `env.signal`) */
  signal?: AbortSignal;
};

/** The signal of a start nobody can call off. */
const NEVER = new AbortController().signal;

type SlotOutcome = { job: SlotJob; ok: true; output: unknown } | { job: SlotJob; ok: false; error: unknown };
/** `key`: the request's cache key, the asking run and the message id (runs sharing a namespace may reuse stable ids) */
type Pending = { env: Envelope; key: string; verb: string; input: unknown; received: number };
type Recent = { waiters: Msg[]; env?: Envelope; reply?: Uint8Array };

const RECENT_MAX = 20_000;

// Shared, never mutated: a slot takes two events and traces two state changes per request.
const WORK: SlotEvent = { type: 'WORK' };
const DONE: SlotEvent = { type: 'DONE' };
const FAILED: SlotEvent = { type: 'FAILED' };
const TO_WORKING = Object.freeze({ from: 'idle', to: 'working' });
const TO_IDLE = Object.freeze({ from: 'working', to: 'idle' });

type ContextPort = { client: BusClient; tracer: TracePublisher; aborts: Map<string, AbortController>; emitted: Set<string> };

/**
 * What a handler sees of the request it serves. A class rather than an object literal:
 * the child client, the abort signal and the bound `emit` are made on first use, and
 * most handlers touch none of them (this runs for every request on the bus).
 */
class JobContext implements HandlerContext<unknown> {
  readonly run: string;
  readonly trace: string;
  readonly msg: string;
  private abort: AbortController | undefined;
  private caller: HandlerContext['call'] | undefined;
  private emitter: HandlerContext['emit'] | undefined;

  constructor(
    private readonly port: ContextPort,
    private readonly p: Pending,
    readonly role: string,
    readonly actor: string,
    readonly resources: unknown,
    readonly log: Logger,
  ) {
    this.run = p.env.run;
    this.trace = p.env.trace;
    this.msg = p.env.id;
  }

  get call(): HandlerContext['call'] {
    return (this.caller ??= this.port.client.child({ run: this.run, trace: this.trace, parent: this.msg }).call);
  }

  // Bound, because handlers pass it on (`ctx.emit` as a callback).
  get emit(): HandlerContext['emit'] {
    return (this.emitter ??= (kind, data) => {
      this.port.emitted.add(this.msg);
      this.port.tracer.emit({ run: this.run, role: this.role, kind, verb: this.p.verb, actor: this.actor, msg: this.msg, trace: this.trace, data });
    });
  }

  get signal(): AbortSignal {
    if (!this.abort) this.port.aborts.set(this.msg, (this.abort = new AbortController()));
    return this.abort.signal;
  }
}
const HOST_ID = `${hostname().split('.')[0]}-${process.pid}`;

function tryEncode(value: unknown): { ok: true; data: Uint8Array } | { ok: false; error: string } {
  try {
    return { ok: true, data: encodeJson(value) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

function toErrorReply(err: unknown): ErrorReply {
  if (isLooptoolError(err)) return err.reply;
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'internal', message, issues: [], retryable: false };
}

/**
 * Serves one role on the bus: subscribes its verbs in the role's queue group,
 * validates every request, queues it in a bounded mailbox, and runs it on an idle
 * slot actor. Replies are cached by request id so a retried request is answered,
 * not re-run.
 */
export class RoleHost {
  readonly role: string;
  readonly hostId: string;
  readonly namespace: string;
  private subs: Subscription[] = [];
  private mailbox: Pending[] = [];
  private slots: Actor<typeof slotLogic>[] = [];
  /** the request each slot runs (or last ran), and the run that asked for it, for its state trace events */
  private slotJob: string[] = [];
  private slotRun: string[] = [];
  private idle: number[] = [];
  private recent = new Map<string, Recent>();
  private aborts = new Map<string, AbortController>();
  private resources: unknown;
  private stopping = false;
  private drained: (() => void) | undefined;
  private client: BusClient;
  /** what a request's context reaches back into */
  private port: ContextPort;
  /** each verb's input schema, compiled once */
  private inputs: Record<string, AnyRoleImpl['contract']['verbs'][string]['input']> = {};
  served = 0;
  failed = 0;

  private constructor(
    private readonly impl: AnyRoleImpl,
    private readonly opts: HostOptions,
  ) {
    this.role = impl.contract.name;
    this.hostId = `${HOST_ID}-${opts.replica ?? 0}`;
    this.namespace = opts.namespace ?? opts.run;
    this.client = new BusClient(opts.nc, { run: opts.run, namespace: this.namespace, from: this.role, tracer: opts.tracer });
    this.port = { client: this.client, tracer: opts.tracer, aborts: this.aborts, emitted: new Set() };
  }

  static async start(impl: AnyRoleImpl, opts: HostOptions): Promise<RoleHost> {
    checkRole(impl);
    const host = new RoleHost(impl, opts);
    await host.init();
    return host;
  }

  private env(): RoleEnv {
    return {
      run: this.opts.run,
      runDir: this.opts.runDir,
      config: this.opts.config ?? {},
      log: this.opts.log,
      call: this.client.call,
      emit: (kind, data) => this.opts.tracer.emit({ role: this.role, kind, actor: `${this.hostId}/${this.role}`, data }),
      signal: this.opts.signal ?? NEVER,
    };
  }

  private async init(): Promise<void> {
    this.resources = this.impl.init ? await this.impl.init(this.env()) : undefined;
    const n = Math.max(1, this.opts.concurrency ?? this.impl.concurrency);
    for (let i = 0; i < n; i++) this.slots.push(this.startSlot(i));
    try {
      for (const [verb, spec] of Object.entries(this.impl.contract.verbs)) {
        this.inputs[verb] = compiledSchema(spec.input);
        const sub = this.opts.nc.subscribe(roleSubject(this.namespace, this.role, verb), {
          queue: roleQueue(this.namespace, this.role),
          callback: (err, msg) => {
            if (!err) this.onMessage(verb, msg);
          },
        });
        this.subs.push(sub);
      }
      await this.opts.nc.flush();
    } catch (err) {
      // A host that cannot serve (the bus went away while its init ran) is nobody's to
      // stop, so it frees what its init built here: a policy worker left running would
      // keep the whole process from exiting.
      await this.stop(0).catch(() => undefined);
      throw err;
    }
  }

  private startSlot(i: number): Actor<typeof slotLogic> {
    const actorId = `${this.hostId}/${this.role}/${i}`;
    const actor = createActor(slotLogic);
    let last = 'idle';
    actor.subscribe((snap) => {
      const state = snap.context;
      if (state === last) return;
      this.opts.tracer.emit({ run: this.slotRun[i], role: this.role, kind: 'state', actor: actorId, msg: this.slotJob[i], data: state === 'idle' ? TO_IDLE : TO_WORKING });
      last = state;
      if (state === 'idle') {
        this.idle.push(i);
        this.pump();
      }
    });
    actor.start();
    this.idle.push(i);
    return actor;
  }

  private respond(msg: Msg, data: Uint8Array): void {
    if (msg.reply) msg.respond(data);
  }

  private errorEnvelope(env: Partial<Envelope> | null, reply: ErrorReply): Uint8Array {
    const out: Envelope = {
      id: newId(),
      run: env?.run ?? this.opts.run,
      trace: env?.trace ?? env?.id ?? 'unknown',
      parent: env?.id ?? null,
      from: this.role,
      kind: 'error',
      ts: Date.now(),
      payload: reply,
    };
    return encodeJson(out);
  }

  private reject(msg: Msg, env: Partial<Envelope> | null, verb: string, reply: ErrorReply): void {
    this.failed++;
    this.opts.tracer.emit({ run: env?.run, role: this.role, kind: 'error', verb, msg: env?.id, trace: env?.trace, data: reply as unknown as JsonValue });
    this.respond(msg, this.errorEnvelope(env, reply));
  }

  private onMessage(verb: string, msg: Msg): void {
    const decoded = decodeJson(msg.data);
    if (!decoded.ok) return this.reject(msg, null, verb, { code: 'invalid_envelope', message: `message is not JSON: ${decoded.error}`, issues: [], retryable: false });
    const parsed = Envelope.safeParse(decoded.value);
    if (!parsed.success)
      return this.reject(msg, null, verb, { code: 'invalid_envelope', message: 'message is not a looptool envelope', issues: describeIssues(parsed.error), retryable: false });
    const env = parsed.data;
    const key = `${env.run}\n${env.id}`;
    const seen = this.recent.get(key);
    if (seen) {
      if (seen.reply) this.respond(msg, seen.reply);
      else seen.waiters.push(msg);
      return;
    }
    const input = this.inputs[verb]!.safeParse(env.payload);
    if (!input.success)
      return this.reject(msg, env, verb, { code: 'invalid_input', message: `invalid input for ${this.role}.${verb}`, issues: describeIssues(input.error, 'payload'), retryable: false });
    if (this.stopping || this.mailbox.length >= (this.opts.maxQueue ?? 10_000))
      return this.reject(msg, env, verb, { code: 'overloaded', message: `${this.role} mailbox is full (${this.mailbox.length} waiting)`, issues: [], retryable: true });
    this.remember(key, { waiters: [msg], env });
    this.opts.tracer.emit({ run: env.run, role: this.role, kind: 'request', verb, msg: env.id, trace: env.trace, parent: env.parent, data: { from: env.from } });
    this.mailbox.push({ env, key, verb, input: input.data, received: Date.now() });
    this.pump();
  }

  private remember(id: string, r: Recent): void {
    this.recent.set(id, r);
    if (this.recent.size > RECENT_MAX) {
      for (const [k, v] of this.recent) {
        if (v.reply) this.recent.delete(k);
        if (this.recent.size <= RECENT_MAX * 0.9) break;
      }
    }
  }

  private pump(): void {
    while (this.idle.length > 0 && this.mailbox.length > 0) {
      const slot = this.idle.pop()!;
      const next = this.mailbox.shift()!;
      const job = this.jobFor(next, slot);
      const actor = this.slots[slot]!;
      this.slotJob[slot] = job.id;
      this.slotRun[slot] = next.env.run;
      actor.send(WORK);
      runJob(job).then(
        (output) => {
          this.settle({ job, ok: true, output }, next.key);
          actor.send(DONE);
        },
        (error: unknown) => {
          this.settle({ job, ok: false, error }, next.key);
          actor.send(FAILED);
        },
      );
    }
    if (this.stopping && this.mailbox.length === 0 && this.idle.length === this.slots.length) this.drained?.();
  }

  private jobFor(p: Pending, slot: number): SlotJob {
    const impl = this.impl.verbs[p.verb]!;
    const ctx = new JobContext(this.port, p, this.role, `${this.hostId}/${this.role}/${slot}`, this.resources, this.opts.log);
    if ('handle' in impl) return { id: p.env.id, verb: p.verb, input: p.input, run: { kind: 'handle', fn: (input) => impl.handle(input as never, ctx as never) } };
    return { id: p.env.id, verb: p.verb, input: p.input, run: { kind: 'logic', logic: impl.logic, input: { input: p.input, ctx } } };
  }

  private settle(o: SlotOutcome, key: string): void {
    const { job } = o;
    this.aborts.delete(job.id);
    const entry = this.recent.get(key);
    const waiters = entry?.waiters ?? [];
    const env = entry?.env ?? { id: job.id, run: this.opts.run, trace: job.id };
    let data: Uint8Array;
    if (o.ok) {
      // The output is checked against the contract by the side that receives it (the
      // caller's BusClient), like every payload; checking it here as well would double
      // the cost on the role's own process, which is the one that limits throughput.
      const reply: Envelope = { id: newId(), run: env.run, trace: env.trace, parent: job.id, from: this.role, kind: 'reply', ts: Date.now(), payload: o.output };
      const encoded = tryEncode(reply);
      if (encoded.ok) {
        this.served++;
        data = encoded.data;
        this.opts.tracer.emit({ run: env.run, role: this.role, kind: 'reply', verb: job.verb, msg: job.id, trace: env.trace });
      } else {
        const err: ErrorReply = { code: 'invalid_output', message: `${this.role}.${job.verb} produced an answer that is not JSON: ${encoded.error}`, issues: [], retryable: false };
        this.failed++;
        this.opts.log.error({ role: this.role, verb: job.verb }, err.message);
        this.opts.tracer.emit({ run: env.run, role: this.role, kind: 'error', verb: job.verb, msg: job.id, trace: env.trace, data: err as unknown as JsonValue });
        data = this.errorEnvelope(env, err);
      }
    } else {
      const reply = toErrorReply(o.error);
      this.failed++;
      this.opts.tracer.emit({ run: env.run, role: this.role, kind: 'error', verb: job.verb, msg: job.id, trace: env.trace, data: reply as unknown as JsonValue });
      data = this.errorEnvelope(env, reply);
    }
    // The entry stays (answering retries from the cache) without what only the run needed.
    if (entry) {
      entry.waiters = [];
      entry.env = undefined;
      entry.reply = data;
    } else this.remember(key, { waiters: [], reply: data });
    // What a handler emitted reaches a watcher before its reply does (one connection keeps
    // the order), so the caller can count on having every event of its call when it returns.
    if (this.port.emitted.delete(job.id)) this.opts.tracer.flush();
    for (const m of waiters) this.respond(m, data);
  }

  stats(): { role: string; served: number; failed: number; queued: number; busy: number; slots: number } {
    return { role: this.role, served: this.served, failed: this.failed, queued: this.mailbox.length, busy: this.slots.length - this.idle.length, slots: this.slots.length };
  }

  /** Stops taking requests, finishes what is queued (up to `graceMs`), then frees resources. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const s of this.subs) s.unsubscribe();
    const done = new Promise<void>((r) => (this.drained = r));
    this.pump();
    const timer = setTimeout(() => {
      for (const a of this.aborts.values()) a.abort(new Error('host stopping'));
      this.drained?.();
    }, graceMs);
    await done;
    clearTimeout(timer);
    for (const a of this.slots) a.stop();
    // jobs cut off by the grace period never settle: forget them with the host
    this.aborts.clear();
    this.port.emitted.clear();
    if (this.impl.dispose) await this.impl.dispose(this.resources);
  }
}
