import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { type TraceEvent } from '../../protocols/trace.ts';
import { startLoopbackCluster } from '../../runtime/bus/cluster.ts';
import { ensureTraceStream, readTrace, traceStreamInfo } from '../../runtime/bus/trace-stream.ts';
import { TracePublisher } from '../../runtime/bus/trace-publisher.ts';

/*
 * The trace stream without a leader for longer than an election takes on an idle machine.
 * A publisher gave a batch up after ten quick tries (~13 s), so a slow election (a loaded CI
 * machine) lost every event traced in it; now it publishes again for up to 90 s.
 */
test('trace batches published while the trace stream has no leader (two of three nodes down for 16 s) are all stored once the nodes are back', async () => {
  const root = mkdtempSync(join(tmpdir(), 'looptool-outage-'));
  const cluster = await startLoopbackCluster({ dir: root });
  try {
    const probe = await connect({ servers: cluster.nodes[0]!.url });
    await ensureTraceStream(probe);
    const leader = (await traceStreamInfo(probe)).cluster?.leader;
    await probe.close();
    // keep one node that does not lead the stream: the other two, the leader among them, go down
    const down = [cluster.nodes.find((n) => n.name === leader)!];
    const kept = cluster.nodes.find((n) => n.name !== leader)!;
    down.push(cluster.nodes.find((n) => n !== kept && n !== down[0])!);
    const nc = await connect({ servers: kept.url });
    const tracer = new TracePublisher(nc, 'outage');
    for (const n of down) process.kill(n.server!.pid, 'SIGKILL');
    for (let i = 0; i < 100; i++) tracer.emit({ role: 'r', kind: 'log', data: { i } });
    await new Promise((r) => setTimeout(r, 16_000));
    assert.ok(tracer.republished >= 2, `the batch was being published again (${tracer.republished} times)`);
    await Promise.all(down.map((n) => n.start()));
    await tracer.close();
    assert.equal(tracer.dropped, 0);
    const got: number[] = [];
    for await (const e of readTrace(nc, { run: 'outage' }) as AsyncGenerator<TraceEvent>) got.push((e.data as { i: number }).i);
    assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => i));
    await nc.close();
  } finally {
    await cluster.stop();
    rmSync(root, { recursive: true, force: true });
  }
});
