import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { curatorContract, defineRole, type CurateDecision } from 'looptool';
import { RunConfig } from '../../protocols/config.ts';
import { ExpansionRecord, type Manifest, type ProbeRecord, type SampleRecord } from '../../protocols/loop/records.ts';
import { Sample } from '../../protocols/sample.ts';
import { rolesOf } from '../../agents/registry.ts';
import { readJsonl } from '../../runtime/corpus.ts';
import { loadRoleModules } from '../../runtime/roles.ts';
import { runSeed, seedFiles } from '../../runtime/seed.ts';
import { MemoryCheckpointer } from '../../runtime/loop/checkpoint/index.ts';
import { expanding } from '../../runtime/loop/stages/expanding.ts';
import { StageContext } from '../../runtime/loop/stages/context.ts';
import { RunStore } from '../../runtime/loop/store.ts';
import { startTestBus } from '../helpers/bus.ts';

// The curator of test/examples/curator-role.ts, and one declared here, in a loop round:
// named in loop.curators, they see the round's validated expansions before merging, and
// what they drop is recorded as a rejected expansion with the curator's note.

test('loop.curators see the expanding stage\'s accepted samples; a dropped one is a rejected expansion with its curator\'s note', async () => {
  const bus = await startTestBus();
  try {
    const config = RunConfig.parse({
      seed: 'curator-loop',
      roles: ['test/examples/curator-role.ts'],
      loop: { expansions: 2, concurrency: 4, curators: ['novelty', 'second-slot'], ablations: { jglv: false } },
    });
    const node = await bus.node('curator-loop');
    // "second-slot" drops whatever the second slot of a seed yielded (ids end in ".1")
    const seen: string[] = [];
    const secondSlot = defineRole({
      contract: curatorContract('second-slot'),
      concurrency: 2,
      verbs: {
        curate: {
          async handle({ samples }) {
            seen.push(...samples.map((s) => s.id));
            const decisions: CurateDecision[] = samples.map((s) => ({ id: s.id, keep: !s.id.endsWith('.1'), note: s.id.endsWith('.1') ? 'second slot' : '' }));
            return { decisions };
          },
        },
      },
    });
    // what a loop run serves, less the policy (no stage here needs it), plus the config's roles
    for (const r of [...rolesOf('seed', 'loop'), ...(await loadRoleModules(config.roles)), secondSlot]) await node.serve(r);
    const dir = join(bus.dir, 'curator-loop');
    const seeded = await runSeed({ node, runDir: join(dir, 'seed'), config, dialogues: 6, concurrency: 3, trace: false });
    assert.equal(seeded.complete, true);
    const samples = readJsonl(seedFiles(join(dir, 'seed')).samples, Sample).records.filter((s) => !s.masked).slice(0, 4);
    assert.equal(samples.length, 4);

    // round 1 as probing left it: every sample failed (with JGLV off, each is an error seed)
    const store = new RunStore(dir);
    store.write('round-1/data.jsonl', samples.map((sample): SampleRecord => ({ type: 'sample', part: 'seed', sample })));
    store.write(
      'round-1/probes.jsonl',
      samples.map((s): ProbeRecord => ({ type: 'probe', round: 1, id: s.id, kind: s.kind, mastered: false, prediction: { type: 'text', text: 'I cannot help.' }, text: 'I cannot help.', ppl: 2, tokens: 4 })),
    );
    const now = new Date().toISOString();
    const manifest: Manifest = { version: 1, run: 'curator-loop', created: now, variant: 'no-jglv', ablations: config.loop.ablations, rounds: 1, status: 'running', stages: [], checkpoint: null, updated: now };
    const cx = new StageContext({ node, store, checkpoints: new MemoryCheckpointer(), config, ablations: config.loop.ablations }, manifest);
    await expanding(cx, 1);

    const recs = store.read('round-1/expansions.jsonl', ExpansionRecord);
    assert.equal(recs.length, 8);
    const bySecond = recs.filter((r) => r.reason?.startsWith('second-slot: '));
    assert.ok(bySecond.length > 0, 'some second-slot expansion was validated and then dropped');
    for (const r of bySecond) assert.equal(r.slot, 1);
    for (const r of recs.filter((x) => x.accepted)) assert.ok(!r.sample!.id.endsWith('.1'), `${r.sample!.id} was dropped`);
    // what novelty dropped never reached the second curator
    for (const r of recs.filter((x) => x.reason?.startsWith('novelty: '))) assert.ok(!seen.some((id) => r.reason && id === `${r.parent}~e1.${r.slot}`));
    assert.ok(recs.some((r) => r.accepted), 'the first slots stay');
  } finally {
    await bus.stop();
  }
});
