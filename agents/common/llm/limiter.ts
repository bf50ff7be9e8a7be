import { LooptoolError } from '../../../protocols/errors.ts';

type Waiter = { grant: () => void; reject: (e: unknown) => void; signal?: AbortSignal; onAbort?: () => void };

/**
 * A counting semaphore with a FIFO queue: callers get slots in arrival order and
 * nobody is ever dropped (the queue is unbounded; callers that give up use their
 * AbortSignal). Release hands the slot straight to the next waiter so a newcomer
 * cannot overtake the queue.
 */
export class Limiter {
  #limit: number;
  #active = 0;
  #queue: Waiter[] = [];
  #head = 0;
  /** Highest number of slots held at once since creation (for tests and metrics). */
  maxActive = 0;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
    this.#limit = limit;
  }

  get limit(): number {
    return this.#limit;
  }
  get active(): number {
    return this.#active;
  }
  get waiting(): number {
    return this.#queue.length - this.#head;
  }

  /** Lowers or raises the limit; extra slots go to waiters at once, held slots are never revoked. */
  setLimit(limit: number): void {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
    this.#limit = limit;
    this.#drain();
  }

  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (this.#active < this.#limit && this.waiting === 0) {
      this.#take();
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { grant: resolve, reject, signal };
      if (signal) {
        w.onAbort = () => {
          const i = this.#queue.indexOf(w, this.#head);
          if (i >= 0) this.#queue.splice(i, 1);
          reject(abortError(signal));
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.#queue.push(w);
    });
  }

  release(): void {
    if (this.#active <= 0) throw new Error('Limiter.release() without a matching acquire()');
    this.#active--;
    this.#drain();
  }

  /** Runs `fn` inside one slot. */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  #take(): void {
    this.#active++;
    if (this.#active > this.maxActive) this.maxActive = this.#active;
  }

  #drain(): void {
    while (this.#active < this.#limit && this.#head < this.#queue.length) {
      const w = this.#queue[this.#head++]!;
      if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
      this.#take();
      w.grant();
    }
    // Compact now and then instead of shift() on every release (O(1) amortized).
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    } else if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    }
  }
}

function abortError(signal: AbortSignal): LooptoolError {
  const why = signal.reason instanceof Error ? signal.reason.message : signal.reason ? String(signal.reason) : 'aborted';
  return new LooptoolError({ code: 'timeout', message: `cancelled while waiting for an llm slot: ${why}` });
}

// One limiter per endpoint (baseURL + model) per process: every role that talks to
// the same model shares its capacity.
const registry = new Map<string, Limiter>();

export function endpointKey(baseURL: string, model: string): string {
  return `${baseURL.replace(/\/+$/, '')}#${model}`;
}

/**
 * The process-wide limiter of an endpoint. When roles declare different limits for
 * the same endpoint the smallest wins: the limit describes what the endpoint can
 * take, and the most careful setting is the one someone measured.
 */
export function limiterFor(baseURL: string, model: string, limit: number): Limiter {
  const key = endpointKey(baseURL, model);
  const existing = registry.get(key);
  if (!existing) {
    const l = new Limiter(limit);
    registry.set(key, l);
    return l;
  }
  if (limit < existing.limit) existing.setLimit(limit);
  return existing;
}

/** Forgets all limiters (tests that want a fresh registry per case). */
export function resetLimiters(): void {
  registry.clear();
}
