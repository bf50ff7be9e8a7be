import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunConfig } from '../../protocols/config.ts';
import { defaultParallel, pairJobs, seedConfig } from '../../runtime/loop/ablate.ts';

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

test('with several lanes, pairs are queued with every seed\'s base first, then the other variants seed by seed', () => {
  assert.deepEqual(
    pairJobs(2, ['full', 'no-jglv', 'static'], 2).map((j) => `${j.i}/${j.variant}`),
    ['0/full', '1/full', '0/no-jglv', '0/static', '1/no-jglv', '1/static'],
  );
  assert.deepEqual(pairJobs(3, [], 2), []);
});

test('with one lane the pairs are queued seed by seed, so a stopped run holds whole seeds', () => {
  assert.deepEqual(
    pairJobs(2, ['full', 'static'], 1).map((j) => `${j.i}/${j.variant}`),
    ['0/full', '0/static', '1/full', '1/static'],
  );
  assert.deepEqual(pairJobs(3, [], 1), []);
});
