/**
 * Asks again until `ask` succeeds, an error is not worth retrying, or `forMs` has passed
 * since the first try; the delay doubles from `baseMs` up to `maxMs`. Bounded by time, not
 * by a count of tries: how long a JetStream stream is without a leader (an election after a
 * node's loss, longer on a loaded machine) does not depend on how fast each try fails.
 */
export async function retryFor<T>(
  ask: () => Promise<T>,
  opts: { forMs: number; retryIf?: (err: unknown) => boolean; baseMs?: number; maxMs?: number; onRetry?: (err: unknown) => void },
): Promise<T> {
  const until = Date.now() + opts.forMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await ask();
    } catch (err) {
      const delay = Math.min(opts.maxMs ?? 2000, (opts.baseMs ?? 100) * 2 ** attempt);
      if (!(opts.retryIf?.(err) ?? true) || Date.now() + delay > until) throw err;
      opts.onRetry?.(err);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
