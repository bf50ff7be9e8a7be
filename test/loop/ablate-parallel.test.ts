import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunConfig } from '../../protocols/config.ts';
import { defaultParallel, seedConfig } from '../../runtime/loop/ablate.ts';

test('seeds at once: one per core, never more than there are seeds, at least one', () => {
  assert.equal(defaultParallel(3, 2), 2);
  assert.equal(defaultParallel(3, 16), 3);
  assert.equal(defaultParallel(5, 1), 1);
  assert.equal(defaultParallel(1, 8), 1);
});

test('concurrent seeds share the cores out as torch threads, unless the config or LOOPTOOL_TORCH_THREADS says how many', () => {
  const base = RunConfig.parse({ seed: 'x' });
  assert.equal(seedConfig(base, 'x-1', 2, 2, {}).trainer.threads, 1);
  assert.equal(seedConfig(base, 'x-1', 3, 16, {}).trainer.threads, 5);
  assert.equal(seedConfig(base, 'x-1', 1, 2, {}).trainer.threads, undefined, 'one seed at a time keeps the worker default');
  assert.equal(seedConfig(base, 'x-1', 2, 2, { LOOPTOOL_TORCH_THREADS: '2' }).trainer.threads, undefined, 'the environment is left to decide');
  const pinned = RunConfig.parse({ seed: 'x', trainer: { threads: 2 } });
  assert.equal(seedConfig(pinned, 'x-2', 2, 2, {}).trainer.threads, 2);
  assert.equal(seedConfig(base, 'x-2', 2, 2, {}).seed, 'x-2');
});
