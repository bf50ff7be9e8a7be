/** Latency percentiles and rates shared by the benchmarks. */
export function percentile(sortedMs: number[], p: number): number {
  if (sortedMs.length === 0) return NaN;
  const i = Math.min(sortedMs.length - 1, Math.max(0, Math.ceil((p / 100) * sortedMs.length) - 1));
  return sortedMs[i]!;
}

export type LoadResult = { n: number; seconds: number; rps: number; p50: number; p99: number };

/** Runs `n` calls of `once` with `inFlight` outstanding at a time; returns rate and latency. */
export async function drive(n: number, inFlight: number, once: (i: number) => Promise<unknown>): Promise<LoadResult> {
  const lat: number[] = new Array(n);
  let next = 0;
  const t0 = performance.now();
  async function lane() {
    while (next < n) {
      const i = next++;
      const s = performance.now();
      await once(i);
      lat[i] = performance.now() - s;
    }
  }
  await Promise.all(Array.from({ length: Math.min(inFlight, n) }, lane));
  const seconds = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { n, seconds, rps: n / seconds, p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

export const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
