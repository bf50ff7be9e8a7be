import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { defineContract, defineRole } from '../../protocols/role.ts';
import { isLooptoolError } from '../../protocols/errors.ts';
import { Envelope, roleSubject } from '../../protocols/envelope.ts';
import { readTrace } from '../../runtime/bus/trace-stream.ts';
import { encodeJson } from '../../runtime/bus/codec.ts';
import { startTestBus, type TestBus } from '../helpers/bus.ts';

// A role declared right here, in the test file: the runtime serves it unchanged.
const counter = defineContract({
  name: 'counter',
  verbs: {
    bump: {
      input: z.object({ key: z.string(), delayMs: z.number().int().min(0).max(1000).default(0) }),
      output: z.object({ key: z.string(), seen: z.number().int(), host: z.string() }),
    },
    broken: { input: z.object({}), output: z.object({ ok: z.literal(true) }) },
  },
});

function counterRole(calls: Map<string, number>, gauge: { now: number; max: number }) {
  return defineRole({
    contract: counter,
    concurrency: 4,
    verbs: {
      bump: {
        async handle({ key, delayMs }, ctx) {
          gauge.now++;
          gauge.max = Math.max(gauge.max, gauge.now);
          try {
            calls.set(key, (calls.get(key) ?? 0) + 1);
            if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
            else await Promise.resolve();
            return { key, seen: calls.get(key)!, host: ctx.actor.split('/')[0]! };
          } finally {
            gauge.now--;
          }
        },
      },
      broken: {
        async handle() {
          return { ok: 'nope' } as never;
        },
      },
    },
  });
}

let bus: TestBus;
before(async () => {
  bus = await startTestBus();
});
after(async () => {
  await bus.stop();
});

test('invalid input gets an error reply naming the field; the actor never sees it', async (t) => {
  const calls = new Map<string, number>();
  const node = await bus.node('validation');
  await node.serve(counterRole(calls, { now: 0, max: 0 }));
  // Bypass the typed client so the host itself must reject it.
  const env: Envelope = { id: 'bad-1', run: 'validation', trace: 't', parent: null, from: 'test', kind: 'request', ts: Date.now(), payload: { key: 42 } };
  const reply = await node.nc.request(roleSubject('validation', 'counter', 'bump'), encodeJson(env), { timeout: 5000 });
  const parsed = Envelope.parse(JSON.parse(new TextDecoder().decode(reply.data)));
  assert.equal(parsed.kind, 'error');
  const payload = parsed.payload as { code: string; issues: { path: string; message: string }[] };
  assert.equal(payload.code, 'invalid_input');
  assert.equal(payload.issues[0]!.path, 'payload.key');
  assert.match(payload.issues[0]!.message, /expected string/);
  const notJson = await node.nc.request(roleSubject('validation', 'counter', 'bump'), new TextEncoder().encode('{oops'), { timeout: 5000 });
  assert.equal((JSON.parse(new TextDecoder().decode(notJson.data)) as Envelope).kind, 'error');
  assert.equal(calls.size, 0);
  t.after(() => node.stop());
  // An answer that breaks the role's own output schema is an error too, not garbage.
  await assert.rejects(node.call(counter, 'broken', {}), (e: unknown) => isLooptoolError(e, 'invalid_output') && /payload\.ok/.test(e.message));
});

test('a burst of 2,000 concurrent requests at concurrency 4: each answered exactly once', async (t) => {
  const calls = new Map<string, number>();
  const gauge = { now: 0, max: 0 };
  const node = await bus.node('burst');
  t.after(() => node.stop());
  const [host] = await node.serve(counterRole(calls, gauge));
  const keys = Array.from({ length: 2000 }, (_, i) => `k${i}`);
  const replies = await Promise.all(keys.map((key) => node.call(counter, 'bump', { key }, { timeoutMs: 60_000 })));
  assert.equal(replies.length, 2000);
  assert.deepEqual(new Set(replies.map((r) => r.key)).size, 2000, 'every key answered');
  for (const r of replies) assert.equal(r.seen, 1, `${r.key} ran ${r.seen} times`);
  for (const k of keys) assert.equal(calls.get(k), 1, `${k} handled ${calls.get(k)} times`);
  assert.ok(gauge.max <= 4, `concurrency exceeded: ${gauge.max}`);
  assert.equal(host!.stats().served, 2000);
});

test('a retried request id is answered from the cache, not run twice', async (t) => {
  const calls = new Map<string, number>();
  const node = await bus.node('dedupe');
  t.after(() => node.stop());
  await node.serve(counterRole(calls, { now: 0, max: 0 }));
  const [a, b] = await Promise.all([
    node.call(counter, 'bump', { key: 'same', delayMs: 50 }, { id: 'fixed-id' }),
    node.call(counter, 'bump', { key: 'same', delayMs: 50 }, { id: 'fixed-id' }),
  ]);
  const c = await node.call(counter, 'bump', { key: 'same' }, { id: 'fixed-id' });
  assert.equal(calls.get('same'), 1);
  assert.deepEqual([a.seen, b.seen, c.seen], [1, 1, 1]);
});

test('three replicas in a queue group share the load', async (t) => {
  const calls = new Map<string, number>();
  const node = await bus.node('replicas');
  t.after(() => node.stop());
  const hosts = await node.serve(counterRole(calls, { now: 0, max: 0 }), { replicas: 3 });
  await Promise.all(Array.from({ length: 600 }, (_, i) => node.call(counter, 'bump', { key: `r${i}`, delayMs: 2 })));
  const served = hosts.map((h) => h.stats().served);
  assert.equal(served.reduce((a, b) => a + b, 0), 600);
  for (const s of served) assert.ok(s >= 60, `a replica served only ${s} of 600: ${served.join(', ')}`);
});

test('the trace stream holds every request and reply of a run', async (t) => {
  const calls = new Map<string, number>();
  const node = await bus.node('traced');
  t.after(() => node.stop());
  await node.serve(counterRole(calls, { now: 0, max: 0 }));
  const n = 150;
  await Promise.all(Array.from({ length: n }, (_, i) => node.call(counter, 'bump', { key: `t${i}` })));
  await node.tracer.close();
  const kinds = new Map<string, Set<string>>();
  for await (const e of readTrace(node.nc, { run: 'traced', role: 'counter' })) {
    if (!kinds.has(e.kind)) kinds.set(e.kind, new Set());
    if (e.msg) kinds.get(e.kind)!.add(e.msg);
  }
  assert.equal(kinds.get('request')?.size, n);
  assert.equal(kinds.get('reply')?.size, n);
  assert.deepEqual(kinds.get('request'), kinds.get('reply'));
  assert.ok((kinds.get('state')?.size ?? 0) >= n, 'state changes are traced');
});

// A role that reports as it works (as the trainer reports each step) and then answers at once.
const reporter = defineContract({
  name: 'reporter',
  verbs: { work: { input: z.object({ steps: z.number().int().min(0), fail: z.boolean().default(false) }), output: z.object({ steps: z.number().int() }) } },
});

test("a call's own events reach a watcher before its reply: the caller has them all when the call returns, answered or failed", async (t) => {
  const node = await bus.node('reported');
  t.after(() => node.stop());
  await node.serve(
    defineRole({
      contract: reporter,
      concurrency: 1,
      verbs: {
        work: {
          async handle({ steps, fail }, ctx) {
            for (let i = 0; i < steps; i++) ctx.emit('metric', { step: i });
            if (fail) throw new Error('failed after reporting');
            return { steps };
          },
        },
      },
    }),
  );
  const seen = new Map<string, number>();
  const unwatch = node.watchTraces('reporter', ['metric'], (e) => seen.set(e.msg!, (seen.get(e.msg!) ?? 0) + 1));
  t.after(unwatch);
  for (let k = 0; k < 20; k++) {
    const id = `report-${k}`;
    assert.equal((await node.call(reporter, 'work', { steps: 7 }, { id })).steps, 7);
    assert.equal(seen.get(id), 7, `call ${k}: events that arrived before its reply`);
  }
  await assert.rejects(node.call(reporter, 'work', { steps: 3, fail: true }, { id: 'report-failed', retries: 0 }));
  assert.equal(seen.get('report-failed'), 3);
});

test('no responders: a clear, retryable error after bounded retries', async (t) => {
  const node = await bus.node('nobody');
  t.after(() => node.stop());
  const ghost = defineContract({ name: 'ghost', verbs: { boo: { input: z.object({}), output: z.object({}) } } });
  await assert.rejects(node.call(ghost, 'boo', {}, { retries: 1, timeoutMs: 500 }), (e: unknown) => isLooptoolError(e, 'no_responders') && /ghost\.boo in namespace "nobody"/.test(e.message) && /looptool\.rpc\.nobody\.ghost\.boo/.test(e.message));
});

test('a host whose bus goes away while its init runs frees what the init built (a worker left running would keep the process alive)', async () => {
  const node = await bus.node('init-lost');
  const freed: string[] = [];
  const role = defineRole({
    contract: counter,
    concurrency: 1,
    init: async () => {
      await node.nc.close();
      return 'resource';
    },
    dispose: (r: string) => void freed.push(r),
    verbs: { bump: { handle: async ({ key }) => ({ key, seen: 1, host: 'h' }) }, broken: { handle: async () => ({ ok: true as const }) } },
  });
  await assert.rejects(node.serve(role));
  assert.deepEqual(freed, ['resource']);
  await node.stop().catch(() => undefined);
});
