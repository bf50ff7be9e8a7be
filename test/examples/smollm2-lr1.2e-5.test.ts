import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunConfig } from '../../protocols/config.ts';
import { smollm2Config } from '../../runtime/loop/preset.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const read = (name: string) => RunConfig.parse(JSON.parse(readFileSync(join(ROOT, 'examples', name, 'config.json'), 'utf8')));

test('examples/smollm2-lr1.2e-5 is the smollm2 preset with a GRPO step of 1.2e-5, nothing else', () => {
  const example = read('smollm2-lr1.2e-5');
  const preset = smollm2Config();
  assert.equal(example.loop.train.lr, 1.2e-5);
  assert.notEqual(preset.loop.train.lr, 1.2e-5);
  const expected = { ...preset, loop: { ...preset.loop, train: { ...preset.loop.train, lr: 1.2e-5 } } };
  assert.deepEqual(example, expected);
});

// Four rounds is the one change, so its runs compare with the two-round runs above.
test('examples/smollm2-lr1.2e-5-rounds4 is examples/smollm2-lr1.2e-5 with four rounds, nothing else', () => {
  const example = read('smollm2-lr1.2e-5-rounds4');
  const twoRounds = read('smollm2-lr1.2e-5');
  assert.equal(example.loop.rounds, 4);
  assert.equal(twoRounds.loop.rounds, 2);
  assert.deepEqual(example, { ...twoRounds, loop: { ...twoRounds.loop, rounds: 4 } });
});

// Fresh probes are the one change (docs/loop.md, "Fresh probes"), as many a round as the budget.
test('examples/smollm2-lr1.2e-5-rounds4-fresh is examples/smollm2-lr1.2e-5-rounds4 with probe.fresh 32, nothing else', () => {
  const example = read('smollm2-lr1.2e-5-rounds4-fresh');
  const plain = read('smollm2-lr1.2e-5-rounds4');
  assert.equal(example.loop.probe.fresh, plain.loop.budget);
  assert.equal(plain.loop.probe.fresh, 0);
  assert.deepEqual(example, { ...plain, loop: { ...plain.loop, probe: { ...plain.loop.probe, fresh: 32 } } });
});

// A warm-up over a round's first three steps is the one change (docs/loop.md, "A learning-rate warm-up in the round").
test('examples/smollm2-lr1.2e-5-rounds4-warmup3 is examples/smollm2-lr1.2e-5-rounds4 with lr_warmup_steps 3, nothing else', () => {
  const example = read('smollm2-lr1.2e-5-rounds4-warmup3');
  const plain = read('smollm2-lr1.2e-5-rounds4');
  assert.equal(example.loop.train.lr_warmup_steps, 3);
  assert.equal(plain.loop.train.lr_warmup_steps, 0);
  assert.deepEqual(example, { ...plain, loop: { ...plain.loop, train: { ...plain.loop.train, lr_warmup_steps: 3 } } });
});

// BFCL each round is the one change (docs/loop.md, "BFCL on SmolLM2, one seed"): evaluating more changes no training.
test('examples/smollm2-bfcl is the smollm2 preset with loop.eval.bfcl on the first 16 questions of each default category, nothing else', () => {
  const example = read('smollm2-bfcl');
  const preset = smollm2Config();
  assert.equal(preset.loop.eval.bfcl, undefined);
  assert.deepEqual(example.loop.eval.bfcl, { categories: ['simple', 'multiple', 'parallel', 'parallel_multiple', 'irrelevance'], limit: 16, max_new_tokens: 256 });
  assert.deepEqual(example, { ...preset, loop: { ...preset.loop, eval: { ...preset.loop.eval, bfcl: example.loop.eval.bfcl } } });
});
