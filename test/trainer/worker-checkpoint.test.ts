import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkerProcess } from '../../agents/trainer/worker-process.ts';
import { resolveModelSpec } from '../../agents/trainer/presets.ts';

/** The test cache's nano (scripts/run-tests.mjs builds it). */
const NANO = resolveModelSpec({ preset: 'nano' });

let dir: string;
const workers: WorkerProcess[] = [];
const spawnWorker = async () => {
  const w = await WorkerProcess.start({ threads: 1 });
  workers.push(w);
  return w;
};
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'looptool-ckpt-'));
});
after(async () => {
  await Promise.all(workers.map((w) => w.close()));
  rmSync(dir, { recursive: true, force: true });
});

const prompts = ['Book a table for two', 'Weather in Lima?', 'Convert 5 USD to EUR'].map((content) => ({
  tools: [{ name: 'lookup', description: 'Looks things up', parameters: { type: 'object' as const, properties: { q: { type: 'string' as const } }, required: ['q'] } }],
  messages: [{ role: 'user' as const, content }],
}));
const samples = prompts.map((p, i) => ({ prompt: p, completion: `<tool_call>\n{"name":"lookup","arguments":{"q":"${i}"}}\n</tool_call>` }));
const greedy = async (w: WorkerProcess) =>
  (await w.generate({ prompts, greedy: true, max_new_tokens: 40 })).results.map((r) => r.samples[0].token_ids);

test('save then restore gives identical greedy outputs, in the same and in a fresh worker', async () => {
  const a = await spawnWorker();
  await a.load({ model: NANO, seed: 11, optimizer: { lr: 3e-3 }, micro_batch_tokens: 1024 });
  for (let i = 0; i < 6; i++) await a.sftStep({ samples });
  const before = await greedy(a);
  const ckpt = join(dir, 'ckpt', 'step-6');
  const saved = await a.save({ path: ckpt, meta: { step: 6, note: 'test' } });
  assert.equal(saved.path, ckpt);
  assert.ok(saved.bytes > 1_000_000, 'weights and optimizer state are in it');
  assert.deepEqual(readdirSync(join(dir, 'ckpt')), ['step-6'], 'no temporary directory left behind');

  // Train on other answers: the model moves away from the checkpoint.
  const others = samples.map((x, i) => ({ ...x, completion: `I cannot look that up (${i}).` }));
  for (let i = 0; i < 6; i++) await a.sftStep({ samples: others, lr: 1e-2 });
  const moved = await greedy(a);
  assert.notDeepEqual(moved, before, 'further training changed the greedy outputs');

  const r = await a.restore({ path: ckpt });
  assert.deepEqual(r.meta, { step: 6, note: 'test' });
  assert.equal(r.counters.sft_steps, 6);
  assert.deepEqual(await greedy(a), before);

  const b = await spawnWorker();
  await b.restore({ path: ckpt });
  assert.deepEqual(await greedy(b), before);
  // A fresh worker (a crash replacement restores like this) keeps the micro-batch budget.
  assert.equal((await b.stats()).micro_batch_tokens, 1024);
  // A budget named at restore wins: a run resumed with a smaller trainer.micro_batch_tokens gets it.
  await b.restore({ path: ckpt, micro_batch_tokens: 256 });
  assert.equal((await b.stats()).micro_batch_tokens, 256);
  await assert.rejects(b.restore({ path: ckpt, micro_batch_tokens: 8 }), /micro_batch_tokens/);
  await b.restore({ path: ckpt });
  assert.equal((await b.stats()).micro_batch_tokens, 1024, 'without one, the checkpoint\'s again');

  // The optimizer state came back too: the next step is the same step in both workers.
  await a.restore({ path: ckpt });
  const sa = await a.sftStep({ samples });
  const sb = await b.sftStep({ samples });
  assert.equal(sa.loss, sb.loss);
  assert.equal(sa.grad_norm, sb.grad_norm);
  assert.deepEqual(await greedy(a), await greedy(b));

  // Overwriting a checkpoint replaces it whole.
  await a.save({ path: ckpt, meta: { step: 7 } });
  assert.deepEqual(readdirSync(join(dir, 'ckpt')), ['step-6']);
  assert.deepEqual((await b.restore({ path: ckpt })).meta, { step: 7 });
});

test('a checkpoint saved without the optimizer holds the same weights in a third of the bytes, and restores to a fresh optimizer', async () => {
  const a = await spawnWorker();
  await a.load({ model: NANO, seed: 12, optimizer: { lr: 3e-3 }, micro_batch_tokens: 1024 });
  for (let i = 0; i < 3; i++) await a.sftStep({ samples });
  const withOpt = await a.save({ path: join(dir, 'opt', 'with') });
  const weightsOnly = await a.save({ path: join(dir, 'opt', 'without'), optimizer: false });
  // AdamW keeps two moments per weight: without them a checkpoint is about a third as large.
  assert.ok(weightsOnly.bytes < 0.45 * withOpt.bytes, `${weightsOnly.bytes} bytes without the optimizer, ${withOpt.bytes} with it`);
  const before = await greedy(a);

  const b = await spawnWorker();
  await b.restore({ path: join(dir, 'opt', 'without') });
  assert.deepEqual(await greedy(b), before, 'the weights are whole');
  // What the loop does after every checkpoint (a fresh optimizer) gives the same step from either.
  await a.restore({ path: join(dir, 'opt', 'with') });
  const sa = await a.sftStep({ samples, reset_optimizer: true });
  const sb = await b.sftStep({ samples, reset_optimizer: true });
  assert.equal(sa.loss, sb.loss);
  assert.deepEqual(await greedy(a), await greedy(b));
  // Without a reset the two differ: only one of them continued its moments.
  await a.restore({ path: join(dir, 'opt', 'with') });
  await b.restore({ path: join(dir, 'opt', 'without') });
  await a.sftStep({ samples });
  await b.sftStep({ samples });
  const [sa2, sb2] = [await a.sftStep({ samples }), await b.sftStep({ samples })];
  assert.notEqual(sa2.loss, sb2.loss, 'the restored moments were used where they were saved');
});
