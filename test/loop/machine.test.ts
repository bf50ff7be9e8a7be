import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromPromise, toPromise, type Snapshot } from 'xstate';
import { loopMachine, roundStages, type StageActor, type StageInput, type StageSummary } from '../../machines/loop.ts';
import { LOOP_STAGES, type LoopStage } from '../../protocols/loop/stages.ts';
import { MemoryCheckpointer } from '../../runtime/loop/checkpoint/index.ts';
import { driveLoop } from '../../runtime/loop/driver.ts';
import { VARIANTS, type Ablations } from '../../protocols/loop/config.ts';

/** The machine with stages that only record their calls in `calls`; `failAt` (a stage@round) throws. */
function stubbed(calls: string[], failAt?: string) {
  return loopMachine.provide({
    actors: Object.fromEntries(
      LOOP_STAGES.map((s) => [
        s,
        fromPromise<StageSummary, StageInput>(async ({ input }) => {
          assert.equal(input.stage, s);
          const key = `${input.stage}@${input.round}`;
          calls.push(key);
          if (key === failAt) throw new Error(`boom in ${key}`);
          return { n: calls.length };
        }),
      ]),
    ) as Record<LoopStage, StageActor>,
  });
}

/** Runs the machine with stages that only record their calls; stops at `failAt` (a stage that throws). */
async function runMachine(ablations: Ablations, rounds: number, failAt?: string, snapshot?: Snapshot<unknown>) {
  const calls: string[] = [];
  const snapshots: unknown[] = [];
  const m = stubbed(calls, failAt);
  const actor = createActor(m, snapshot ? { snapshot: snapshot as never, input: { rounds, ablations } } : { input: { rounds, ablations } });
  actor.subscribe((s) => snapshots.push(JSON.parse(JSON.stringify(actor.getPersistedSnapshot()))));
  actor.start();
  const out = await toPromise(actor).catch(() => undefined);
  void out;
  return { calls, snapshots, final: actor.getSnapshot() };
}

const expected = (a: Ablations, rounds: number) => [
  'seeding@0',
  'warmup@0',
  'baseline@0',
  ...Array.from({ length: rounds }, (_, i) => roundStages(a).map((s: LoopStage) => `${s}@${i + 1}`)).flat(),
];

test('the loop visits every stage of every round in order, under each ablation', async () => {
  for (const [name, a] of Object.entries(VARIANTS)) {
    const r = await runMachine(a, 2);
    assert.deepEqual(r.calls, expected(a, 2), name);
    assert.equal(r.final.value, 'done', name);
    assert.equal(r.final.context.history.length, r.calls.length);
  }
  const full = await runMachine(VARIANTS.full, 1);
  assert.deepEqual(full.calls.slice(3), ['training@1', 'probing@1', 'verifying@1', 'expanding@1', 'merging@1', 'evaluating@1']);
  const both = await runMachine({ jglv: false, edde: false, hppl: true, static: false, randomExpansion: false, balanced: false }, 1);
  assert.deepEqual(both.calls.slice(3), ['training@1', 'probing@1', 'merging@1', 'evaluating@1']);
  // a round under each switch, written out (roundStages walks the machine's own edges)
  assert.deepEqual(roundStages(VARIANTS.static), ['training', 'merging', 'evaluating']);
  assert.deepEqual(roundStages(VARIANTS['no-jglv']), ['training', 'probing', 'expanding', 'merging', 'evaluating']);
  assert.deepEqual(roundStages(VARIANTS['no-edde']), ['training', 'probing', 'verifying', 'merging', 'evaluating']);
  assert.deepEqual(roundStages(VARIANTS['random-expansion']), roundStages(VARIANTS.full));
  assert.deepEqual(roundStages(VARIANTS.balanced), roundStages(VARIANTS.full));
  const zero = await runMachine(VARIANTS.full, 0);
  assert.deepEqual(zero.calls, ['seeding@0', 'warmup@0', 'baseline@0']);
});

test('a failing stage ends in "failed" with its message; a restored snapshot re-runs the stage it was in', async () => {
  const r = await runMachine(VARIANTS.full, 2, 'expanding@1');
  assert.equal(r.final.value, 'failed');
  assert.match(r.final.context.error!, /boom in expanding@1/);
  // the last snapshot taken in "expanding" (persisted while its stage was in flight)
  const inExpanding = r.snapshots.filter((s) => (s as { value: string }).value === 'expanding').pop() as Snapshot<unknown>;
  assert.ok(inExpanding);
  const resumed = await runMachine(VARIANTS.full, 2, undefined, inExpanding);
  const whole = expected(VARIANTS.full, 2);
  assert.deepEqual(resumed.calls, whole.slice(whole.indexOf('expanding@1')));
  assert.equal(resumed.final.value, 'done');
  // the history of the restored run continues the one before the failure
  assert.equal(resumed.final.context.history.length, whole.length);
});

test('the driver keeps the snapshot after every transition (memory checkpointer); a failed run resumes at the failed stage, a finished one asked for more rounds starts over', async () => {
  const checkpoints = new MemoryCheckpointer();
  const input = { rounds: 2, ablations: VARIANTS.full };
  const whole = expected(VARIANTS.full, 2);
  const calls: string[] = [];
  const failed = await driveLoop(stubbed(calls, 'expanding@1'), input, checkpoints);
  assert.equal(failed.value, 'failed');
  // one snapshot per state entered, none for "failed": resume retries the stage it was in
  assert.equal(checkpoints.log.filter((k) => k === 'snapshot').length, whole.indexOf('expanding@1') + 1);
  assert.equal(checkpoints.get('snapshot')!.value, 'expanding');
  calls.length = 0;
  const done = await driveLoop(stubbed(calls), input, checkpoints, { resume: true });
  assert.equal(done.value, 'done');
  assert.deepEqual(calls, whole.slice(whole.indexOf('expanding@1')));
  assert.equal(done.context.history.length, whole.length);
  // restored in its final state: nothing runs
  calls.length = 0;
  assert.equal((await driveLoop(stubbed(calls), input, checkpoints, { resume: true })).value, 'done');
  assert.deepEqual(calls, []);
  const more = await driveLoop(stubbed(calls), { ...input, rounds: 3 }, checkpoints, { resume: true });
  assert.equal(more.value, 'done');
  assert.deepEqual(calls, expected(VARIANTS.full, 3));
});
