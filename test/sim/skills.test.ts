import { test } from 'node:test';
import assert from 'node:assert/strict';
import { designToolSet } from '../../agents/api-designer/design.ts';
import { simRespond } from '../../agents/assistant/sim.ts';
import { simExecute } from '../../agents/tool/sim.ts';
import { simTurn } from '../../agents/user/sim.ts';
import { simPlan } from '../../agents/planner/sim.ts';
import { simJudgeDialogue, simVerify } from '../../agents/judge/sim.ts';
import { expandSim } from '../../agents/expander/sim.ts';
import { convertingForms, formUsed, mentions } from '../../protocols/truth/forms.ts';
import { paramClass, turnSkills } from '../../protocols/truth/skills.ts';
import { expectedReply, getPath, siblingsOf, toolIndex, withheldLabels, type ToolIndex } from '../../protocols/truth/reply.ts';
import { sameLabel } from '../../protocols/toolcalls/index.ts';
import { OFF_TOPIC_REQUESTS } from '../../agents/common/sim/phrasing.ts';
import type { ChatMessage } from '../../protocols/messages.ts';
import type { Plan } from '../../protocols/plan.ts';
import type { CallFn } from '../../protocols/role.ts';
import { primarySkill, Sample, Skill, type HiddenTruth, type Label } from '../../protocols/sample.ts';
import { SimConfig, type SimConfigInput } from '../../protocols/sim-config.ts';
import { RunConfig } from '../../protocols/config.ts';
import { dialogueSamples } from '../../protocols/samples.ts';
import type { TurnRecord } from '../../protocols/dialogue.ts';
import type { ToolSpec } from '../../protocols/toolspec.ts';
import { driveDialogue } from './drive.ts';

/** A world without accidents: no noise unless a test asks for it, no tool failures. */
const world = (c: SimConfigInput = {}): SimConfig =>
  SimConfig.parse({ ...c, noise: { labelRate: 0, sampleRate: 0, ...c.noise }, tool: { errorRate: 0, ...c.tool } });
const uniform = Object.fromEntries(Skill.options.map((s) => [s, 1])) as Record<Skill, number>;
const everyLevel = (l: number) => Object.fromEntries(Skill.options.map((s) => [s, l])) as Record<Skill, number>;

type Tagged = {
  skills: Skill[];
  difficulty?: number;
  planned?: Skill;
  plan: Plan;
  step: number;
  round: number;
  tools: ToolSpec[];
  index: ToolIndex;
  context: ChatMessage[];
  label: Label;
  truth?: HiddenTruth;
  said: string;
};

/** Every sample turn of `n` simulated dialogues, tagged as the dialogue machine tags them. */
function seeded(cfg: SimConfig, n: number, prefix: string): Tagged[] {
  const out: Tagged[] = [];
  for (let i = 0; i < n; i++) {
    const tools = designToolSet({ seed: `${prefix}${i}` }, cfg);
    const index = toolIndex(tools);
    const d = driveDialogue(`${prefix}${i}`, tools, cfg);
    for (const t of d.turns) {
      const context = d.messages.slice(0, t.index);
      const exp = expectedReply(d.plan, context);
      const tags = turnSkills(d.plan, context, exp, index);
      if (!tags) continue;
      const step = d.plan.steps[exp.step]!;
      const m = d.messages[t.index] as Extract<ChatMessage, { role: 'assistant' }>;
      const label: Label = m.tool_calls.length ? { type: 'calls', calls: m.tool_calls } : { type: 'text', text: m.content };
      const userAt = context.map((x, k) => (x.role === 'user' ? k : -1)).filter((k) => k >= 0);
      out.push({
        ...tags,
        planned: exp.round < 0 ? step.skill : step.rounds[exp.round]?.skill,
        plan: d.plan,
        step: exp.step,
        round: exp.round,
        tools,
        index,
        context,
        label,
        truth: t.truth,
        said: context.slice(userAt[userAt.length - (step.withheld.length && exp.round >= 0 ? 2 : 1)] ?? 0).filter((x) => x.role === 'user').map((x) => x.content).join('\n'),
      });
    }
  }
  return out;
}

const share = (xs: Tagged[]) => {
  const m = new Map<Skill, number>();
  for (const x of xs) m.set(x.skills[0]!, (m.get(x.skills[0]!) ?? 0) + 1);
  return (s: Skill) => (m.get(s) ?? 0) / xs.length;
};

/** The argument a single-call skill was planned around: [call index, path, canonical value]. */
function focusOf(x: Tagged): { ci: number; path: string; kind: string; v: unknown } | undefined {
  const f = x.plan.steps[x.step]!.rounds[x.round]?.focus[0];
  if (!f || x.label.type !== 'calls') return undefined;
  const ci = Number(f.slice(0, f.indexOf('.')));
  const path = f.slice(f.indexOf('.') + 1);
  const kind = x.index.get(x.plan.steps[x.step]!.rounds[x.round]!.calls[ci]!.name)?.meta.params.find((p) => p.path === path)?.kind ?? '';
  return { ci, path, kind, v: getPath(x.truth?.label.type === 'calls' ? x.truth.label.calls[ci]?.arguments : x.label.calls[ci]?.arguments, path) };
}

test('every seeded sample carries skill tags, primary first, and the tags say what the sample holds', () => {
  const all = seeded(world({ skills: { mix: uniform } }), 160, 'tag');
  assert.ok(all.length > 400, `${all.length} samples`);
  for (const s of Skill.options) assert.ok(all.some((x) => x.skills[0] === s), `no sample of primary skill ${s}`);
  let plannedFirst = 0;
  for (const x of all) {
    assert.ok(x.skills.length >= 1 && new Set(x.skills).size === x.skills.length);
    for (const s of x.skills) assert.ok(Skill.options.includes(s));
    if (x.difficulty !== undefined) assert.ok([1, 2, 3].includes(x.difficulty));
    if (x.planned === x.skills[0]) plannedFirst++;
    const calls = x.label.type === 'calls' ? x.label.calls : [];
    switch (x.skills[0]) {
      case 'parallel_calls':
        assert.ok(calls.length >= 2);
        break;
      case 'irrelevant_request':
        assert.equal(x.label.type, 'text');
        assert.equal(x.plan.steps[x.step]!.kind, 'irrelevant');
        break;
      case 'clarify_missing': {
        // a good assistant names what is missing
        assert.equal(x.label.type, 'text');
        const text = x.label.type === 'text' ? x.label.text : '';
        for (const l of withheldLabels(x.plan.steps[x.step]!, x.index)) assert.ok(text.includes(l), `"${text}" does not name the ${l}`);
        break;
      }
      case 'near_duplicate_tools':
        assert.ok(calls.some((c) => siblingsOf(c.name, x.index).length > 0));
        break;
      case 'multi_step_reference': {
        // the value is in an earlier tool result, not in anything the user said
        const results = x.context.filter((m) => m.role === 'tool').map((m) => m.content).join('\n');
        const refs = x.plan.steps[x.step]!.rounds[x.round]!.calls.flatMap((pc, ci) => Object.keys(pc.refs).map((p) => getPath(calls[ci]?.arguments, p)));
        assert.ok(refs.length && refs.every((v) => results.includes(JSON.stringify(v))), 'a referenced value comes from a result');
        break;
      }
      case 'number_words':
      case 'dates_formats':
      case 'enum_mapping': {
        const f = focusOf(x);
        if (!f || x.planned !== x.skills[0]) break;
        // the user did not write the canonical value; they wrote a form that needs converting
        assert.ok(!mentions(x.said, String(f.v), true), `"${x.said}" holds ${String(f.v)} as it is`);
        const info = x.index.get(calls[f.ci]!.name)!;
        const p = info.meta.params.find((q) => q.path === f.path)!;
        const form = formUsed(convertingForms(paramClass(info, p), p.kind, f.v as string), x.said);
        assert.ok(form, `"${x.said}" has no converted form of ${String(f.v)}`);
        assert.equal(form.level, x.difficulty);
        break;
      }
    }
    // secondary tags are read from the words too: a number in words is really there
    if (x.skills.includes('number_words') && x.label.type === 'calls') {
      const found = x.label.calls.some((c) => {
        const info = x.index.get(c.name)!;
        return info.meta.params.some((p) => paramClass(info, p) === 'number' && formUsed(convertingForms('number', p.kind, getPath(c.arguments, p.path) as number), x.said));
      });
      assert.ok(found, `number_words without a number in words: ${x.said}`);
    }
  }
  assert.ok(plannedFirst >= 0.95 * all.length, `the planned skill is primary in ${plannedFirst}/${all.length}`);
});

test('tags follow the words: digits where the plan wanted words lose the number_words tag', () => {
  const xs = seeded(world({ skills: { mix: { ...everyLevel(0), number_words: 1 } } }), 30, 'digits').filter((x) => x.skills[0] === 'number_words' && x.planned === 'number_words');
  assert.ok(xs.length >= 10);
  for (const x of xs) {
    // the same dialogue, but the user typed every number the calls hold
    let context = x.context;
    for (const c of (x.truth?.label ?? x.label).type === 'calls' ? ((x.truth?.label ?? x.label) as Extract<Label, { type: 'calls' }>).calls : []) {
      const info = x.index.get(c.name)!;
      for (const p of info.meta.params) {
        const v = getPath(c.arguments, p.path);
        if (typeof v !== 'number' || paramClass(info, p) !== 'number') continue;
        const said = context.filter((m) => m.role === 'user').map((m) => m.content).join('\n');
        const form = formUsed(convertingForms('number', p.kind, v), said);
        if (!form) continue;
        const words = new RegExp(form.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi');
        context = context.map((m) => (m.role === 'user' ? { ...m, content: m.content.replace(words, String(v)) } : m));
      }
    }
    const tags = turnSkills(x.plan, context, expectedReply(x.plan, context), x.index)!;
    assert.ok(!tags.skills.includes('number_words'), `still number_words: ${JSON.stringify(tags)}`);
    assert.ok(tags.skills[0] !== undefined);
  }
});

test('the skill mix is followed: skewed by default, shifted by config, uniform through config alone', () => {
  const byDefault = share(seeded(world(), 150, 'mix'));
  assert.ok(byDefault('copy_identifier') > 2 * byDefault('multi_step_reference'), 'common skills are common');
  assert.ok(byDefault('number_words') > 2 * byDefault('parallel_calls'));
  // a test split: the whole run config, with only sim.skills.mix set
  const cfg = RunConfig.parse({ sim: { skills: { mix: uniform }, noise: { labelRate: 0, sampleRate: 0 }, tool: { errorRate: 0 } } }).sim;
  const flat = share(seeded(cfg, 200, 'uni'));
  const heavy = share(seeded(world({ skills: { mix: { ...uniform, number_words: 10 } } }), 60, 'mix'));
  assert.ok(heavy('number_words') > 2.5 * flat('number_words'), `number_words ${heavy('number_words')} against ${flat('number_words')}`);
  for (const s of Skill.options) assert.ok(flat(s) > 0.04 && flat(s) < 0.22, `uniform mix: ${s} ${flat(s).toFixed(3)}`);
  const spread = Skill.options.map(flat);
  assert.ok(Math.max(...spread) < 4 * Math.min(...spread), `uniform mix spread ${spread.map((x) => x.toFixed(3)).join(' ')}`);
});

test('the legacy kind weights still configure the mix; giving both is an error that names the keys', () => {
  const legacy = SimConfig.parse({ planner: { kinds: { single: 0, parallel: 1, multiple: 0, multi_step: 0, clarify: 0, irrelevant: 0 } } });
  assert.equal(legacy.skills.mix.parallel_calls, 1);
  assert.equal(legacy.skills.mix.number_words, 0);
  assert.equal((legacy.planner as Record<string, unknown>).kinds, undefined);
  // a parsed config parses again to itself (a run dir's config.json)
  assert.deepEqual(SimConfig.parse(JSON.parse(JSON.stringify(legacy))), legacy);
  const both = SimConfig.safeParse({ planner: { kinds: { single: 1 } }, skills: { mix: uniform } });
  assert.ok(!both.success);
  assert.match(JSON.stringify(both.error.issues), /sim\.skills\.mix/);
  const bad = SimConfig.safeParse({ skills: { mix: { number_wordz: 1 } } });
  assert.ok(!bad.success);
  const tooMany = SimConfig.safeParse({ skills: { difficulty: { parallel_calls: 3 } } });
  assert.ok(!tooMany.success);
  assert.match(tooMany.error.issues[0]!.message, /maxParallel/);
});

test('difficulty knobs change what is generated', () => {
  // the same tool sets at both levels: only the knob differs
  const at = (level: number) => seeded(world({ skills: { mix: uniform, difficulty: everyLevel(level) }, planner: { maxParallel: 4 } }), 120, 'lv');
  const easy = at(1);
  const hard = at(3);
  const of = (xs: Tagged[], s: Skill) => xs.filter((x) => x.skills[0] === s && x.planned === s);
  // parallel: level + 1 calls
  for (const x of of(easy, 'parallel_calls')) assert.equal((x.label as Extract<Label, { type: 'calls' }>).calls.length, 2);
  assert.ok(of(hard, 'parallel_calls').some((x) => (x.label as Extract<Label, { type: 'calls' }>).calls.length === 4), 'four parallel calls at level 3');
  // numbers: one word at level 1, hundreds, dozens and shorthand at level 3
  for (const x of of(easy, 'number_words')) assert.ok((focusOf(x)!.v as number) <= 19, `level 1 number ${String(focusOf(x)!.v)}`);
  assert.ok(of(hard, 'number_words').every((x) => x.difficulty === 3), 'numbers at level 3');
  // identifiers: short at 1, long and mixed at 3
  const ids = (xs: Tagged[]) => of(xs, 'copy_identifier').map(focusOf).filter((f) => f?.kind.startsWith('id.')).map((f) => String(f!.v));
  assert.ok(ids(easy).length >= 3 && ids(easy).every((v) => v.length <= 7), ids(easy).join(' '));
  assert.ok(ids(hard).length >= 3 && ids(hard).every((v) => v.length >= 12), ids(hard).join(' '));
  // multi-step: three chained calls only at level 3
  assert.ok(of(easy, 'multi_step_reference').every((x) => x.round === 1), 'two calls at level 1');
  assert.ok(of(hard, 'multi_step_reference').some((x) => x.round === 2), 'three calls at level 3');
  // clarify: the request names what it leaves out at 1; two values left out at 3
  assert.ok(of(easy, 'clarify_missing').every((x) => x.plan.steps[x.step]!.hinted && x.plan.steps[x.step]!.withheld.length === 1), 'hinted at level 1');
  assert.ok(of(hard, 'clarify_missing').some((x) => x.plan.steps[x.step]!.withheld.length === 2), 'two withheld at level 3');
  // irrelevant: far off topic at 1, an action on the tools' own subject at 3
  const topics = (xs: Tagged[]) => of(xs, 'irrelevant_request').map((x) => x.plan.steps[x.step]!.topic!);
  assert.ok(topics(easy).every((t) => OFF_TOPIC_REQUESTS.includes(t)), 'far off topic at level 1');
  assert.ok(topics(hard).filter((t) => !OFF_TOPIC_REQUESTS.includes(t)).length >= 0.8 * topics(hard).length, `close topics at level 3: ${topics(hard).join(' / ')}`);
  // and the measured level of every skill moves with the knob
  for (const s of Skill.options) {
    const mean = (xs: Tagged[]) => {
      const ls = of(xs, s).map((x) => x.difficulty).filter((d): d is number => d !== undefined);
      return ls.reduce((a, b) => a + b, 0) / Math.max(1, ls.length);
    };
    if (s === 'near_duplicate_tools' || s === 'enum_mapping') continue; // bounded by what the tool sets hold (checked below)
    assert.ok(mean(hard) > mean(easy), `${s}: level ${mean(easy)} at 1, ${mean(hard)} at 3`);
  }
  const nd = (xs: Tagged[], l: number) => of(xs, 'near_duplicate_tools').filter((x) => x.plan.steps[x.step]!.skill === 'near_duplicate_tools' && x.difficulty === l).length;
  assert.ok(nd(hard, 3) > nd(easy, 3) && nd(easy, 1) > nd(hard, 1), `near-duplicates at level 3: ${nd(easy, 3)} -> ${nd(hard, 3)}, at 1: ${nd(easy, 1)} -> ${nd(hard, 1)}`);
});

/** The round-0 roles as plain functions, for the sim expander. */
function localCall(cfg: SimConfig): CallFn {
  return (async (contract: { name: string }, _verb: string, input: never) => {
    if (contract.name === 'user') return simTurn(input, cfg);
    if (contract.name === 'assistant') return simRespond(input, cfg);
    if (contract.name === 'tool') return simExecute(input, cfg);
    throw new Error(`no ${contract.name} here`);
  }) as unknown as CallFn;
}

test('EDDE keeps the seed\'s primary skill and level and changes the content', async () => {
  const cfg = world({ skills: { mix: uniform } });
  const seeds = seeded(cfg, 60, 'edde');
  const bySkill = new Map<Skill, Tagged[]>();
  for (const x of seeds) if (x.skills[0] === x.planned) bySkill.set(x.skills[0]!, [...(bySkill.get(x.skills[0]!) ?? []), x]);
  let made = 0;
  let kept = 0;
  for (const s of Skill.options) {
    const list = (bySkill.get(s) ?? []).slice(0, 4);
    assert.ok(list.length, `no seed of ${s}`);
    for (const [i, x] of list.entries()) {
      const sample = { kind: 'single' as const, tools: x.tools, context: x.context, label: x.label, skills: x.skills, ...(x.difficulty ? { difficulty: x.difficulty } : {}) };
      for (const variation of ['data_variation', 'persona', 'interaction_style', 'complexity'] as const) {
        let out;
        try {
          out = await expandSim({ seed: `edde/${s}/${i}/${variation}`, sample, variation, ...(x.truth ? { truth: x.truth } : {}) }, cfg, localCall(cfg));
        } catch {
          continue;
        }
        made++;
        const parsed = Sample.parse({ ...out.sample, id: 'e', provenance: { source: 'expansion', round: 1 } });
        if (primarySkill(parsed) === s && parsed.difficulty === x.difficulty) kept++;
        else assert.fail(`${s}@${x.difficulty} became ${JSON.stringify(parsed.skills)}@${parsed.difficulty} (${out.notes})`);
        assert.notDeepEqual(parsed.context, x.context);
      }
    }
  }
  assert.ok(made >= 0.9 * Skill.options.length * 4 * 4 * 0.8, `expanded ${made}`);
  assert.equal(kept, made);
});

test('planted noise in chosen skills: about the configured rate there, none elsewhere, the same in every sample of a turn', () => {
  const cfg = world({ skills: { mix: { ...uniform, number_words: 4 } }, noise: { labelRate: 0, bySkill: { number_words: 0.3, parallel_calls: 0.5 } } });
  const all = seeded(cfg, 220, 'nz');
  const rate = (s: Skill) => {
    const xs = all.filter((x) => x.skills[0] === s);
    return { n: xs.length, rate: xs.filter((x) => x.truth?.noisy).length / xs.length };
  };
  const nw = rate('number_words');
  assert.ok(nw.n >= 150, `${nw.n} number_words samples`);
  assert.ok(Math.abs(nw.rate - 0.3) < 0.08, `number_words noise ${nw.rate.toFixed(3)} for 0.3`);
  const par = rate('parallel_calls');
  assert.ok(par.n >= 30 && Math.abs(par.rate - 0.5) < 0.18, `parallel noise ${par.rate.toFixed(3)} (${par.n}) for 0.5`);
  for (const s of Skill.options.filter((k) => k !== 'number_words' && k !== 'parallel_calls')) assert.equal(rate(s).rate || 0, 0, `${s} is noisy`);
  // the mistakes are the skill's own: a misread number in the focus argument, a parallel call left out
  for (const x of all.filter((y) => y.truth?.noisy)) {
    if (x.skills[0] === 'parallel_calls') assert.ok((x.label as Extract<Label, { type: 'calls' }>).calls.length < (x.truth!.label as Extract<Label, { type: 'calls' }>).calls.length);
    if (x.skills[0] === 'number_words') {
      const f = focusOf(x)!;
      const labelled = getPath((x.label as Extract<Label, { type: 'calls' }>).calls[f.ci]!.arguments, f.path);
      assert.equal(typeof labelled, 'number');
      assert.notEqual(labelled, f.v);
    }
  }
  // systematic: every fresh sample of a noisy turn makes the same mistake (self-consistency cannot see it)
  for (const x of all.filter((y) => y.truth?.noisy).slice(0, 20)) {
    const again = Array.from({ length: 4 }, (_, k) => simRespond({ seed: `again${k}`, tools: x.tools, messages: x.context, hidden: { plan: x.plan } }, cfg));
    for (const a of again) assert.ok(sameLabel(a.tool_calls.length ? { type: 'calls', calls: a.tool_calls } : { type: 'text', text: a.content }, x.label));
  }
});

test('the sim judge: verify accuracy and blind spots follow sim.judge.verify, dialogue judging follows sim.judge.dialogue', () => {
  const cfg = world({ skills: { mix: { ...everyLevel(0), number_words: 1, near_duplicate_tools: 1 } }, noise: { labelRate: 0, bySkill: { number_words: 1, near_duplicate_tools: 1 } } });
  const noisy = seeded(cfg, 80, 'jv').filter((x) => x.truth?.noisy && x.truth.label.type === 'calls');
  const nw = noisy.filter((x) => x.skills[0] === 'number_words');
  const nd = noisy.filter((x) => x.skills[0] === 'near_duplicate_tools');
  assert.ok(nw.length >= 15 && nd.length >= 15, `${nw.length} / ${nd.length} noisy samples`);
  const verdicts = (c: SimConfig, xs: Tagged[], votes = 3) =>
    xs.map((x, i) => {
      const sample = { id: `s${i}`, kind: 'single' as const, skills: x.skills, label: x.label };
      // the policy got it right: the true verdict is LABEL_WRONG
      const vs = Array.from({ length: votes }, (_, k) => simVerify({ seed: `s${i}/v${k}`, sample, prediction: x.truth!.label, hidden: { truth: x.truth! } }, c).verdict);
      return vs;
    });
  const judge = (j: SimConfigInput['judge']) => world({ judge: j });
  const found = (vs: string[][]) => vs.filter((v) => v.every((x) => x === 'LABEL_WRONG')).length / vs.length;
  assert.equal(found(verdicts(judge({ verify: { accuracy: 1 } }), noisy)), 1);
  // a blind spot for one skill: its mistakes look right to every vote; other skills are still caught
  const blind = judge({ verify: { accuracy: 1, blindSkills: ['number_words'] } });
  for (const v of verdicts(blind, nw)) assert.deepEqual(v, ['PRED_WRONG', 'PRED_WRONG', 'PRED_WRONG']);
  assert.equal(found(verdicts(blind, nd)), 1);
  // noiseBlindness: about that share of mistakes unseen, by all votes alike
  const half = verdicts(judge({ verify: { accuracy: 1, noiseBlindness: 0.5 } }), noisy, 5);
  for (const v of half) assert.equal(new Set(v).size, 1);
  const seen = found(half);
  assert.ok(seen > 0.25 && seen < 0.75, `seen ${seen}`);
  // accuracy: the share of votes that give the perceived verdict
  const votes = verdicts(judge({ verify: { accuracy: 0.7 } }), noisy, 40).flat();
  const right = votes.filter((v) => v === 'LABEL_WRONG').length / votes.length;
  assert.ok(Math.abs(right - 0.7) < 0.05, `verify accuracy ${right}`);
  // the verbs are configured apart: verify settings leave dialogue judging alone, and the other way round
  const dialogues = Array.from({ length: 25 }, (_, i) => {
    const tools = designToolSet({ seed: `jd${i}` }, cfg);
    return { tools, d: driveDialogue(`jd${i}`, tools, cfg) };
  }).filter(({ d }) => d.turns.some((t) => t.truth?.noisy));
  assert.ok(dialogues.length >= 10);
  const dialogueVerdicts = (c: SimConfig) => dialogues.map(({ tools, d }) => simJudgeDialogue({ seed: 'v', tools, messages: d.messages, hidden: { plan: d.plan } }, c).verdict);
  assert.ok(dialogueVerdicts(judge({ dialogue: { accuracy: 1, noiseBlindness: 0 }, verify: { blindSkills: [...Skill.options] } })).every((v) => v === 'INCORRECT'));
  const blindDialogues = judge({ dialogue: { accuracy: 1, noiseBlindness: 0, blindSkills: ['number_words', 'near_duplicate_tools'] } });
  assert.ok(dialogueVerdicts(blindDialogues).every((v) => v === 'CORRECT'));
});

test('the sample builder copies the turn\'s skill tags onto the sample', () => {
  const tools: ToolSpec[] = [{ name: 'get_weather', description: 'Weather for a city.', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }];
  const messages: ChatMessage[] = [
    { role: 'user', content: 'Weather in Paris?' },
    { role: 'assistant', content: '', tool_calls: [{ id: 'c1', name: 'get_weather', arguments: { city: 'Paris' } }] },
    { role: 'tool', tool_call_id: 'c1', name: 'get_weather', content: '{"temp": 20}' },
  ];
  const turns: TurnRecord[] = [{ message: 1, step: 0, kind: 'single', skills: ['copy_identifier', 'near_duplicate_tools'], difficulty: 2, samples: 2, agreed: true, masked: false, toolErrors: [false] }];
  const [s] = dialogueSamples({ id: 'd', tools, messages, turns });
  assert.deepEqual(s!.skills, ['copy_identifier', 'near_duplicate_tools']);
  assert.equal(s!.difficulty, 2);
  // samples from before skills: a stratum from their kind
  const old = Sample.parse({ ...s!, skills: undefined, difficulty: undefined });
  assert.deepEqual(old.skills, []);
  assert.equal(primarySkill({ ...old, kind: 'parallel' }), 'parallel_calls');
});

test('the demo preset\'s legacy kinds still plan (a preset written before skills)', () => {
  const cfg = SimConfig.parse({ planner: { targetTurns: 1, kinds: { single: 4, parallel: 1.5, multiple: 1.5, multi_step: 0.5, clarify: 1.5, irrelevant: 1 } } });
  const tools = designToolSet({ seed: 'demo' }, cfg);
  const plan = simPlan({ seed: 'demo', tools }, cfg);
  assert.equal(plan.steps.length, 1);
  assert.ok(plan.steps[0]!.skill);
});
