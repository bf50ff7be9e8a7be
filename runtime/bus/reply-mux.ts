import { createInbox, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { LooptoolError } from '../../protocols/errors.ts';
import { RPC_ROOT } from '../../protocols/envelope.ts';

/** "no role serves planner.plan in namespace run-1 (…)": the namespace is the usual cause. */
function noResponders(subject: string): string {
  if (!subject.startsWith(`${RPC_ROOT}.`)) return `no role serves ${subject} (is the agent running?)`;
  const [ns, role, ...verb] = subject.slice(RPC_ROOT.length + 1).split('.');
  return `no role serves ${role}.${verb.join('.')} in namespace "${ns}" (subject ${subject}; is the agent running, in this namespace?)`;
}

type Waiter = { resolve(data: Uint8Array): void; reject(err: Error): void; timer: NodeJS.Timeout; subject: string; data: Uint8Array; reply: string };

/**
 * Request/reply over one inbox subscription per connection. The NATS client's own
 * `request()` builds two error objects (with stack traces) per call in case it fails;
 * on the bus's hot path that was a visible share of the CPU, so we correlate replies
 * ourselves and create errors only when something does fail.
 *
 * Requests still waiting when the connection comes back after an outage, or when a node
 * of the cluster goes away, are sent again at once (same envelope, so the same message id: a host that has it answers from its
 * cache or when it finishes; none runs it twice), rather than each waiting out its timeout.
 * A bus that is gone for good (`lost`) fails every waiting request at once, and every
 * later one without sending it.
 */
export class ReplyMux {
  private readonly prefix: string;
  private readonly waiters = new Map<string, Waiter>();
  private seq = 0;
  private gone: LooptoolError | undefined;
  /** requests sent again after reconnects (tests and the progress output read it) */
  resent = 0;

  private constructor(private readonly nc: NatsConnection) {
    this.prefix = createInbox();
    nc.subscribe(`${this.prefix}.*`, { callback: (err, m) => void (err || this.onReply(m)) });
    // A closed connection will never answer: fail what waits now rather than at each timeout
    // (after a moment, in which the owner of the connection may say why it closed).
    void nc.closed().then(() => setTimeout(() => this.lost(new LooptoolError({ code: 'unavailable', message: 'the NATS connection is closed' })), 200).unref());
    void (async () => {
      for await (const s of nc.status()) {
        // Our own server came back, or (a cluster) another node left: a request or its reply
        // may have been on the way through it, and nobody would tell us. Ask again: hosts
        // answer a repeated id from their cache or when the first run of it finishes.
        if (s.type === 'reconnect' || (s.type === 'update' && s.deleted?.length)) this.resend();
      }
    })().catch(() => undefined);
  }

  private static muxes = new WeakMap<NatsConnection, ReplyMux>();

  static for(nc: NatsConnection): ReplyMux {
    let m = ReplyMux.muxes.get(nc);
    if (!m) ReplyMux.muxes.set(nc, (m = new ReplyMux(nc)));
    return m;
  }

  /** How many requests wait for a reply now. */
  get pending(): number {
    return this.waiters.size;
  }

  /** The bus went away for good: every waiting and later request fails with `err`. */
  lost(err: LooptoolError): void {
    this.gone ??= err;
    for (const [token, w] of this.waiters) {
      clearTimeout(w.timer);
      this.waiters.delete(token);
      w.reject(this.copy(this.gone));
    }
  }

  /** A fresh error (own stack) with the reason the bus is gone: no subject in front, the bus is what failed. */
  private copy(err: LooptoolError): LooptoolError {
    return new LooptoolError(err.reply);
  }

  private resend(): void {
    for (const w of this.waiters.values()) {
      try {
        this.nc.publish(w.subject, w.data, { reply: w.reply });
        this.resent++;
      } catch {
        // closed meanwhile: `lost` fails it
      }
    }
  }

  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (this.gone) return Promise.reject(this.copy(this.gone));
    const token = (this.seq++).toString(36);
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(token);
        reject(new LooptoolError({ code: 'timeout', message: `${subject} did not answer within ${timeoutMs} ms`, retryable: true }));
      }, timeoutMs);
      const reply = `${this.prefix}.${token}`;
      this.waiters.set(token, { resolve, reject, timer, subject, data, reply });
      try {
        this.nc.publish(subject, data, { reply });
      } catch (err) {
        clearTimeout(timer);
        this.waiters.delete(token);
        if (this.gone) reject(this.copy(this.gone));
        else if (this.nc.isClosed()) reject(new LooptoolError({ code: 'unavailable', message: `${subject}: the NATS connection is closed` }));
        else reject(new LooptoolError({ code: 'internal', message: `${subject}: ${(err as Error).message}` }));
      }
    });
  }

  private onReply(m: Msg): void {
    const token = m.subject.slice(this.prefix.length + 1);
    const w = this.waiters.get(token);
    if (!w) return; // a late reply after a timeout, or the second answer to a request sent again
    this.waiters.delete(token);
    clearTimeout(w.timer);
    // The server answers 503 on the reply subject when no one subscribes to the request subject.
    if (m.headers?.hasError && m.headers.code === 503)
      w.reject(new LooptoolError({ code: 'no_responders', message: noResponders(w.subject), retryable: true }));
    else w.resolve(m.data);
  }
}
