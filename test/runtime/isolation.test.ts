import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { z } from 'zod';
import { RunConfig } from '../../protocols/config.ts';
import { defineContract, defineRole } from '../../protocols/role.ts';
import { isLooptoolError } from '../../protocols/errors.ts';
import type { TraceEvent } from '../../protocols/trace.ts';
import { seedRoles } from '../../agents/registry.ts';
import { LooptoolNode } from '../../runtime/bus/node.ts';
import { readTrace } from '../../runtime/bus/trace-stream.ts';
import { runSeed, seedFiles, serveSeedRoles, settleRunConfig } from '../../runtime/seed.ts';
import { startTestBus, type TestBus } from '../helpers/bus.ts';
import { startCli } from '../helpers/cli.ts';
import { eventually } from '../helpers/eventually.ts';

// A role whose answer depends on the config of the process serving it, as the sim roles' do.
const whoContract = defineContract({ name: 'who', verbs: { ask: { input: z.object({ n: z.number() }), output: z.object({ n: z.number(), flavour: z.string(), run: z.string() }) } } });
const whoRole = defineRole({
  contract: whoContract,
  concurrency: 2,
  init: (env) => ({ flavour: String(env.config.flavour ?? 'plain') }),
  verbs: { ask: { handle: async ({ n }, ctx) => ({ n, flavour: ctx.resources.flavour, run: ctx.run }) } },
});

let bus: TestBus;
before(async () => {
  bus = await startTestBus();
});
after(async () => {
  await bus.stop();
});

async function node(run: string, config: Record<string, unknown>, namespace?: string): Promise<LooptoolNode> {
  return LooptoolNode.start({ run, namespace, runDir: mkdtempSync(join(bus.dir, `${run}-`)), nc: await bus.connect(), config });
}

async function traceOf(run: string): Promise<TraceEvent[]> {
  const nc = await bus.connect();
  const out: TraceEvent[] = [];
  for await (const e of readTrace(nc, { run })) out.push(e);
  await nc.close();
  return out;
}

test('three runs on one bus serving the same role: each run is answered only by its own hosts, and their trace events are filed under it', async () => {
  const a = await node('iso-a', { flavour: 'a' });
  const b = await node('iso-b', { flavour: 'b' });
  const other = await node('iso-up', { flavour: 'up' });
  try {
    for (const n of [a, b, other]) await n.serve(whoRole, { replicas: 2 });
    const calls = Array.from({ length: 60 }, (_, i) => [a.call(whoContract, 'ask', { n: i }), b.call(whoContract, 'ask', { n: i })]).flat();
    const answers = await Promise.all(calls);
    assert.ok(answers.filter((x, i) => i % 2 === 0).every((x) => x.flavour === 'a' && x.run === 'iso-a'));
    assert.ok(answers.filter((x, i) => i % 2 === 1).every((x) => x.flavour === 'b' && x.run === 'iso-b'));
    const served = (n: LooptoolNode) => n.hosts.reduce((s, h) => s + h.served, 0);
    assert.equal(served(a), 60);
    assert.equal(served(b), 60);
    assert.equal(served(other), 0, 'the third run served nobody else');
    const ta = await eventually(
      async () => (await traceOf('iso-a')).filter((e) => e.role === 'who'),
      (t) => t.filter((e) => e.kind === 'request').length >= 60 && t.filter((e) => e.kind === 'reply').length >= 60,
    );
    assert.equal(ta.filter((e) => e.kind === 'request').length, 60);
    assert.equal(ta.filter((e) => e.kind === 'reply').length, 60);
    assert.equal((await traceOf('iso-up')).filter((e) => e.role === 'who' && e.kind === 'request').length, 0);
  } finally {
    for (const n of [a, b, other]) await n.stop();
  }
});

test('a shared namespace: runs without roles of their own are served by the pool, and the pool files its trace events under the asking run', async () => {
  const pool = await node('pool-owner', { flavour: 'pool' }, 'shared-pool');
  const a = await node('asker-a', {}, 'shared-pool');
  const b = await node('asker-b', {}, 'shared-pool');
  const outsider = await node('asker-c', {});
  try {
    await pool.serve(whoRole, { replicas: 2 });
    const [x, y] = await Promise.all([a.call(whoContract, 'ask', { n: 1 }), b.call(whoContract, 'ask', { n: 2 })]);
    assert.deepEqual(x, { n: 1, flavour: 'pool', run: 'asker-a' });
    assert.deepEqual(y, { n: 2, flavour: 'pool', run: 'asker-b' });
    // a run in its own namespace (the default) is not served by the pool
    await assert.rejects(outsider.call(whoContract, 'ask', { n: 3 }, { retries: 0, timeoutMs: 2000 }), (e: unknown) => isLooptoolError(e, 'no_responders') && /namespace "asker-c"/.test(e.message));
    const ta = await eventually(
      () => traceOf('asker-a'),
      (t) => t.some((e) => e.role === 'who' && e.kind === 'request') && t.some((e) => e.role === 'who' && e.kind === 'state'),
    );
    assert.ok(ta.some((e) => e.role === 'who' && e.kind === 'request'), 'the request is traced under the asking run');
    assert.ok(ta.some((e) => e.role === 'who' && e.kind === 'state' && /\/who\/\d+$/.test(e.actor ?? '')), 'and the slot states too');
    assert.equal((await traceOf('pool-owner')).filter((e) => e.role === 'who' && e.kind !== 'state').length, 0);
  } finally {
    for (const n of [pool, a, b, outsider]) await n.stop();
  }
});

async function seedRun(run: string, config: unknown, n: number, peers: LooptoolNode[] = []) {
  const cfg = RunConfig.parse(config);
  const dir = mkdtempSync(join(bus.dir, `${run}-`));
  const nd = await LooptoolNode.start({ run, runDir: dir, nc: await bus.connect(), config: cfg as unknown as Record<string, unknown> });
  await serveSeedRoles(nd, seedRoles);
  return {
    nd,
    async go() {
      try {
        const summary = await runSeed({ node: nd, runDir: dir, config: settleRunConfig(dir, cfg), dialogues: n, concurrency: 4, trace: false });
        const f = seedFiles(dir);
        const served = Object.fromEntries(nd.hosts.map((h) => [h.role, h.served]));
        return { summary, accepted: readFileSync(f.dialogues, 'utf8'), rejected: readFileSync(f.rejected, 'utf8'), served, peers: peers.length };
      } finally {
        await nd.stop();
      }
    },
  };
}

test('two seed runs with different configs on one bus beside a third serving the same roles: each gives what it gives alone', async () => {
  const A = { seed: 'iso-a' };
  const B = { seed: 'iso-b', sim: { tool: { errorRate: 0.4, maxItems: 1 }, user: { surfaceRate: 0.1 } } };
  const aloneA = await (await seedRun('alone-a', A, 10)).go();
  const aloneB = await (await seedRun('alone-b', B, 10)).go();
  // the roles of a third run (like `looptool up` with its own config) on the same bus
  const third = await LooptoolNode.start({ run: 'third', runDir: mkdtempSync(join(bus.dir, 'third-')), nc: await bus.connect(), config: RunConfig.parse({ seed: 'third' }) as unknown as Record<string, unknown> });
  try {
    await serveSeedRoles(third, seedRoles);
    const [ra, rb] = await Promise.all([seedRun('both-a', A, 10), seedRun('both-b', B, 10)]);
    const [bothA, bothB] = await Promise.all([ra.go(), rb.go()]);
    assert.equal(bothA.accepted, aloneA.accepted);
    assert.equal(bothA.rejected, aloneA.rejected);
    assert.equal(bothB.accepted, aloneB.accepted);
    assert.equal(bothB.rejected, aloneB.rejected);
    assert.deepEqual(bothA.served, aloneA.served, 'run A served exactly its own requests');
    assert.deepEqual(bothB.served, aloneB.served);
    assert.equal(third.hosts.reduce((s, h) => s + h.served, 0), 0, 'the third run served none of theirs');
    assert.ok(Object.values(aloneA.served).reduce((s, n) => s + n, 0) > 0);
  } finally {
    await third.stop();
  }
});

test('CLI: `up --namespace` serves a pool; `seed --external-roles --namespace` is served by it; without the namespace nobody serves it', async () => {
  const runs = mkdtempSync(join(tmpdir(), 'looptool-iso-'));
  const env = { LOOPTOOL_RUNS: runs };
  const up = startCli(['up', '--run', 'pool-up', '--namespace', 'pool'], env);
  try {
    await up.line(/serving \d+ role/, 60_000);
    const live = JSON.parse(readFileSync(join(runs, '.live', 'pool-up.json'), 'utf8')) as { url: string; pid: number; namespace: string };
    assert.equal(live.namespace, 'pool');
    const seed = startCli(['seed', '--dialogues', '3', '--seed', 'pooled', '--external-roles', '--namespace', 'pool', '--nats', live.url, '--out', join(runs, 'pooled'), '--json'], env);
    assert.equal(await seed.exited, 0, seed.output());
    const nc = await connect({ servers: live.url });
    const events: TraceEvent[] = [];
    for await (const e of readTrace(nc, { run: 'pooled' })) events.push(e);
    const served = events.filter((e) => e.role === 'planner' && e.kind === 'state');
    assert.ok(served.length > 0, 'the planner\'s work is traced under the seed run');
    assert.ok(served.every((e) => e.actor?.includes(`-${live.pid}-`)), 'by the hosts of `up`');
    const upOwn: TraceEvent[] = [];
    for await (const e of readTrace(nc, { run: 'pool-up' })) upOwn.push(e);
    assert.equal(upOwn.filter((e) => e.kind === 'request').length, 0, 'nothing of the seed run is filed under up\'s run');
    await nc.close();
    // the default namespace is the run's own: up's pool does not serve it
    const alone = startCli(['seed', '--dialogues', '2', '--seed', 'lonely', '--external-roles', '--nats', live.url, '--out', join(runs, 'lonely')], env);
    const code = await alone.exited;
    assert.notEqual(code, 0, alone.output());
    assert.match(alone.output(), /no role serves [a-z-]+\.[a-z]+ in namespace "lonely"/);
    up.child.kill('SIGINT');
    assert.equal(await up.exited, 0, up.output());
  } finally {
    up.child.kill('SIGKILL');
    rmSync(runs, { recursive: true, force: true });
  }
});
