/** Bounded concurrency: how the runtime keeps a fixed number of requests in flight. */

/**
 * Runs `fn` over `items` with at most `limit` in flight; resolves in input order. The
 * first failure stops new work and rejects (items already running finish first, so
 * their results can still be cached by `fn`).
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>, signal?: AbortSignal): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failure: { err: unknown } | undefined;
  const lane = async () => {
    while (next < items.length && !failure && !signal?.aborted) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failure) throw failure.err;
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
  return out;
}

/** `items` in batches of `size` (the last may be shorter): one request each. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
