import { createInbox, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { LooptoolError } from '../../protocols/errors.ts';

type Waiter = { resolve(data: Uint8Array): void; reject(err: Error): void; timer: NodeJS.Timeout; subject: string };

/**
 * Request/reply over one inbox subscription per connection. The NATS client's own
 * `request()` builds two error objects (with stack traces) per call in case it fails;
 * on the bus's hot path that was a visible share of the CPU, so we correlate replies
 * ourselves and create errors only when something does fail.
 */
export class ReplyMux {
  private readonly prefix: string;
  private readonly waiters = new Map<string, Waiter>();
  private seq = 0;

  private constructor(private readonly nc: NatsConnection) {
    this.prefix = createInbox();
    nc.subscribe(`${this.prefix}.*`, { callback: (err, m) => void (err || this.onReply(m)) });
    // A closed connection will never answer: fail what waits now rather than at each timeout.
    void nc.closed().then(() => this.failAll('the NATS connection is closed'));
  }

  private failAll(why: string): void {
    for (const [token, w] of this.waiters) {
      clearTimeout(w.timer);
      this.waiters.delete(token);
      w.reject(new LooptoolError({ code: 'internal', message: `${w.subject}: ${why}` }));
    }
  }

  private static muxes = new WeakMap<NatsConnection, ReplyMux>();

  static for(nc: NatsConnection): ReplyMux {
    let m = ReplyMux.muxes.get(nc);
    if (!m) ReplyMux.muxes.set(nc, (m = new ReplyMux(nc)));
    return m;
  }

  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    const token = (this.seq++).toString(36);
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(token);
        reject(new LooptoolError({ code: 'timeout', message: `${subject} did not answer within ${timeoutMs} ms`, retryable: true }));
      }, timeoutMs);
      this.waiters.set(token, { resolve, reject, timer, subject });
      try {
        this.nc.publish(subject, data, { reply: `${this.prefix}.${token}` });
      } catch (err) {
        clearTimeout(timer);
        this.waiters.delete(token);
        reject(new LooptoolError({ code: 'internal', message: `${subject}: ${(err as Error).message}` }));
      }
    });
  }

  private onReply(m: Msg): void {
    const token = m.subject.slice(this.prefix.length + 1);
    const w = this.waiters.get(token);
    if (!w) return; // a late reply after a timeout
    this.waiters.delete(token);
    clearTimeout(w.timer);
    // The server answers 503 on the reply subject when no one subscribes to the request subject.
    if (m.headers?.hasError && m.headers.code === 503)
      w.reject(new LooptoolError({ code: 'no_responders', message: `no role serves ${w.subject} (is the agent running?)`, retryable: true }));
    else w.resolve(m.data);
  }
}
