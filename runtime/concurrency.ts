/** Bounded concurrency: how the runtime keeps a fixed number of requests in flight. */

/**
 * Runs `fn` over `items` with at most `limit` in flight. No new item starts once `fn` has
 * thrown, `signal` is aborted or `stop()` says so; items already running finish first (so
 * their results can still be written), then the first failure is rethrown. An abort is
 * not a failure here: the caller decides what it means.
 */
export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<void>,
  opts: { signal?: AbortSignal; stop?: () => boolean } = {},
): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const lane = async () => {
    while (next < items.length && !failure && !opts.signal?.aborted && !opts.stop?.()) {
      const i = next++;
      try {
        await fn(items[i]!, i);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failure) throw failure.err;
}

/**
 * Runs `fn` over `items` with at most `limit` in flight; resolves in input order. The
 * first failure stops new work and rejects (items already running finish first, so
 * their results can still be cached by `fn`); so does an abort.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>, signal?: AbortSignal): Promise<R[]> {
  const out: R[] = new Array(items.length);
  await forEachLimit(items, limit, async (item, i) => void (out[i] = await fn(item, i)), { signal });
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
  return out;
}

/** `items` in batches of `size` (the last may be shorter): one request each. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
