import { readFileSync } from 'node:fs';

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

export type WindowResult = {
  /** calls per second that ended inside the window */
  rate: number;
  meanMs: number | null;
  failed: number;
  /** this process's CPU per call over the whole run, warm-up included */
  cpuMsPerCall: number;
  /** the same inside the window only (warm-up JIT and connection set-up excluded) */
  windowCpuMsPerCall: number | null;
};

/**
 * `c` lanes, each keeping one call in flight (exactly `c` outstanding) for warm-up +
 * duration; calls that end inside [warm-up, warm-up + duration) count. A failed call
 * is counted, not timed.
 */
export async function driveWindow(c: number, durationMs: number, warmupMs: number, once: (lane: number, i: number) => Promise<unknown>): Promise<WindowResult> {
  const t0 = performance.now();
  const from = t0 + warmupMs;
  const to = from + durationMs;
  let done = 0;
  let failed = 0;
  let latSum = 0;
  let calls = 0;
  const cpu0 = process.cpuUsage();
  let cpuFrom: NodeJS.CpuUsage | undefined;
  let callsFrom = 0;
  let windowCpuMsPerCall: number | null = null;
  const t1 = setTimeout(() => ((cpuFrom = process.cpuUsage()), (callsFrom = calls)), warmupMs);
  const t2 = setTimeout(() => {
    if (!cpuFrom || calls === callsFrom) return;
    const u = process.cpuUsage(cpuFrom);
    windowCpuMsPerCall = (u.user + u.system) / 1000 / (calls - callsFrom);
  }, warmupMs + durationMs);
  const lane = async (w: number) => {
    for (let i = 0; performance.now() < to; i++) {
      const s = performance.now();
      calls++;
      try {
        await once(w, i);
      } catch {
        failed++;
        continue;
      }
      const e = performance.now();
      if (e >= from && e < to) {
        done++;
        latSum += e - s;
      }
    }
  };
  await Promise.all(Array.from({ length: c }, (_, w) => lane(w)));
  clearTimeout(t1);
  clearTimeout(t2);
  const cpu = process.cpuUsage(cpu0);
  return { rate: done / (durationMs / 1000), meanMs: done ? latSum / done : null, failed, cpuMsPerCall: (cpu.user + cpu.system) / 1000 / Math.max(1, calls), windowCpuMsPerCall };
}

export const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** CPU time (user + system, ms) a process has used so far, from /proc; 10 ms resolution. */
export function processCpuMs(pid: number): number {
  if (pid === process.pid) {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Merges load results of the same path measured in several chunks. */
export function mergeLoads(parts: LoadResult[]): LoadResult {
  const n = parts.reduce((a, r) => a + r.n, 0);
  const seconds = parts.reduce((a, r) => a + r.seconds, 0);
  const p50s = parts.map((r) => r.p50).sort((a, b) => a - b);
  return { n, seconds, rps: n / seconds, p50: p50s[Math.floor(p50s.length / 2)]!, p99: Math.max(...parts.map((r) => r.p99)) };
}
