import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RunConfig } from '../../protocols/config.ts';
import { ExpanderContract, Variation } from '../../protocols/roles/expander.ts';
import { JudgeContract, type VerifyVerdict } from '../../protocols/roles/judge.ts';
import { ValidatorContract } from '../../protocols/roles/validator.ts';
import { deriveRngSeed } from '../../protocols/rng.ts';
import { publicView, type Label, type Sample } from '../../protocols/sample.ts';
import { majorityVerdict, sameLabel, jglvScores, trueVerdict } from '../../protocols/loop/index.ts';
import { checkDialogue } from '../../protocols/validate.ts';
import { seedRoles } from '../../agents/registry.ts';
import expander from '../../agents/expander/role.ts';
import { seedShape } from '../../agents/expander/sim.ts';
import { toolIndex } from '../../protocols/truth/reply.ts';
import { runSeed, seedFiles } from '../../runtime/seed.ts';
import { readJsonl } from '../../runtime/corpus.ts';
import { startTestBus, type TestBus } from '../helpers/bus.ts';
import type { LooptoolNode } from '../../runtime/bus/node.ts';

let bus: TestBus;
let node: LooptoolNode;
let samples: Sample[];
const config = RunConfig.parse({ seed: 'loop-roles' });

before(async () => {
  bus = await startTestBus();
  node = await (async () => {
    const { LooptoolNode } = await import('../../runtime/bus/node.ts');
    const nc = await bus.connect();
    return LooptoolNode.start({ run: 'loop-roles', runDir: bus.dir, nc, config: config as unknown as Record<string, unknown> });
  })();
  for (const r of [...seedRoles, expander]) await node.serve(r);
  const s = await runSeed({ node, runDir: bus.dir, config, dialogues: 36, concurrency: 8, trace: false });
  assert.equal(s.complete, true);
  samples = readJsonl(seedFiles(bus.dir).samples, (await import('../../protocols/sample.ts')).Sample).records.filter((x) => !x.masked);
  assert.ok(samples.length > 40, `seeding gave ${samples.length} samples`);
});

after(async () => {
  await node?.stop();
  await bus?.stop();
});

/** A wrong prediction for a sample: another sample's label (from another request). */
function wrongFor(s: Sample, i: number): Label {
  const other = samples[(i + 7) % samples.length]!;
  return sameLabel(other.label, s.label) ? { type: 'text', text: 'I am not sure.' } : other.label;
}

test('the sim expander writes new samples shaped like their seed, with truth, that pass validation', async () => {
  const call = node.call;
  const kinds = new Map<string, Sample[]>();
  for (const s of samples) kinds.set(s.kind, [...(kinds.get(s.kind) ?? []), s]);
  const seeds = [...kinds.values()].flatMap((list) => list.slice(0, 3));
  let accepted = 0;
  let total = 0;
  let sameKind = 0;
  let truthOk = 0;
  const ids = new Set<string>();
  for (const [i, s] of seeds.entries()) {
    for (const [slot, variation] of Variation.options.entries()) {
      total++;
      const seed = deriveRngSeed('test', s.id, slot);
      let out;
      try {
        out = await call(ExpanderContract, 'expand', { seed, round: 1, slot, sample: publicView(s), prediction: wrongFor(s, i), analysis: 'the prediction is wrong', variation, hidden: s.truth ? { truth: s.truth } : undefined });
      } catch (err) {
        // an attempt the generator could not finish is allowed, not the norm (checked below)
        assert.match((err as Error).message, /tool failed|sample's turn|ended the request|assistant/);
        continue;
      }
      const x = out.sample;
      assert.equal(x.provenance.source, 'expansion');
      assert.equal(x.provenance.parent, s.id);
      assert.equal(x.provenance.variation, variation);
      assert.ok(!ids.has(x.id));
      ids.add(x.id);
      assert.ok(x.truth, 'a sim expansion carries its truth');
      assert.notDeepEqual(x.context, s.context, 'new content');
      if (x.kind === s.kind) sameKind++;
      if (sameLabel(x.label, x.truth!.label) === !x.truth!.noisy) truthOk++;
      // the validation dialogue starts with the sample's context and carries its label next
      assert.deepEqual(out.dialogue.slice(0, x.context.length), x.context);
      const answer = out.dialogue[x.context.length]!;
      assert.equal(answer.role, 'assistant');
      const rules = checkDialogue(x.tools, out.dialogue, { requireToolUse: out.requireToolUse });
      const v = await call(ValidatorContract, 'validate', { tools: x.tools, messages: out.dialogue, requireToolUse: out.requireToolUse, seed: deriveRngSeed(seed, 'v'), votes: 3, hidden: out.hidden });
      if (rules.length === 0 && v.accepted) accepted++;
    }
  }
  const produced = ids.size;
  if (process.env.LOOPTOOL_TEST_VERBOSE) console.log({ total, produced, sameKind, truthOk, accepted });
  assert.ok(produced >= 0.8 * total, `expander produced ${produced}/${total}`);
  assert.ok(sameKind >= 0.8 * produced, `same kind as the seed: ${sameKind}/${produced}`);
  assert.equal(truthOk, produced, 'the noisy flag agrees with label vs truth');
  assert.ok(accepted >= 0.6 * produced, `validated ${accepted}/${produced}`);
});

test('seed shape: multi-step seeds keep their reference to the earlier result', () => {
  const ms = samples.find((s) => s.kind === 'multi_step' && s.label.type === 'calls');
  if (!ms) return;
  const shape = seedShape(ms, ms.truth?.label ?? ms.label, toolIndex(ms.tools));
  assert.ok(shape.rounds.length >= 2);
  assert.ok(shape.refs.slice(1).some((r) => r.some((x) => Object.keys(x).length > 0)), 'a later call reads an earlier result');
});

test('JGLV over the bus finds injected label errors (precision and recall above a floor)', async () => {
  const call = node.call;
  // inject label errors: for half of the call samples, the visible label becomes another call;
  // the prediction is the truth (as if the policy got it right), so the true verdict is LABEL_WRONG
  const pool = samples.filter((s) => s.label.type === 'calls' && s.truth && !s.truth.noisy).slice(0, 40);
  assert.ok(pool.length >= 20);
  const records = [];
  for (const [i, s] of pool.entries()) {
    const inject = i % 2 === 0;
    const label = inject ? wrongFor(s, i) : s.label;
    const prediction = inject ? s.truth!.label : wrongFor(s, i + 1);
    const visible = { ...s, label, truth: { ...s.truth!, noisy: inject } };
    const votes: VerifyVerdict[] = [];
    for (let k = 0; k < 3; k++) votes.push((await call(JudgeContract, 'verify', { seed: deriveRngSeed('jglv', s.id, k), sample: publicView(visible), prediction, hidden: { truth: visible.truth } })).verdict);
    const verdict = majorityVerdict(votes).verdict;
    assert.equal(trueVerdict(label, prediction, visible.truth), inject ? 'LABEL_WRONG' : 'PRED_WRONG');
    records.push({ label, prediction, truth: visible.truth, verdict });
  }
  const scores = jglvScores(records);
  assert.ok(scores.precision! >= 0.8, `precision ${scores.precision}`);
  assert.ok(scores.recall! >= 0.8, `recall ${scores.recall}`);
});
