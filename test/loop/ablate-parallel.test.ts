import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunConfig } from '../../protocols/config.ts';
import { defaultParallel, pairJobs, pairsLeft, remainingSeconds, seedConfig } from '../../runtime/loop/ablate.ts';
import { pairLine, roundsTable } from '../../runtime/cli/loop-console.ts';
import type { RoundEval } from '../../protocols/loop/records.ts';
import { durationText } from '../../runtime/terminal.ts';

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

test('the time an ablation has left: each pair still to run at its variant\'s mean so far (else the mean of all), over the lanes', () => {
  assert.equal(remainingSeconds([], ['full', 'static'], 1), null, 'nothing has run yet: no estimate');
  const ran = [
    { variant: 'full' as const, seconds: 3000 },
    { variant: 'full' as const, seconds: 2000 },
    { variant: 'static' as const, seconds: 1000 },
  ];
  assert.equal(remainingSeconds(ran, ['static', 'full', 'static'], 1), 1000 + 2500 + 1000);
  assert.equal(remainingSeconds(ran, ['no-jglv'], 1), 2000, 'a variant not run yet counts at the mean of all');
  assert.equal(remainingSeconds(ran, ['full', 'full'], 2), 2500, 'two lanes halve it');
  assert.equal(remainingSeconds(ran, [], 1), 0);
});

test('the pairs an ablation has left leave out the other variants of a seed whose base failed', () => {
  const variants = ['full', 'no-jglv', 'static'] as const;
  const jobs = pairJobs(2, variants, 1);
  assert.deepEqual(pairsLeft(jobs, new Map(), variants), ['full', 'no-jglv', 'static', 'full', 'no-jglv', 'static']);
  assert.deepEqual(pairsLeft(jobs, new Map([['0/full', 'done']]), variants), ['no-jglv', 'static', 'full', 'no-jglv', 'static']);
  assert.deepEqual(pairsLeft(jobs, new Map([['0/full', 'failed']]), variants), ['full', 'no-jglv', 'static'], 'seed 0 runs nothing more');
  assert.deepEqual(pairsLeft(jobs, new Map([['0/full', 'done'], ['0/no-jglv', 'failed']]), variants), ['static', 'full', 'no-jglv', 'static'], 'only a base failing stops its seed');
});

test('a finished pair\'s line says how it ended and what is left; a pair done before this run says so', () => {
  assert.equal(durationText(59.6), '60 s');
  assert.equal(durationText(1450), '24 min');
  assert.equal(durationText(5 * 3600 + 7 * 60), '5 h 7 min');
  const e = { seed: 's-3', variant: 'full' as const, status: 'done' as const, error: null, ran: true, seconds: 1450, done: 3, total: 8, leftSeconds: 9000 };
  assert.equal(pairLine(e), '[3/8] s-3 full: done in 24 min; about 2 h 30 min left');
  assert.equal(pairLine({ ...e, status: 'failed' }), '[3/8] s-3 full: failed after 24 min; about 2 h 30 min left');
  assert.equal(pairLine({ ...e, status: 'failed', error: 'the trainer ran out of memory' }), '[3/8] s-3 full: failed after 24 min (the trainer ran out of memory); about 2 h 30 min left', 'a failed run says why');
  assert.equal(pairLine({ ...e, ran: false, leftSeconds: null }), '[3/8] s-3 full: done before');
  assert.equal(pairLine({ ...e, done: 8 }), '[8/8] s-3 full: done in 24 min');
});

test('the per-round table of a run gives its validation split a column beside its test accuracy when it drew one', () => {
  const at = (round: number, test: number, validation?: number): RoundEval => ({
    type: 'eval',
    round,
    test: { n: 100, correct: test, accuracy: test / 100, byKind: {} },
    ...(validation === undefined ? {} : { validation: { n: 50, correct: validation, accuracy: validation / 50, byKind: {} } }),
  });
  assert.equal(roundsTable([{ name: 'full', evals: [at(0, 40), at(1, 45)] }]), ['round      full', '    0     40.0%', '    1     45.0%'].join('\n'));
  assert.equal(
    roundsTable([{ name: 'full', evals: [at(0, 40, 20), at(1, 45, 30)] }]),
    ['round             full  full validation', '    0            40.0%            40.0%', '    1            45.0%            60.0%'].join('\n'),
  );
});
