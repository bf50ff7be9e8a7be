import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labelCompletion, workerPrompt } from '../../agents/trainer/prompts.ts';
import { resolveModelSpec } from '../../agents/trainer/presets.ts';
import { WorkerError, WorkerProcess } from '../../agents/trainer/worker-process.ts';
import { TrainerConfig } from '../../protocols/trainer.ts';
import { currentNano, nanoRecipe } from '../../runtime/models/nano.ts';
import { trainerSamples } from './fixtures/samples.ts';

// The nano pipeline end to end through the worker: a tokenizer and a Qwen3 made from the
// world's text, a few pretraining steps, exported as a plain checkpoint directory, loaded
// back, every verb, a training checkpoint, and a fresh worker restoring it to the same
// log-probs.
let dir: string;
let w: WorkerProcess;
const corpus = trainerSamples(24).map((s) => ({ prompt: workerPrompt({ tools: s.tools, messages: s.context }), completion: labelCompletion(s.label) }));

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'looptool-nano-'));
  w = await WorkerProcess.start({ threads: 2 });
});
after(async () => {
  await w?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('nano init -> pretraining steps -> export -> load -> every verb -> checkpoint -> a fresh worker restores the same log-probs', async () => {
  const init = await w.initNano({ out: join(dir, 'init'), samples: corpus, vocab_size: 600, seed: 3, shape: { hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 128 } });
  assert.ok(init.params > 10_000 && init.params < 1_000_000, `params ${init.params}`);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'chat_template.jinja']) assert.ok(existsSync(join(dir, 'init', f)), f);
  assert.equal(JSON.parse(readFileSync(join(dir, 'init', 'config.json'), 'utf8')).model_type, 'qwen3');
  // The world's tool names and keys are single tokens: prompts are far shorter than in bytes.
  assert.ok(init.tokens_per_sample.mean < JSON.stringify(corpus[0]).length / 2, JSON.stringify(init.tokens_per_sample));

  await w.load({ model: { path: init.path }, seed: 3, optimizer: { lr: 3e-3 } });
  const first = await w.sftStep({ samples: corpus.slice(0, 8) });
  for (let i = 0; i < 4; i++) await w.sftStep({ samples: corpus.slice(0, 8) });
  const last = await w.sftStep({ samples: corpus.slice(0, 8) });
  assert.ok(last.loss < first.loss, `pretraining lowers the loss: ${first.loss} -> ${last.loss}`);
  const exported = await w.export({ path: join(dir, 'base') });
  assert.ok(exported.bytes > 10_000);

  const b = await WorkerProcess.start({ threads: 2 });
  try {
    await b.load({ model: { path: exported.path }, seed: 1, optimizer: { lr: 1e-3 } });
    const item = { prompt: corpus[0]!.prompt, completion: corpus[0]!.completion };
    const [x] = (await w.score({ items: [item] })).results;
    const [y] = (await b.score({ items: [item] })).results;
    assert.ok(Math.abs(x!.logprob_sum - y!.logprob_sum) < 1e-4, 'the exported directory is the trained model');
    const g = await b.generate({ prompts: [corpus[0]!.prompt, corpus[1]!.prompt], n: 4, max_new_tokens: 16, seed: 2 });
    const groups = g.results.map((r, i) => ({ prompt: corpus[i]!.prompt, completions: r.samples.map((s, k) => ({ token_ids: s.token_ids, logprobs: s.logprobs, advantage: k % 2 ? 1 : -1 })) }));
    await b.grpoStep({ groups, lr: 1e-3 });
    await b.sftStep({ samples: corpus.slice(8, 12) });
    await b.save({ path: join(dir, 'ckpt') });
    const before = (await b.score({ items: corpus.slice(0, 4) })).results.map((r) => r.logprob_sum);

    const c = await WorkerProcess.start({ threads: 2 });
    try {
      await c.restore({ path: join(dir, 'ckpt') });
      const after = (await c.score({ items: corpus.slice(0, 4) })).results.map((r) => r.logprob_sum);
      assert.deepEqual(after, before, 'identical log-probs after restore in a fresh worker');
    } finally {
      await c.close();
    }
  } finally {
    await b.close();
  }
});

test('clear errors: a missing directory, a directory that is no checkpoint, an unknown preset, a preset not built', async () => {
  await assert.rejects(w.load({ model: { path: join(dir, 'nope') } }), (e: WorkerError) => e.type === 'bad_request' && /is not a directory/.test(e.message));
  await assert.rejects(w.load({ model: { path: dir } }), (e: WorkerError) => e.type === 'bad_request' && /not a Hugging Face checkpoint directory \(missing config.json/.test(e.message));
  const unknown = TrainerConfig.safeParse({ model: { preset: 'tiny-0.5m' } });
  assert.ok(!unknown.success && /nano/.test(JSON.stringify(unknown.error.issues)), 'the preset list is named');
  assert.throws(() => resolveModelSpec({ preset: 'nano' }, { ...process.env, LOOPTOOL_MODELS: join(dir, 'empty-cache') }), /model preset "nano" is not built on this machine .*looptool -- model init nano/);
});

test('the built base records its held-out probe: greedy answers to a stream of its own seed, after every few epochs and at the end', () => {
  const info = currentNano();
  assert.ok(info, 'the test cache holds the current nano build');
  const recipe = nanoRecipe();
  const probes = info.heldout ?? [];
  assert.equal(probes.at(-1)?.epoch, recipe.epochs, 'the last probe is the built base');
  assert.equal(probes.at(-1)?.step, info.steps);
  for (const h of probes) {
    assert.ok(h.samples > 0 && h.call_samples > 0 && h.call_samples <= h.samples, JSON.stringify(h));
    assert.ok(Math.abs(h.never_call - (h.samples - h.call_samples) / h.samples) < 1e-9, 'never-call scores every sample whose label is text');
    for (const x of [h.toolmatch, h.call_exact]) assert.ok(x >= 0 && x <= 1, JSON.stringify(h));
  }
});
