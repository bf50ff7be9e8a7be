/**
 * Simulated expander — the `sim` brain of EDDE.
 *
 * Models a generator model that is shown an error seed and writes a new sample like
 * it. It keeps what the seed tests — its primary skill at its level (a number written
 * as "two hundred and fifty", a three-call parallel request, a request whose missing
 * value is not mentioned) — and changes the content: a new one-request plan over the
 * seed's tool set (the tools the seed called first, others that serve the skill too),
 * with fresh values and one scenario variation:
 *   data_variation     every value new;
 *   persona            a different user, who frames the request their own way;
 *   interaction_style  terse, chatty or indirect wording;
 *   complexity         one more optional argument, an aside to ignore, and the tools
 *                      listed in another order (never one more call: that would change
 *                      a parallel request's level).
 * The dialogue itself is then played by the round-0 roles over the bus (user, the
 * teacher assistant, tool), so phrasing, labels and results come from the same world
 * as the seed data and the simulator truth stays correct by construction. Like a real
 * generator it makes mistakes: a planted teacher mistake at the configured label-noise
 * rate, and the seed's own label mistake again when the seed carried one that JGLV
 * did not catch (the generator trusts the label it is shown).
 */
import type { JsonValue } from '../../protocols/json.ts';
import type { ChatMessage } from '../../protocols/messages.ts';
import { LabelNoiseKind, type Plan, type PlannedNoise, type ArgRef } from '../../protocols/plan.ts';
import type { CallFn } from '../../protocols/role.ts';
import { primarySkill, type HiddenTruth, type Label, type Sample, type SampleKind, type Skill } from '../../protocols/sample.ts';
import type { SimConfig } from '../../protocols/sim-config.ts';
import type { ToolCall } from '../../protocols/toolcall.ts';
import type { ToolSpec } from '../../protocols/toolspec.ts';
import { AssistantContract } from '../../protocols/roles/assistant.ts';
import type { Variation } from '../../protocols/roles/expander.ts';
import { deriveRngSeed } from '../../protocols/rng.ts';
import { ToolContract } from '../../protocols/roles/tool.ts';
import { UserContract } from '../../protocols/roles/user.ts';
import { rng, type Rng } from '../../protocols/rng.ts';
import type { Level } from '../../protocols/truth/forms.ts';
import { buildSkillStep, plainStep, skillMistake } from '../common/sim/skills.ts';
import { turnSkills } from '../../protocols/truth/skills.ts';
import { applicableNoise, valueFor } from '../common/sim/world.ts';
import { expectedReply, getPath, groupsSince, labelOf, setPath, toolIndex, type CallGroup, type ToolIndex } from '../../protocols/truth/reply.ts';
import { sameLabel } from '../../protocols/toolcalls/index.ts';

// ------------------------------------------------------------------ the seed's shape

/** What the generator reads off an error seed. */
export type SeedShape = {
  kind: SampleKind;
  /** calls of every round of the request, the sample's own round last (empty for text answers) */
  rounds: ToolCall[][];
  /** per round, per call: argument path -> where its value came from in an earlier result */
  refs: Record<string, ArgRef>[][];
  /** the request withheld a required value that the user gave when asked */
  supplied: boolean;
  /** the sample's answer is text: a clarifying question (clarify) or a refusal (irrelevant) */
  text: boolean;
};

/** Index of the user message that opened the request the sample answers. */
function requestStart(context: readonly ChatMessage[]): { start: number; supplied: boolean } {
  let last = -1;
  context.forEach((m, i) => m.role === 'user' && (last = i));
  if (last < 0) return { start: 0, supplied: false };
  // user, assistant text (a clarifying question), user (the values): one request
  const ask = context[last - 1];
  const before = context[last - 2];
  if (ask?.role === 'assistant' && ask.tool_calls.length === 0 && before?.role === 'user') return { start: last - 2, supplied: true };
  return { start: last, supplied: false };
}

/** Paths of every leaf value inside a JSON value ("results.0.flight_id"). */
function leaves(v: JsonValue, prefix = ''): [string, JsonValue][] {
  if (v === null || typeof v !== 'object') return [[prefix, v]];
  const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v);
  return entries.flatMap(([k, x]) => leaves(x, prefix ? `${prefix}.${k}` : k));
}

/** Where in the earlier results of the request a value came from, if anywhere. */
function findRef(value: JsonValue, groups: CallGroup[], before: number): ArgRef | undefined {
  if (value === null || typeof value === 'object' || typeof value === 'boolean') return undefined;
  for (let round = 0; round < before; round++) {
    const g = groups[round];
    if (!g) continue;
    for (let call = 0; call < g.results.length; call++) {
      const res = g.results[call];
      if (res === null || res === undefined) continue;
      const hit = leaves(res).find(([, x]) => x === value);
      if (hit) return { round, call, path: hit[0] };
    }
  }
  return undefined;
}

export function seedShape(sample: Pick<Sample, 'kind' | 'context'>, label: Label, index: ToolIndex): SeedShape {
  const { start, supplied } = requestStart(sample.context);
  const groups = groupsSince([...sample.context], start + 1);
  if (label.type === 'text') return { kind: sample.kind, rounds: [], refs: [], supplied: false, text: true };
  const rounds = [...groups.map((g) => g.calls), label.calls];
  const refs = rounds.map((calls, ri) =>
    calls.map((c) => {
      const out: Record<string, ArgRef> = {};
      if (ri === 0) return out;
      const meta = index.get(c.name)?.meta;
      for (const p of meta?.params ?? []) {
        const v = getPath(c.arguments, p.path);
        if (v === undefined) continue;
        const ref = findRef(v, groups, ri);
        if (ref) out[p.path] = ref;
      }
      return out;
    }),
  );
  return { kind: sample.kind, rounds, refs, supplied, text: false };
}

// ------------------------------------------------------------------ the new plan

const PERSONAS = [
  { goal: 'a nurse on night shifts with little time', frame: ['Quick one, I\'m between shifts. {r}', '{r} I\'m on a break, so the sooner the better.'] },
  { goal: 'a retired teacher who is new to apps', frame: ['Hello, I\'m not very good with these things. {r}', 'Good morning! My grandson set this up for me. {r}'] },
  { goal: 'a freelance designer juggling clients', frame: ['Juggling three projects today. {r}', '{r} Need this for a client, thanks.'] },
  { goal: 'a student planning on a budget', frame: ['Hey! Student here, trying to sort things out. {r}', 'ok so {r}'] },
  { goal: 'an office manager organizing for the team', frame: ['On behalf of the team: {r}', 'For our office: {r}'] },
  { goal: 'a parent organizing the family week', frame: ['The kids are finally asleep. {r}', '{r} Family stuff, you know how it is.'] },
];

const STYLES: ((r: Rng, text: string) => string)[] = [
  // terse: drop the polite opener and the final punctuation
  (_r, t) => t.replace(/^(can you|could you|would you|please|i need you to|hey,)\s+/i, '').replace(/[.?!]+$/, '').replace(/,? please$/i, ''),
  // chatty
  (r, t) => `${r.pick(['Hi there!', 'Hello!', 'Hey, hope you\'re well.'])} ${t} ${r.pick(['Thanks a lot!', 'You\'re a lifesaver.', 'Much appreciated.'])}`,
  // indirect
  (_r, t) => `I was wondering if you could help: ${t.charAt(0).toLowerCase()}${t.slice(1)}`,
];

const ASIDES = ['By the way, the weather has been awful lately.', 'My phone battery is almost dead, so quick.', 'I already tried the website but it was down.', 'This is for next week\'s plans.'];

export type PlannedExpansion = { plan: Plan; target: number; notes: string[] };

/** What the expansion must keep: the seed's primary skill and its level. */
export type SkillToKeep = { skill: Skill; difficulty: Level };

/**
 * A new one-request plan for the seed's skill at the seed's level, under `variation`:
 * new values and wording, the seed's tools first but others of the set when they
 * serve the skill too; `complexity` adds an optional argument (never a call, which
 * would change a parallel request's level) and shuffles the tools.
 */
export function variedPlan(
  shape: SeedShape,
  tools: ToolSpec[],
  variation: Variation,
  seed: string,
  cfg: SimConfig,
  seedNoise: LabelNoiseKind | undefined,
  keep: SkillToKeep,
): PlannedExpansion {
  const r = rng(seed, 'expander-plan');
  const index = toolIndex(tools);
  const notes: string[] = [`variation: ${variation}`, `skill: ${keep.skill} at level ${keep.difficulty}`];
  const persona = r.pick(PERSONAS);
  const prefer = [...new Set(shape.rounds.flat().map((c) => c.name))];
  const built = buildSkillStep(keep.skill, keep.difficulty, index, r.fork('step'), cfg, prefer) ?? plainStep(index, r.fork('plain'), cfg);
  if (!built) throw new Error('the tool set serves no request');
  const { step, target } = built;
  if (step.skill !== keep.skill) notes.push(`the tools cannot serve ${keep.skill}: a plain request instead`);
  if (variation === 'complexity' && target >= 0) {
    const rd = step.rounds[target]!;
    const ci = rd.calls.findIndex((c) => !rd.focus.some((f) => f.startsWith(`${rd.calls.indexOf(c)}.`)));
    const c = rd.calls[Math.max(0, ci)]!;
    const info = index.get(c.name);
    const absent = (info?.meta.params ?? []).filter((p) => !p.required && getPath(c.arguments, p.path) === undefined && !(p.path in c.refs));
    if (info && absent.length) {
      const p = r.pick(absent);
      setPath(c.arguments, p.path, valueFor(p, info.spec, r));
      notes.push(`one more argument: ${p.path}`);
    }
  }
  notes.push(step.rounds.length ? `calls ${step.rounds.map((x) => x.calls.map((c) => c.name).join('+')).join(' -> ')}` : 'a new request that no tool serves');
  // mistakes of the generator: the seed's own (it trusts the label it is shown), or a fresh one at the world's rate
  const noise: PlannedNoise[] = [];
  const applicable = applicableNoise(step, target, index);
  const skill = target < 0 ? step.skill : step.rounds[target]?.skill;
  const bySkill = skill ? cfg.noise.bySkill[skill] : undefined;
  const typical = skill ? skillMistake(step, target, skill, index) : undefined;
  const nr = rng(seed, 'expander-noise');
  let planted: { kind: LabelNoiseKind; target?: string } | undefined;
  if (seedNoise && (applicable.includes(seedNoise) || typical?.kind === seedNoise) && nr.chance(0.8)) planted = typical?.kind === seedNoise ? typical : { kind: seedNoise };
  else if (nr.chance(bySkill ?? cfg.noise.labelRate)) {
    const kind = bySkill !== undefined && typical ? undefined : nr.weighted(cfg.noise.kinds as Record<LabelNoiseKind, number>, applicable);
    planted = kind ? { kind } : bySkill !== undefined ? typical : undefined;
  }
  if (planted)
    noise.push({ step: 0, round: target, kind: planted.kind, ...(planted.target ? { target: planted.target } : {}), ...(skill ? { skill } : {}), seed: deriveRngSeed(seed, 'noise', planted.kind) });
  return { plan: { goal: persona.goal, targetTurns: 1, steps: [step], hidden: { noise } }, target, notes };
}

/** The user's first message, reworded for the variation. */
export function frameRequest(text: string, variation: Variation, seed: string): string {
  const r = rng(seed, 'expander-frame');
  switch (variation) {
    case 'persona': {
      const p = r.pick(PERSONAS);
      return r.pick(p.frame).replace('{r}', text);
    }
    case 'interaction_style':
      return r.pick(STYLES)(r, text);
    case 'complexity':
      return r.chance(0.5) ? `${text} ${r.pick(ASIDES)}` : `${r.pick(ASIDES)} ${text}`;
    default:
      return text;
  }
}

// ------------------------------------------------------------------ playing it out

export type SimExpansion = {
  sample: Omit<Sample, 'id' | 'provenance'>;
  dialogue: ChatMessage[];
  plan: Plan;
  requireToolUse: boolean;
  notes: string;
};

export type ExpandSimRequest = {
  seed: string;
  sample: Pick<Sample, 'kind' | 'tools' | 'context' | 'label'> & Partial<Pick<Sample, 'skills' | 'difficulty'>>;
  variation: Variation;
  truth?: HiddenTruth;
};

const MAX_TURNS = 8;

/**
 * One expansion: plan it, then play the request with the user, assistant and tool roles
 * until the assistant turn the sample is about, and finish the dialogue (tool results and
 * the assistant's closing answer) so the validator sees a whole exchange.
 */
export async function expandSim(req: ExpandSimRequest, cfg: SimConfig, call: CallFn): Promise<SimExpansion> {
  const index = toolIndex(req.sample.tools);
  // the generator is shown the seed's label as the correct answer
  const shape = seedShape(req.sample, req.sample.label, index);
  const noisyParent = req.truth && !sameLabel(req.sample.label, req.truth.label);
  const parsed = LabelNoiseKind.safeParse(req.truth?.noise);
  const seedNoise = noisyParent && parsed.success ? parsed.data : undefined;
  const skill = primarySkill(req.sample);
  const keep: SkillToKeep = { skill, difficulty: (req.sample.difficulty ?? cfg.skills.difficulty[skill]) as Level };
  const { plan, target, notes } = variedPlan(shape, req.sample.tools, req.variation, req.seed, cfg, seedNoise, keep);
  const tools = req.variation === 'complexity' ? rng(req.seed, 'expander-tools').shuffle(req.sample.tools) : req.sample.tools;
  const step = plan.steps[0]!;

  const messages: ChatMessage[] = [];
  let sample: SimExpansion['sample'] | undefined;
  const say = async (k: number) => {
    const u = await call(UserContract, 'turn', { seed: deriveRngSeed(req.seed, 'user', k), tools, messages, plan });
    if (u.done) throw new Error('the simulated user ended the request before the sample\'s turn');
    messages.push({ role: 'user', content: k === 0 ? frameRequest(u.content, req.variation, req.seed) : u.content });
  };
  const execute = async (calls: ToolCall[], k: number) => {
    let failed = false;
    for (const [i, c] of calls.entries()) {
      const spec = tools.find((t) => t.name === c.name);
      if (!spec) {
        messages.push({ role: 'tool', name: c.name, tool_call_id: c.id, content: JSON.stringify({ error: `unknown tool ${c.name}` }) });
        failed = true;
        continue;
      }
      const res = await call(ToolContract, 'execute', { seed: deriveRngSeed(req.seed, 'tool', k, i), tool: spec, call: c });
      failed ||= res.error;
      messages.push({ role: 'tool', name: c.name, tool_call_id: c.id, content: res.content });
    }
    return failed;
  };

  await say(0);
  for (let turn = 0; turn < MAX_TURNS; turn++) {
    const exp = expectedReply(plan, messages);
    const a = await call(AssistantContract, 'respond', { seed: deriveRngSeed(req.seed, 'assistant', turn), tools, messages, hidden: { plan } });
    const reply: ChatMessage = { role: 'assistant', content: a.content, tool_calls: a.tool_calls };
    const isTarget = !sample && exp.sample && exp.step === 0 && exp.round === target;
    if (isTarget) {
      const label = labelOf(reply);
      const truth: HiddenTruth = a.truth ?? { label, noisy: false };
      const tags = turnSkills(plan, messages, exp, toolIndex(tools));
      sample = { kind: exp.kind, tools, context: messages.map((m) => ({ ...m })), label, masked: false, skills: tags?.skills ?? [], ...(tags?.difficulty ? { difficulty: tags.difficulty } : {}), truth };
    } else if (!sample && exp.sample && exp.step === 0 && exp.round > target) {
      throw new Error('the dialogue went past the sample\'s turn');
    }
    messages.push(reply);
    if (reply.tool_calls.length) {
      const failed = await execute(reply.tool_calls, turn);
      if (failed && !sample) throw new Error('a tool failed before the sample\'s turn (no result to build on)');
      continue;
    }
    // a text answer: a question the user answers, or the end of the request
    if (sample) break;
    if (exp.text?.type === 'clarify' || (step.withheld.length && groupsSince(messages, 0).length === 0)) {
      await say(messages.filter((m) => m.role === 'user').length);
      continue;
    }
    throw new Error('the assistant answered in text before the sample\'s turn');
  }
  if (!sample) throw new Error(`no sample turn within ${MAX_TURNS} assistant turns`);
  const last = messages[messages.length - 1]!;
  if (last.role !== 'assistant') throw new Error('the dialogue did not end with an assistant answer');
  return {
    sample,
    dialogue: messages,
    plan,
    requireToolUse: sample.label.type === 'calls' || messages.some((m) => m.role === 'assistant' && m.tool_calls.length > 0),
    notes: notes.join('; '),
  };
}
