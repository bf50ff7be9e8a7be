/**
 * Reads until `done` holds or `timeoutMs` has passed, and returns the last reading: for what
 * arrives a little after the call that caused it (trace batches flush every 20 ms, and the
 * stream stores them after that), where a fixed sleep is too short on a loaded machine. The
 * assertion that follows says what was missing.
 */
export async function eventually<T>(read: () => Promise<T> | T, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}
