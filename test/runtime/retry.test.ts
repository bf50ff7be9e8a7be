import { test } from 'node:test';
import assert from 'node:assert/strict';
import { retryFor } from '../../runtime/bus/retry.ts';

const failing = (times: number, err = new Error('not yet')) => {
  let calls = 0;
  const ask = async () => {
    if (++calls <= times) throw err;
    return calls;
  };
  return { ask, calls: () => calls };
};

test('retryFor asks again until the answer comes, however many tries that takes within its time', async () => {
  const f = failing(12);
  let retries = 0;
  assert.equal(await retryFor(f.ask, { forMs: 5_000, baseMs: 1, maxMs: 2, onRetry: () => retries++ }), 13);
  assert.equal(retries, 12);
});

test('retryFor gives up once its time is spent, with the last error', async () => {
  const f = failing(Infinity);
  const started = Date.now();
  await assert.rejects(retryFor(f.ask, { forMs: 300, baseMs: 20, maxMs: 40 }), /not yet/);
  const took = Date.now() - started;
  assert.ok(took >= 200 && took < 2_000, `gave up after ${took} ms`);
  assert.ok(f.calls() >= 5, `${f.calls()} tries`);
});

test('retryFor passes an error it is told not to retry at once', async () => {
  const f = failing(Infinity, new Error('refused'));
  await assert.rejects(retryFor(f.ask, { forMs: 5_000, retryIf: (e) => (e as Error).message !== 'refused' }), /refused/);
  assert.equal(f.calls(), 1);
});
