import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromPromise, toPromise, type Snapshot } from 'xstate';
import { loopMachine, roundStages, type StageActor, type StageInput, type StageSummary } from '../../machines/loop.ts';
import { LOOP_STAGES, type LoopStage } from '../../protocols/loop/stages.ts';
import { VARIANTS, type Ablations } from '../../protocols/loop/config.ts';

/** Runs the machine with stages that only record their calls; stops at `failAt` (a stage that throws). */
async function runMachine(ablations: Ablations, rounds: number, failAt?: string, snapshot?: Snapshot<unknown>) {
  const calls: string[] = [];
  const snapshots: unknown[] = [];
  const m = loopMachine.provide({
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
  const both = await runMachine({ jglv: false, edde: false, hppl: true, static: false, randomExpansion: false }, 1);
  assert.deepEqual(both.calls.slice(3), ['training@1', 'probing@1', 'merging@1', 'evaluating@1']);
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
