import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { startEmbeddedNats } from '../runtime/bus/server.ts';
import { startLoopbackCluster } from '../runtime/bus/cluster.ts';
import { LooptoolNode } from '../runtime/bus/node.ts';
import { defineBench } from './result.ts';
import { drive, mergeLoads, processCpuMs, round, type LoadResult } from './stats.ts';
import { parseFlags, intFlag } from '../runtime/cli/args.ts';
import { echo, payload } from './bus-echo.ts';

const here = dirname(fileURLToPath(import.meta.url));

export default defineBench({
  name: 'bus',
  summary: 'request/reply through a role host (validation + actor + tracing) vs raw NATS, same payloads, same run (--cluster: through a 3-node loopback cluster)',
  async run(argv) {
    const { values } = parseFlags(argv, { n: { type: 'string' }, chunks: { type: 'string' }, cluster: { type: 'boolean', default: false } });
    const n = intFlag(values.n, 'n', 16000, 100);
    const chunks = intFlag(values.chunks, 'chunks', 8, 2);
    const dir = mkdtempSync(join(tmpdir(), 'looptool-bench-'));
    // --cluster: three nats-servers with routes and JetStream (trace stream R3, acked trace
    // publishes); the client on node 1 and the serving process on node 2, so every request
    // and reply crosses a route.
    const cluster = values.cluster ? await startLoopbackCluster({ dir: join(dir, 'cluster') }) : undefined;
    const single = cluster ? undefined : await startEmbeddedNats({ storeDir: join(dir, 'nats') });
    const clientUrl = cluster ? cluster.nodes[0]!.url : single!.url;
    const servingUrl = cluster ? cluster.nodes[1]!.url : single!.url;
    const serverPids = cluster ? cluster.nodes.map((x) => x.server!.pid) : [single!.pid];
    const server = { stop: () => (cluster ? cluster.stop() : single!.stop()) };
    // Both responders live in one other process, as a role would in a real run.
    const child = spawn(process.execPath, [...(process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []), '--import', 'tsx', join(here, 'bus-serve.ts'), servingUrl, dir], { stdio: ['pipe', 'pipe', 'inherit'] });
    const nc = await connect({ servers: clientUrl });
    const data = new TextEncoder().encode(JSON.stringify(payload));
    try {
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', () => resolve());
        child.once('exit', (c) => reject(new Error(`bench server exited (${c})`)));
      });
      const clientNode = await LooptoolNode.start({ run: 'bench', runDir: dir, nc });
      const raw = (i: number) => nc.request('bench.raw', data, { timeout: 10_000 }).then(() => i);
      const host = (i: number) => clientNode.call(echo, 'echo', { ...payload, n: i }, { timeoutMs: 10_000 });
      const results: Record<string, LoadResult> = {};
      const cpu: Record<string, number[]> = {};
      // CPU per request of each process (this client, the serving process, nats-server: all nodes together).
      const pids = [process.pid, child.pid!, ...serverPids];
      const cpuNow = () => {
        const each = pids.map(processCpuMs);
        return [each[0]!, each[1]!, each.slice(2).reduce((a, b) => a + b, 0)];
      };
      const measure = async (key: string, m: number, inFlight: number, once: (i: number) => Promise<unknown>) => {
        const before = cpuNow();
        const r = await drive(m, inFlight, once);
        const used = cpuNow().map((v, i) => v - before[i]!);
        cpu[key] = (cpu[key] ?? [0, 0, 0]).map((v, i) => v + used[i]!);
        return r;
      };
      await drive(500, 16, raw);
      await drive(500, 16, host);
      for (const inFlight of [1, 64]) {
        const m = Math.floor((inFlight === 1 ? Math.max(200, Math.floor(n / 4)) : n) / chunks);
        // Alternate short chunks, swapping the order each time, so a noisy moment on a
        // shared machine lands on both paths rather than on one.
        const parts: Record<'raw' | 'host', LoadResult[]> = { raw: [], host: [] };
        for (let c = 0; c < chunks; c++) {
          const order = c % 2 === 0 ? (['raw', 'host'] as const) : (['host', 'raw'] as const);
          for (const path of order) parts[path].push(await measure(`${path}_${inFlight}`, m, inFlight, path === 'raw' ? raw : host));
        }
        results[`raw_${inFlight}`] = mergeLoads(parts.raw);
        results[`host_${inFlight}`] = mergeLoads(parts.host);
      }
      const cpuPerReq = (key: string) => cpu[key]!.map((ms) => round((ms * 1000) / results[key]!.n, 0));
      const rows = Object.entries(results).map(
        ([k, r]) =>
          `${k.padEnd(8)} ${r.n.toString().padStart(6)} req  ${round(r.rps, 0).toString().padStart(7)} req/s  p50 ${round(r.p50, 3)} ms  p99 ${round(r.p99, 3)} ms  CPU µs/req: ${cpuPerReq(k).map((v, i) => `${['client', 'serving', 'nats'][i]} ${v}`).join(', ')}`,
      );
      console.log(rows.join('\n'));
      const ratio1 = results.host_1!.rps / results.raw_1!.rps;
      const ratio64 = results.host_64!.rps / results.raw_64!.rps;
      console.log(`host/raw: one at a time ${round(ratio1)}x, 64 in flight ${round(ratio64)}x (target >= 0.5x at 64)`);
      const values: Record<string, number> = { payload_bytes: data.length, chunks, nats_servers: serverPids.length, ratio_1: round(ratio1, 3), ratio_64: round(ratio64, 3) };
      for (const [k, r] of Object.entries(results)) {
        values[`${k}_rps`] = round(r.rps, 0);
        values[`${k}_p50_ms`] = round(r.p50, 3);
        values[`${k}_p99_ms`] = round(r.p99, 3);
        const [c, sv, ns] = cpuPerReq(k);
        Object.assign(values, { [`${k}_cpu_us_client`]: c, [`${k}_cpu_us_serving`]: sv, [`${k}_cpu_us_nats`]: ns });
      }
      await clientNode.stop();
      return { name: cluster ? 'bus-cluster' : 'bus', values, target: 'host >= 0.5x raw NATS req/s at 64 in flight', pass: ratio64 >= 0.5 };
    } finally {
      child.stdin!.end();
      await new Promise((r) => setTimeout(r, 200));
      child.kill('SIGKILL');
      await nc.close().catch(() => undefined);
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
});
