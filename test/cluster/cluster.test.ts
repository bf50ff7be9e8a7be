import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { type TraceEvent } from '../../protocols/trace.ts';
import { startLoopbackCluster, type ClusterNode } from '../../runtime/bus/cluster.ts';
import { LooptoolNode } from '../../runtime/bus/node.ts';
import { processAlive } from '../../runtime/process.ts';
import { ensureTraceStream, readTrace, traceStreamInfo } from '../../runtime/bus/trace-stream.ts';
import type { BusEvent } from '../../runtime/bus/connect.ts';
import { startCli, type CliProcess } from '../helpers/cli.ts';
import { relayContract } from './ledger-roles.ts';

const WORK = 1500;

test('a 3-node cluster on loopback: roles spread over the nodes, one node SIGKILLed mid-run; the run completes with nothing lost or doubled', async () => {
  const root = mkdtempSync(join(tmpdir(), 'looptool-cluster-'));
  const ledger = join(root, 'ledger');
  const cluster = await startLoopbackCluster({ dir: join(root, 'nats') });
  const env = { LOOPTOOL_RUNS: join(root, 'runs'), LOOPTOOL_TEST_LEDGER: ledger };
  const procs: CliProcess[] = [];
  let driver: LooptoolNode | undefined;
  try {
    // the node killed below (n3, the leaf's) is the one leading the trace stream: its loss is
    // the hardest for the trace, which has no leader until the other two elect one
    const probe = await connect({ servers: cluster.url });
    await ensureTraceStream(probe);
    const leader = (await traceStreamInfo(probe)).cluster?.leader;
    await probe.close();
    const n3 = cluster.nodes.find((n) => n.name === leader)!;
    const [n1, n2] = cluster.nodes.filter((n) => n !== n3) as [ClusterNode, ClusterNode];
    // each process is given one node; it learns the others from the cluster and fails over to them
    const relay = startCli(['agent', 'relay', '--module', 'test/cluster/ledger-roles.ts', '--namespace', 'cl', '--run', 'relays', '--nats', n2.url], env);
    const leaf = startCli(['agent', 'leaf', '--module', 'test/cluster/ledger-roles.ts', '--namespace', 'cl', '--run', 'leaves', '--nats', n3.url], env);
    procs.push(relay, leaf);
    await Promise.all([relay.line(/serving relay/, 60_000), leaf.line(/serving leaf/, 60_000)]);
    const events: BusEvent[] = [];
    driver = await LooptoolNode.start({ run: 'clustered', namespace: 'cl', runDir: join(root, 'runs', 'clustered'), bus: { url: n1.url, name: 'cluster-test' }, announce: false, onBus: (e) => events.push(e) });

    // the run: WORK pieces of work, 16 at a time, each relay -> leaf across two other nodes
    let next = 0;
    let done = 0;
    const answers: { key: string; via: number; by: number }[] = [];
    const lane = async () => {
      while (next < WORK) {
        const key = `k${next++}`;
        answers.push(await driver!.call(relayContract, 'pass', { key }, { timeoutMs: 30_000, retries: 5 }));
        done++;
      }
    };
    const running = Promise.all(Array.from({ length: 16 }, lane));
    while (done < WORK / 4) await new Promise((r) => setTimeout(r, 20));
    // the node the leaf role is connected to
    process.kill(n3.server!.pid, 'SIGKILL');
    const killedAt = done;
    await running;
    assert.ok(killedAt < WORK, 'the node died while the run was going on');
    assert.ok(!processAlive(n3.server!.pid));
    await leaf.line(/bus: reconnected to /, 30_000, { printed: true });

    // nothing lost, nothing doubled: every key answered once, and run once by the leaf
    assert.equal(answers.length, WORK);
    assert.equal(new Set(answers.map((a) => a.key)).size, WORK);
    const ran = readdirSync(root)
      .filter((f) => f.startsWith('ledger.'))
      .flatMap((f) => readFileSync(join(root, f), 'utf8').split('\n').filter(Boolean));
    assert.equal(new Set(ran).size, WORK, 'every piece of work ran');
    assert.equal(ran.length, WORK, 'and none ran twice');

    // the trace: replicated on three nodes, every request traced once with one answer. It is
    // whole once each process has stopped, which waits for its batches to be stored.
    for (const p of [relay, leaf]) p.child.kill('SIGINT');
    assert.deepEqual(await Promise.all([relay.exited, leaf.exited]), [0, 0]);
    assert.doesNotMatch(relay.output() + leaf.output(), /could not be stored/);
    await driver.tracer.close();
    assert.equal((await traceStreamInfo(driver.nc)).config.num_replicas, 3);
    const byMsg = new Map<string, { request: number; answer: number }>();
    for await (const e of readTrace(driver.nc, { run: 'clustered' }) as AsyncGenerator<TraceEvent>) {
      if (!e.msg || !['request', 'reply', 'error'].includes(e.kind) || (e.role !== 'relay' && e.role !== 'leaf')) continue;
      const c = byMsg.get(`${e.role}/${e.msg}`) ?? { request: 0, answer: 0 };
      if (e.kind === 'request') c.request++;
      else c.answer++;
      byMsg.set(`${e.role}/${e.msg}`, c);
    }
    assert.equal(byMsg.size, 2 * WORK, 'a relay and a leaf request per piece of work');
    const bad = [...byMsg].filter(([, c]) => c.request !== 1 || c.answer !== 1);
    assert.deepEqual(bad.slice(0, 5), [], `${bad.length} requests not traced exactly once with one answer`);
  } finally {
    await driver?.stop().catch(() => undefined);
    for (const p of procs) p.child.kill('SIGKILL');
    await cluster.stop();
    rmSync(root, { recursive: true, force: true });
  }
});
