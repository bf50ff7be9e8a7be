import { test } from 'node:test';
import assert from 'node:assert/strict';
import { designToolSet } from '../../agents/api-designer/design.ts';
import { simPlan } from '../../agents/planner/sim.ts';
import { simRespond } from '../../agents/assistant/sim.ts';
import { simJudgeDialogue, simVerify } from '../../agents/judge/sim.ts';
import { trueVerdict } from '../../protocols/loop/metrics.ts';
import { applicableNoise, applyNoise } from '../../agents/common/sim/world.ts';
import { labelOf, toolIndex } from '../../protocols/truth/reply.ts';
import { sameLabel } from '../../protocols/toolcalls/index.ts';
import { rng } from '../../protocols/rng.ts';
import { SimConfig, type SimConfigInput } from '../../protocols/sim-config.ts';
import { LabelNoiseKind } from '../../protocols/plan.ts';
import { JudgeDialogueOutput, VerifyOutput, VerifyInput } from '../../protocols/roles/judge.ts';
import type { Label } from '../../protocols/sample.ts';
import { driveDialogue } from './drive.ts';

const conf = (c: SimConfigInput) => SimConfig.parse(c);

/** Planted-noise rate over the turns where a mistake could be planted. */
function plantedRate(cfg: SimConfig, n: number): { rate: number; positions: number; kinds: Set<string> } {
  let positions = 0;
  let planted = 0;
  const kinds = new Set<string>();
  for (let i = 0; i < n; i++) {
    const tools = designToolSet({ seed: `n${i}` }, cfg);
    const plan = simPlan({ seed: `n${i}`, tools }, cfg);
    const index = toolIndex(tools);
    plan.steps.forEach((step, s) => {
      const turns = [...(step.kind === 'irrelevant' || step.withheld.length ? [-1] : []), ...step.rounds.map((_, k) => k)];
      for (const round of turns) if (applicableNoise(step, round, index).length) positions++;
    });
    planted += plan.hidden!.noise.length;
    for (const x of plan.hidden!.noise) kinds.add(x.kind);
  }
  return { rate: planted / positions, positions, kinds };
}

test('the planted label-noise rate is about the configured rate, and zero when off', () => {
  for (const target of [0.1, 0.3]) {
    const { rate, positions, kinds } = plantedRate(conf({ noise: { labelRate: target } }), 300);
    assert.ok(positions > 1000, `${positions} positions`);
    assert.ok(Math.abs(rate - target) < 0.035, `label noise ${rate.toFixed(3)} for ${target}`);
    if (target === 0.3) for (const k of LabelNoiseKind.options) assert.ok(kinds.has(k), `noise kind ${k} never planted`);
  }
  assert.equal(plantedRate(conf({ noise: { labelRate: 0 } }), 50).rate, 0);
});

test('planted mistakes are the same in every sample of a turn; sampling slips are not', () => {
  const cfg = conf({ noise: { labelRate: 0.3, sampleRate: 0.3 }, tool: { errorRate: 0 } });
  let plantedTurns = 0;
  let slips = 0;
  let samples = 0;
  for (let i = 0; i < 80; i++) {
    const tools = designToolSet({ seed: `c${i}` }, cfg);
    const d = driveDialogue(`c${i}`, tools, cfg);
    for (const t of d.turns) {
      const ctx = d.messages.slice(0, t.index);
      // draw 6 fresh samples of the same turn
      const many = Array.from({ length: 6 }, (_, k) => simRespond({ seed: `c${i}/t${t.index}/s${k}`, tools, messages: ctx, hidden: { plan: d.plan } }, cfg));
      const planted = many.filter((m) => m.truth?.noise && !m.truth.noise.startsWith('sample:'));
      const clean = many.filter((m) => !m.truth?.noise?.includes('sample:'));
      samples += many.length;
      slips += many.length - clean.length;
      if (planted.length) plantedTurns++;
      // samples without a slip of their own agree with each other exactly, planted mistake included
      for (const m of clean) assert.ok(sameLabel(labelOf(m), labelOf(clean[0]!)), JSON.stringify([m, clean[0]]));
      // every sample reports the same truth label
      for (const m of many) assert.ok(sameLabel(m.truth!.label, many[0]!.truth!.label));
    }
  }
  assert.ok(plantedTurns > 20, `${plantedTurns} turns with planted mistakes`);
  const slipRate = slips / samples;
  // slips happen only on sample turns (not summaries), so the overall rate is below the configured 0.3
  assert.ok(slipRate > 0.08 && slipRate < 0.3, `slip rate ${slipRate}`);
});

test('each kind of teacher mistake changes the answer the way it says', () => {
  const tools = designToolSet({ seed: 'kinds', domain: 'travel', subdomain: 'flights', similar: true, count: 5 }, conf({}));
  const index = toolIndex(tools);
  const cfg = conf({});
  const plan = simPlan({ seed: 'kinds', tools, kinds: ['parallel', 'clarify', 'irrelevant', 'single'] }, cfg);
  const par = plan.steps[0]!;
  const label: Label = { type: 'calls', calls: par.rounds[0]!.calls.map((c) => ({ name: c.name, arguments: c.arguments })) };
  const ctx = { index, step: par, round: 0 };
  const missed = applyNoise('missed_call', label, ctx, rng('a'));
  assert.equal(missed?.type === 'calls' && missed.calls.length, label.calls.length - 1);
  const wrongTool = applyNoise('wrong_tool', label, ctx, rng('a'));
  assert.ok(wrongTool?.type === 'calls' && wrongTool.calls.some((c, i) => c.name !== label.calls[i]!.name));
  const dropped = applyNoise('dropped_arg', label, ctx, rng('a'));
  assert.ok(dropped?.type === 'calls' && JSON.stringify(dropped).length < JSON.stringify(label).length);
  const clar = plan.steps[1]!;
  const invented = applyNoise('no_clarify', { type: 'text', text: 'What date?' }, { index, step: clar, round: -1 }, rng('b'));
  assert.equal(invented?.type, 'calls');
  const spurious = applyNoise('spurious_call', { type: 'text', text: 'no' }, { index, step: plan.steps[2]!, round: -1 }, rng('c'));
  assert.equal(spurious?.type, 'calls');
  // a mistake that does not apply changes nothing
  assert.equal(applyNoise('missed_call', { type: 'calls', calls: [label.calls[0]!] }, ctx, rng('d')), undefined);
  for (const k of ['wrong_format', 'wrong_value', 'extra_arg', 'dropped_arg'] as const) {
    const out = applyNoise(k, label, ctx, rng(k));
    if (out) assert.ok(!sameLabel(out, label), `${k} left the answer unchanged`);
  }
});

test('the sim judge verifies with about the configured accuracy, from the truth', () => {
  const tools = designToolSet({ seed: 'v' }, conf({}));
  const truth: Label = { type: 'calls', calls: [{ name: tools[0]!.name, arguments: { a: 1 } }] };
  const other: Label = { type: 'calls', calls: [{ name: tools[0]!.name, arguments: { a: 2 } }] };
  const text: Label = { type: 'text', text: 'hmm' };
  const cases: [Label, Label, string][] = [
    [truth, other, 'PRED_WRONG'],
    [other, truth, 'LABEL_WRONG'],
    [truth, truth, 'BOTH_CORRECT'],
    [other, text, 'BOTH_WRONG'],
  ];
  for (const [label, pred, want] of cases) assert.equal(trueVerdict(label, pred, { label: truth, noisy: false }), want);
  for (const accuracy of [0.9, 0.7]) {
    const cfg = conf({ judge: { verify: { accuracy } } });
    let right = 0;
    const N = 2000;
    for (let i = 0; i < N; i++) {
      const [label, pred, want] = cases[i % 4]!;
      const input = VerifyInput.parse({
        seed: `v${i}`,
        sample: { id: 's', kind: 'single', tools, context: [{ role: 'user', content: 'x' }], label, provenance: { source: 'seed', round: 0 } },
        prediction: pred,
        hidden: { truth: { label: truth, noisy: !sameLabel(label, truth) } },
      });
      const out = VerifyOutput.parse(simVerify(input, cfg));
      if (out.verdict === want) right++;
    }
    assert.ok(Math.abs(right / N - accuracy) < 0.03, `verify accuracy ${right / N} for ${accuracy}`);
  }
});

test('the sim judge judges dialogues with about the configured accuracy, sharing planted blind spots across votes', () => {
  // clean dialogues: CORRECT with probability `accuracy`
  const cleanCfg = conf({ noise: { labelRate: 0, sampleRate: 0 }, tool: { errorRate: 0 }, judge: { dialogue: { accuracy: 0.8 } } });
  let correct = 0;
  let votes = 0;
  const dialogues = Array.from({ length: 40 }, (_, i) => {
    const tools = designToolSet({ seed: `j${i}` }, cleanCfg);
    return { id: `j${i}`, tools, d: driveDialogue(`j${i}`, tools, cleanCfg) };
  });
  for (const { id, tools, d } of dialogues) {
    for (let v = 0; v < 60; v++) {
      // as callers do: the vote seed includes the dialogue id
      const out = JudgeDialogueOutput.parse(simJudgeDialogue({ seed: `${id}/vote${v}`, tools, messages: d.messages, hidden: { plan: d.plan } }, cleanCfg));
      votes++;
      if (out.verdict === 'CORRECT') correct++;
    }
  }
  assert.ok(Math.abs(correct / votes - 0.8) < 0.03, `dialogue accuracy ${correct / votes}`);

  // dialogues with a planted mistake: with blindness 0 they are INCORRECT at `accuracy`; with blindness 1 they pass
  const noisy = (blind: number) => conf({ noise: { labelRate: 0.5, sampleRate: 0 }, tool: { errorRate: 0 }, judge: { dialogue: { accuracy: 1, noiseBlindness: blind } } });
  let flagged = 0;
  let passed = 0;
  let withMistakes = 0;
  for (let i = 0; i < 30; i++) {
    const tools = designToolSet({ seed: `jn${i}` }, noisy(0));
    const d = driveDialogue(`jn${i}`, tools, noisy(0));
    if (!d.turns.some((t) => t.truth?.noisy)) continue;
    withMistakes++;
    const a = simJudgeDialogue({ seed: 'v', tools, messages: d.messages, hidden: { plan: d.plan } }, noisy(0));
    const b = simJudgeDialogue({ seed: 'v', tools, messages: d.messages, hidden: { plan: d.plan } }, noisy(1));
    if (a.verdict === 'INCORRECT') {
      flagged++;
      assert.ok(typeof a.turn === 'number' && d.messages[a.turn]?.role === 'assistant');
      assert.match(a.analysis, /expected/);
    }
    if (b.verdict === 'CORRECT') passed++;
    // blind spots are shared by all votes: with accuracy 1, every vote agrees
    const votesHalf = new Set(Array.from({ length: 8 }, (_, v) => simJudgeDialogue({ seed: `h${v}`, tools, messages: d.messages, hidden: { plan: d.plan } }, conf({ noise: { labelRate: 0.5, sampleRate: 0 }, tool: { errorRate: 0 }, judge: { dialogue: { accuracy: 1, noiseBlindness: 0.5 } } })).verdict));
    assert.equal(votesHalf.size, 1);
  }
  assert.ok(withMistakes > 10);
  assert.equal(flagged, withMistakes);
  assert.equal(passed, withMistakes);
});
