import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startTestBus, type TestBus } from '../helpers/bus.ts';
import { LooptoolNode } from '../../runtime/bus/node.ts';
import roles from '../../agents/trainer/role.ts';
import { acquirePolicy, releasePolicy, sharedPolicyCount } from '../../agents/trainer/shared-worker.ts';
import { labelCompletion, workerPrompt } from '../../agents/trainer/prompts.ts';
import { promptSize } from '../../agents/trainer/train.ts';
import { PolicyContract, TrainerContract, GrpoStepMetrics } from '../../protocols/roles/trainer.ts';
import { LooptoolError } from '../../protocols/errors.ts';
import { TraceBatch, traceSubject, type TraceEvent } from '../../protocols/trace.ts';
import { GrpoSettings } from '../../protocols/grpo.ts';
import { trainerSamples } from './fixtures/samples.ts';
import { processAlive as alive } from '../../runtime/process.ts';

// The trainer agent over a real nats-server with a real torch worker (tiny GPT, one
// CPU thread, short prompts). The tests run in order and share one run directory:
// warm-up, GRPO, a new trainer on the same directory, a worker killed mid-step.

let bus: TestBus;
let runDir: string;
let node: LooptoolNode;
const RUN = 'trainer-test';
const config = {
  seed: 'trainer-test',
  trainer: { model: { preset: 'nano' }, threads: 1, seed: 7 },
};
const samples = trainerSamples(12);
const prompts = samples.slice(0, 6).map((s) => ({ tools: s.tools, messages: s.context }));
const log = { info() {}, warn() {}, error() {}, debug() {} };

async function startNode(): Promise<LooptoolNode> {
  const n = await LooptoolNode.start({ run: RUN, runDir, nc: await bus.connect(), config, log });
  for (const r of roles) await n.serve(r);
  return n;
}

/**
 * Trace events of one role and kind, as they arrive: on the caller's own connection, where
 * the batches a host sent before its reply arrive before the reply, so a call's events are
 * all here when it returns (no waiting for the 20 ms flush).
 */
function collect(role: string, kind: 'metric' | 'progress'): TraceEvent[] {
  const events: TraceEvent[] = [];
  node.nc.subscribe(traceSubject(RUN, role, kind), {
    callback: (_e, m) => {
      events.push(...TraceBatch.parse(JSON.parse(new TextDecoder().decode(m.data))).events);
    },
  });
  return events;
}

const greedy = async () =>
  (await node.call(PolicyContract, 'generate', { prompts, n: 1, temperature: 0, max_new_tokens: 40 })).results.map((r) => r.samples[0]!.text);

before(async () => {
  bus = await startTestBus();
  runDir = bus.dir;
  node = await startNode();
});
after(async () => {
  await node?.stop().catch(() => undefined);
  await bus?.stop();
});

let sftCheckpoint = '';

test('trainer.sft lowers the loss, streams a metric per step and writes a checkpoint; policy.generate and policy.score answer from the trained policy', async () => {
  const metrics = collect('trainer', 'metric');
  const firstGreedy = await greedy();
  const out = await node.call(TrainerContract, 'sft', { samples, epochs: 8, batch_size: 4, lr: 3e-3, seed: 1, reset_optimizer: true });
  assert.equal(out.steps, 24, '12 samples in batches of 4, 8 epochs');
  assert.ok(out.loss_last < out.loss_first * 0.7, `loss ${out.loss_first} → ${out.loss_last}`);
  assert.ok(out.tokens > 0 && out.seconds > 0);
  assert.ok(out.checkpoint && existsSync(join(out.checkpoint, 'meta.json')), 'the checkpoint is on disk');
  sftCheckpoint = out.checkpoint!;
  // Every call of the default config starts a fresh optimizer, so its checkpoints hold none.
  assert.equal(JSON.parse(readFileSync(join(out.checkpoint!, 'meta.json'), 'utf8')).optimizer_param_groups, null);
  const latest = JSON.parse(readFileSync(join(runDir, 'checkpoints', 'latest.json'), 'utf8')) as { path: string; kind: string; steps: number };
  assert.equal(join(runDir, 'checkpoints', latest.path), out.checkpoint);
  assert.equal(latest.kind, 'sft');
  assert.equal(latest.steps, 24);
  const steps = metrics.filter((e) => (e.data as { kind?: string }).kind === 'sft_step');
  assert.equal(steps.length, 24);
  assert.equal((steps[0]!.data as { loss: number }).loss, out.loss_first);

  // Greedy decoding is deterministic and moved with training.
  const a = await greedy();
  assert.deepEqual(await greedy(), a);
  assert.notDeepEqual(a, firstGreedy, 'training changed the greedy answers');

  // Perplexity of the model's own output, and its token log-probs on request.
  const g = await node.call(PolicyContract, 'generate', { prompts: prompts.slice(0, 2), n: 3, temperature: 1, max_new_tokens: 24, seed: 4, return_tokens: true });
  assert.equal(g.results.length, 2);
  for (const r of g.results) {
    assert.equal(r.samples.length, 3);
    for (const s of r.samples) {
      assert.equal(s.token_ids!.length, s.tokens);
      assert.ok(Math.abs(s.logprobs!.reduce((x, y) => x + y, 0) - s.logprob_sum) < 1e-6);
      assert.ok(s.ppl !== null && Math.abs(s.ppl - Math.exp(-s.logprob_sum / s.tokens)) < 1e-6 * s.ppl);
    }
  }
  assert.equal(g.model, out.checkpoint, 'the reply names the checkpoint that answered');
  const g2 = await node.call(PolicyContract, 'generate', { prompts: prompts.slice(0, 2), n: 3, temperature: 1, max_new_tokens: 24, seed: 4, return_tokens: true });
  assert.deepEqual(g2.results, g.results, 'sampling with the same seed repeats');

  // Scoring: a trained label is far more likely than a garbled one.
  const s0 = samples[0]!;
  const sc = await node.call(PolicyContract, 'score', {
    items: [
      { tools: s0.tools, messages: s0.context, completion: labelCompletion(s0.label) },
      { tools: s0.tools, messages: s0.context, completion: 'zq#v ~~ 0x7 plover' },
    ],
  });
  assert.equal(sc.results.length, 2);
  assert.ok(sc.results[0]!.tokens > 10);
  assert.ok(sc.results[0]!.ppl! < sc.results[1]!.ppl!, `label ppl ${sc.results[0]!.ppl} < garbage ppl ${sc.results[1]!.ppl}`);

  // A prompt the model context cannot hold is answered empty; the others normally.
  const long = { tools: s0.tools, messages: [{ role: 'user' as const, content: 'very long request '.repeat(1500) }] };
  const mixed = await node.call(PolicyContract, 'generate', { prompts: [prompts[0]!, long, prompts[1]!], temperature: 0, max_new_tokens: 40 });
  assert.deepEqual(
    mixed.results.map((r) => r.samples[0]!.text),
    [a[0], '', a[1]],
  );
  assert.equal(mixed.results[1]!.samples[0]!.finish_reason, 'length');
});

test('trainer.grpo returns step metrics, streams one grpo_step metric per update, and repeats exactly from the same checkpoint and seed', async () => {
  const metrics = collect('trainer', 'metric');
  const progress = collect('trainer', 'progress');
  const settings = GrpoSettings.parse({ group_size: 6, lr: 1e-4, epochs: 2, max_new_tokens: 40, temperature: 1.0 });
  const round = async () => {
    const r = await node.call(TrainerContract, 'restore', { path: sftCheckpoint });
    assert.equal(r.path, sftCheckpoint);
    const from = metrics.length;
    const out = await node.call(TrainerContract, 'grpo', { samples, round: 1, batch_size: 6, seed: 5, settings });
    return { out, events: metrics.slice(from).map((e) => e.data as Record<string, unknown>), greedy: await greedy() };
  };
  const a = await round();
  const batches = a.events.filter((d) => d.kind === 'grpo_step' || d.kind === 'grpo_rollout');
  assert.equal(batches.length, 4, '12 samples in batches of 6, 2 epochs: one metric event per batch');
  const steps = batches.filter((d) => d.kind === 'grpo_step');
  assert.equal(a.out.steps, steps.length);
  assert.ok(steps.length >= 1, `mixed rewards give at least one update (rewards ${batches.map((d) => d.reward_mean).join(', ')})`);
  for (const d of steps) {
    const m = GrpoStepMetrics.parse(d);
    assert.equal(m.round, 1);
    assert.ok(m.groups_with_signal >= 1 && m.groups_with_signal <= m.groups);
    assert.ok(m.reward_mean > 0 && m.reward_mean < 1, 'a step needs a group with mixed rewards');
    assert.ok(Number.isFinite(m.loss) && Number.isFinite(m.kl) && m.entropy > 0 && m.tokens_per_s > 0);
    assert.ok(m.clip_frac >= 0 && m.clip_frac <= 1);
  }
  // every group is reported with its sample, 12 samples × 2 epochs, and the signal flags add up
  assert.equal(a.out.group_rewards.length, 24);
  assert.deepEqual(new Set(a.out.group_rewards.map((g) => g.id)), new Set(samples.map((s) => s.id)));
  assert.equal(a.out.group_rewards.filter((g) => g.signal).length, a.out.groups_with_signal);
  assert.ok(a.out.group_rewards.every((g) => g.signal === (g.reward > 0 && g.reward < 1)), 'a group has a signal exactly when its rewards are mixed');
  // the round's shares of rollouts cut off, and cut off in a repetition loop, are its batches' weighted by rollouts
  const weighted = (k: string) => batches.reduce((n, d) => n + (d[k] as number) * (d.rollouts as number), 0) / a.out.rollouts;
  for (const k of ['truncated_frac', 'truncated_looping_frac'] as const) assert.ok(Math.abs(a.out[k] - weighted(k)) < 1e-12, `${k}: ${a.out[k]} against ${weighted(k)}`);
  assert.ok(a.out.truncated_looping_frac <= a.out.truncated_frac, 'loops are counted among the rollouts cut off');
  assert.equal(a.out.reward_first, batches[0]!.reward_mean);
  assert.equal(a.out.reward_last, batches.at(-1)!.reward_mean);
  assert.ok(a.out.checkpoint && a.out.checkpoint !== sftCheckpoint && existsSync(join(a.out.checkpoint, 'meta.json')));
  assert.ok(progress.some((e) => (e.data as { phase?: string }).phase === 'grpo'), 'progress events for the CLI bars');

  const b = await round();
  assert.deepEqual(
    b.events.map((d) => [d.kind, d.reward_mean, d.loss ?? null]),
    a.events.map((d) => [d.kind, d.reward_mean, d.loss ?? null]),
    'same checkpoint, same seed: same rollouts, rewards and losses',
  );
  assert.deepEqual(b.greedy, a.greedy);
  assert.notEqual(b.out.checkpoint, a.out.checkpoint, 'every round writes a checkpoint of its own');
});

test('a new trainer on the same run directory restores the latest checkpoint and answers exactly as before', async () => {
  const p = await acquirePolicy({ runDir, config, log });
  const pid = p.worker.pid!;
  const latest = p.current;
  await releasePolicy(p);
  const before = await greedy();
  await node.stop();
  assert.equal(sharedPolicyCount(), 0, 'the last role to stop closed the worker');
  assert.ok(!alive(pid), `worker ${pid} is gone`);

  node = await startNode();
  const g = await node.call(PolicyContract, 'generate', { prompts, n: 1, temperature: 0, max_new_tokens: 40 });
  assert.equal(g.model, latest, 'the new trainer serves the latest checkpoint');
  assert.deepEqual(
    g.results.map((r) => r.samples[0]!.text),
    before,
  );
});

test('trainer.restore refuses a checkpoint of another model or of a base rebuilt since, naming the field, keeps serving the policy it had, and restores one whose base moved', async () => {
  const served = (await node.call(PolicyContract, 'generate', { prompts, n: 1, temperature: 0, max_new_tokens: 40 })).model;
  const before = await greedy();
  const meta = JSON.parse(readFileSync(join(served, 'meta.json'), 'utf8'));
  assert.match(meta.meta.model_fingerprint, /^sha256:[0-9a-f]{64}$/, 'the checkpoint records its base model fingerprint');
  const other = join(runDir, 'other-model-ckpt');
  cpSync(served, other, { recursive: true });
  const refused = async (variant: object, why: RegExp) => {
    writeFileSync(join(other, 'meta.json'), JSON.stringify({ ...meta, ...variant }));
    await assert.rejects(node.call(TrainerContract, 'restore', { path: other }), (err: unknown) => {
      assert.ok(err instanceof LooptoolError, String(err));
      assert.equal(err.code, 'invalid_input');
      assert.match(err.message, /holds another model than the config names/);
      assert.match(err.message, why);
      assert.deepEqual(err.reply.issues.map((i) => i.path), ['trainer.model.preset']);
      return true;
    });
    const g = await node.call(PolicyContract, 'generate', { prompts, n: 1, temperature: 0, max_new_tokens: 40 });
    assert.equal(g.model, served, 'the refused restore left the served policy as it was');
    assert.deepEqual(g.results.map((r) => r.samples[0]!.text), before);
  };
  // trained from the same directory, but its files were other ones (the base was rebuilt since)
  await refused({ meta: { ...meta.meta, model_fingerprint: `sha256:${'0'.repeat(64)}` } }, /the files of \S+nano changed since the checkpoint was written .*Put back the model/);
  // written before fingerprints were recorded: compared by path, as then
  const { model_fingerprint: _f, ...unprinted } = meta.meta;
  await refused({ meta: unprinted, spec: { ...meta.spec, path: join(runDir, 'some-other-model') } }, /some-other-model there, preset "nano"/);
  // its base recorded elsewhere (the run moved to another model cache), with the same files: restored from the configured one
  writeFileSync(join(other, 'meta.json'), JSON.stringify({ ...meta, spec: { ...meta.spec, path: join(runDir, 'some-other-model') } }));
  const ok = await node.call(TrainerContract, 'restore', { path: other });
  assert.equal(ok.path, other);
  const g = await node.call(PolicyContract, 'generate', { prompts, n: 1, temperature: 0, max_new_tokens: 40 });
  assert.deepEqual(g.results.map((r) => r.samples[0]!.text), before, 'the moved checkpoint answers as it did');
  // a checkpoint trained on from it names the configured base, with the same fingerprint
  const next = await node.call(TrainerContract, 'sft', { samples: samples.slice(0, 4), epochs: 1, batch_size: 4, lr: 1e-5 });
  const nextMeta = JSON.parse(readFileSync(join(resolve(runDir, next.checkpoint!), 'meta.json'), 'utf8'));
  assert.equal(nextMeta.spec.path, meta.spec.path);
  assert.equal(nextMeta.meta.model_fingerprint, meta.meta.model_fingerprint);
  await node.call(TrainerContract, 'restore', { path: served });
});

test('a worker killed mid-step is reported as an error; the next request is served by a replacement', async () => {
  const p = await acquirePolicy({ runDir, config, log });
  try {
    const pid = p.worker.pid!;
    const before = await greedy();
    p.worker.once('started', () => process.kill(pid, 'SIGKILL'));
    await assert.rejects(
      node.call(TrainerContract, 'sft', { samples, epochs: 50, batch_size: 4, lr: 1e-3 }, { retries: 0 }),
      (err: unknown) => {
        assert.ok(err instanceof LooptoolError, String(err));
        assert.equal(err.code, 'internal');
        assert.match(err.message, /trainer\.sft step 1 .*died while serving sft_step/s);
        assert.match(err.message, /being replaced/);
        return true;
      },
    );
    // The replacement serves the checkpoint the dead worker had loaded: same answers.
    assert.deepEqual(await greedy(), before);
    assert.ok(p.worker.pid && p.worker.pid !== pid, 'a new worker process');
    assert.equal(p.worker.restarts, 1);
    assert.ok(!alive(pid), 'the killed worker is gone');
    const ok = await node.call(TrainerContract, 'sft', { samples: samples.slice(0, 4), epochs: 1, batch_size: 4, lr: 1e-4 });
    assert.equal(ok.steps, 1);

    // The prefill chunking estimate never undercounts the worker's tokens (multi-byte text, tool turns included).
    const wp = workerPrompt({
      tools: samples[0]!.tools,
      messages: [
        { role: 'user', content: 'Météo à Zürich — 東京 too? 🌦' },
        { role: 'assistant', content: '', tool_calls: [{ id: 'c1', name: 'get_weather', arguments: { city: 'Zürich' } }] },
        { role: 'tool', tool_call_id: 'c1', name: 'get_weather', content: '{"temp": 3.5, "sky": "grau"}' },
      ],
    });
    const gen = await p.worker.generate({ prompts: [wp], max_new_tokens: 1, greedy: true });
    assert.ok(promptSize(wp) >= gen.results[0]!.prompt_tokens, `${promptSize(wp)} >= ${gen.results[0]!.prompt_tokens}`);
  } finally {
    await releasePolicy(p);
  }
});
