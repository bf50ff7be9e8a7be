/**
 * Simulator support: skills — planning a request for a skill at a level.
 *
 * The planner (and the sim expander, which must keep an error seed's skill and level)
 * builds requests here: the tool, the calls, and the argument that carries the skill
 * (its "focus", which the user then words at the level). Reading back which skills a
 * sample really exercises is protocols/truth/skills.ts, whose measures (value class,
 * near-duplicate and reference levels) planning shares. The planted systematic mistake
 * of each skill is chosen here too.
 */
import { canonicalJson, type JsonValue } from '../../../protocols/json.ts';
import type { LabelNoiseKind, PlannedCall, PlanRound, PlanStep } from '../../../protocols/plan.ts';
import { Skill, type SampleKind } from '../../../protocols/sample.ts';
import type { SimConfig } from '../../../protocols/sim-config.ts';
import type { ParamMeta } from '../../../protocols/tool-meta.ts';
import { convertingForms, enumForms, identifierAt, identifierLevel, numberAt, optionsAt, type Level } from '../../../protocols/truth/forms.ts';
import { joinList, kindDef } from '../../../protocols/truth/kinds.ts';
import { askFor, OFF_TOPIC_REQUESTS, verbPhrases } from './phrasing.ts';
import { Rng } from '../../../protocols/rng.ts';
import { applicableNoise, fillRequired, valueFor } from './world.ts';
import { getPath, schemaAt, setPath, siblingsOf, type ToolIndex, type ToolInfo } from '../../../protocols/truth/reply.ts';
import { FOCUS_CLASS, isFocusSkill, nearDupLevel, paramClass, refLevel, type FocusSkill } from '../../../protocols/truth/skills.ts';

/** Skills of one call turn that can be planned on any call of a multi-round request. */
export const SINGLE_CALL_SKILLS: Skill[] = ['near_duplicate_tools', 'copy_identifier', 'number_words', 'dates_formats', 'enum_mapping'];

// ---------------------------------------------------------------- arguments

function optionsOf(info: ToolInfo, p: ParamMeta): JsonValue[] | undefined {
  const s = schemaAt(info.spec, p.path);
  return p.options ?? (p.array ? s?.items?.enum : s?.enum);
}

function focusCandidates(info: ToolInfo, skill: FocusSkill, refs: Record<string, unknown> = {}): ParamMeta[] {
  return info.meta.params.filter((p) => !p.array && !(p.path in refs) && FOCUS_CLASS[skill].includes(paramClass(info, p)));
}

/** A value for `p` read at `level` (or the nearest level it has), and that level. */
function focusValue(info: ToolInfo, p: ParamMeta, skill: FocusSkill, level: Level, current: JsonValue | undefined, r: Rng): { v: JsonValue; level: Level } | undefined {
  const cls = paramClass(info, p);
  const near = (levels: Level[]): Level[] => [level, ...([3, 2, 1] as Level[]).filter((l) => l < level), ...([1, 2, 3] as Level[]).filter((l) => l > level)].filter((l) => levels.includes(l));
  if (skill === 'number_words') {
    for (const l of near([1, 2, 3])) {
      const v = numberAt(p.kind, l, r);
      if (v !== undefined) return { v, level: l };
    }
    return undefined;
  }
  if (skill === 'dates_formats') {
    let v = current ?? valueFor(p, info.spec, r);
    // a fresh value when this one has no form at the level ("12:45" has no 12-hour form to convert);
    // not when another date of the call keeps an order with it (check-in before check-out)
    const paired = info.meta.params.some((q) => q !== p && q.kind === p.kind);
    for (let i = 0; i < 8 && !paired && !convertingForms('date', p.kind, v).some((f) => f.level === level); i++) v = valueFor(p, info.spec, r);
    const l = near(convertingForms('date', p.kind, v).map((f) => f.level))[0];
    return l ? { v, level: l } : undefined;
  }
  if (skill === 'enum_mapping') {
    const opts = optionsOf(info, p);
    for (const l of near([1, 2, 3])) {
      if (opts?.length) {
        const at = optionsAt(p.kind, opts, l);
        if (at.length) return { v: r.pick(at), level: l };
      } else {
        const v = current ?? valueFor(p, info.spec, r);
        if (enumForms(p.kind, v).some((f) => f.level === l)) return { v, level: l };
      }
    }
    return undefined;
  }
  if (cls === 'ident') {
    if (p.kind.startsWith('id.')) return { v: identifierAt(p.kind, level, r), level };
    const v = current ?? valueFor(p, info.spec, r);
    return { v, level: identifierLevel(v) };
  }
  // a plain value copied as written: the easiest copy there is
  const v = current ?? valueFor(p, info.spec, r);
  return typeof v === 'string' ? { v, level: 1 } : undefined;
}

/**
 * Sets the argument that carries `skill` in `call` to a value read at `level` and
 * returns its path and the level reached; identifiers before plain values, present
 * arguments before optional ones that have to be added.
 */
export function applyFocus(call: PlannedCall, info: ToolInfo, skill: FocusSkill, level: Level, r: Rng): { path: string; level: Level } | undefined {
  const cands = focusCandidates(info, skill, call.refs);
  if (!cands.length) return undefined;
  const rank = (p: ParamMeta) => (paramClass(info, p) === 'ident' ? 0 : 2) + (getPath(call.arguments, p.path) !== undefined ? 0 : 1);
  const ordered = r.shuffle(cands).sort((a, b) => rank(a) - rank(b));
  let best: { p: ParamMeta; v: JsonValue; level: Level } | undefined;
  for (const p of ordered) {
    const got = focusValue(info, p, skill, level, getPath(call.arguments, p.path), r);
    if (!got) continue;
    const score = (l: Level) => (l === level ? 0 : l < level ? level - l : 10 + l - level);
    if (!best || score(got.level) < score(best.level)) best = { p, ...got };
    if (got.level === level) break;
  }
  if (!best) return undefined;
  setPath(call.arguments, best.p.path, best.v);
  fillRequired(call.arguments, info, r);
  return { path: best.p.path, level: best.level };
}

// ---------------------------------------------------------------- near-duplicates and chains


export type Chain = { a: ToolInfo; b: ToolInfo; resultPath: string; param: string };

/** Pairs of tools where a field of A's result can fill a required parameter of B. */
export function findChains(index: ToolIndex): Chain[] {
  const out: Chain[] = [];
  for (const a of index.values()) {
    const ret = a.meta.returns;
    if (!ret) continue;
    const base = ret.list !== undefined ? (ret.list ? `${ret.list}.0` : '0') : ret.record ?? '';
    for (const [field, kind] of Object.entries(ret.fields)) {
      if (!kindDef(kind).chainable) continue;
      for (const b of index.values()) {
        if (b === a) continue;
        for (const p of b.meta.params) {
          if (p.required && !p.array && p.kind === kind) out.push({ a, b, resultPath: base ? `${base}.${field}` : field, param: p.path });
        }
      }
    }
  }
  return out;
}


// ---------------------------------------------------------------- calls

const DATEISH = new Set(['date', 'time', 'datetime', 'month']);

/** A planned call of `info` with sampled values: every required parameter, optional ones at `optionalRate`. */
export function makeCall(info: ToolInfo, r: Rng, cfg: SimConfig, skip: string[] = []): PlannedCall {
  const args: Record<string, JsonValue> = {};
  const used = new Map<string, Set<string>>();
  const dates: { path: string; v: string }[] = [];
  for (const p of info.meta.params) {
    if (skip.includes(p.path)) continue;
    if (!p.required && !r.chance(cfg.planner.optionalRate)) continue;
    // two parameters of one kind get different values (origin != destination)
    let v = valueFor(p, info.spec, r);
    for (let i = 0; i < 6 && used.get(p.kind)?.has(canonicalJson(v)); i++) v = valueFor(p, info.spec, r);
    used.set(p.kind, (used.get(p.kind) ?? new Set()).add(canonicalJson(v)));
    if (DATEISH.has(p.kind) && typeof v === 'string' && !p.array) dates.push({ path: p.path, v });
    setPath(args, p.path, v);
  }
  // dates of one call follow the parameter order (check-in before check-out, start before end)
  const groups = new Map<string, { path: string; v: string }[]>();
  for (const d of dates) {
    const kind = info.meta.params.find((p) => p.path === d.path)!.kind;
    groups.set(kind, [...(groups.get(kind) ?? []), d]);
  }
  for (const g of groups.values()) {
    const sorted = g.map((d) => d.v).sort();
    g.forEach((d, i) => setPath(args, d.path, sorted[i]!));
  }
  fillRequired(args, info, r);
  return { name: info.spec.name, arguments: args, refs: {} };
}

function intentText(info: ToolInfo, extra = ''): string {
  return `${info.meta.verb.replace(/_/g, ' ')} ${info.meta.object} with ${info.spec.name}${extra}`;
}

const singleKind = (info: ToolInfo, index: ToolIndex): SampleKind => (siblingsOf(info.spec.name, index).length ? 'multiple' : 'single');

/** Whether some argument of `info` can be worded at exactly `level` for `skill` (dates always can). */
function reaches(info: ToolInfo, skill: FocusSkill, level: Level): boolean {
  return focusCandidates(info, skill).some((p) => {
    const cls = paramClass(info, p);
    if (skill === 'number_words') return numberAt(p.kind, level, new Rng('reach')) !== undefined;
    if (skill === 'enum_mapping') {
      const opts = optionsOf(info, p);
      return opts?.length ? optionsAt(p.kind, opts, level).length > 0 : level === 3;
    }
    if (skill === 'copy_identifier') return cls === 'ident' ? p.kind.startsWith('id.') : level === 1;
    return true;
  });
}

/** Whether the call of `info` can carry `skill` on its own. */
function callCan(info: ToolInfo, index: ToolIndex, skill: Skill, refs: Record<string, unknown> = {}): boolean {
  if (skill === 'near_duplicate_tools') return siblingsOf(info.spec.name, index).length > 0;
  return isFocusSkill(skill) && focusCandidates(info, skill, refs).length > 0;
}

/**
 * Gives a call round that was not planned for a skill of its own (the first call of a
 * multi-step or clarify request) one, drawn from the mix among those the call can carry.
 */
export function shapeRound(round: PlanRound, index: ToolIndex, r: Rng, cfg: SimConfig): PlanRound {
  const call = round.calls[0];
  const info = call && index.get(call.name);
  if (!call || !info || round.calls.length !== 1) return round;
  const feasible = SINGLE_CALL_SKILLS.filter((s) => callCan(info, index, s, call.refs));
  const skill = r.weighted(cfg.skills.mix, feasible);
  if (!skill) return { ...round, skill: siblingsOf(call.name, index).length ? 'near_duplicate_tools' : 'copy_identifier' };
  if (skill === 'near_duplicate_tools') return { ...round, skill, difficulty: nearDupLevel(info, index) };
  const f = isFocusSkill(skill) ? applyFocus(call, info, skill, cfg.skills.difficulty[skill] as Level, r) : undefined;
  return f ? { ...round, skill, difficulty: f.level, focus: [`0.${f.path}`] } : { ...round, skill };
}

// ---------------------------------------------------------------- requests per skill

export type BuiltStep = { step: PlanStep; target: number };

/** Which skills the tool set can serve at all. */
export function feasibleSkills(index: ToolIndex): Skill[] {
  const infos = [...index.values()];
  const out: Skill[] = ['irrelevant_request'];
  if (!infos.length) return out;
  for (const s of SINGLE_CALL_SKILLS) if (infos.some((i) => callCan(i, index, s))) out.push(s);
  if (infos.length >= 2 || infos.some((i) => i.meta.params.length)) out.push('parallel_calls');
  if (findChains(index).length) out.push('multi_step_reference');
  if (infos.some((i) => i.meta.params.some((p) => p.required))) out.push('clarify_missing');
  return Skill.options.filter((s) => out.includes(s));
}

const ASIDE_TOPICS = [
  'Any general tips about {o}?', 'What do people usually get wrong about {o}?', 'Write me a short poem about {o}.',
  'Why is everyone talking about {o} these days?', 'What is the history of {o}, in a few sentences?',
];
/** Action classes; a request for one that no tool of the set offers is out of scope, however close. */
const ACTIONS = [
  ['cancel', 'delete', 'remove', 'drop'],
  ['update', 'set', 'change', 'modify', 'reschedule', 'adjust'],
  ['share', 'send', 'post', 'forward'],
  ['compare'],
  ['track'],
];

function offTopic(level: Level, index: ToolIndex, r: Rng): { topic: string; level: Level } {
  const infos = [...index.values()];
  if (level === 3 && infos.length && infos.every((i) => i.meta.verb !== 'use')) {
    const verbs = new Set(infos.map((i) => i.meta.verb));
    const free = ACTIONS.filter((g) => !g.some((v) => verbs.has(v)));
    if (free.length) {
      const verb = r.pick(free)[0]!;
      const obj = r.pick(infos).meta.object;
      return { topic: askFor(r, r.pick(verbPhrases(verb)).replace('{o}', obj)), level: 3 };
    }
  }
  if (level >= 2 && infos.length) return { topic: r.pick(ASIDE_TOPICS).replace('{o}', r.pick(infos).meta.object), level: 2 };
  return { topic: r.pick(OFF_TOPIC_REQUESTS), level: 1 };
}

/** Levels in the order to try: the wanted one, then lower, then higher. */
function byCloseness<T>(items: T[], levelOf: (t: T) => Level | undefined, level: Level): T[] {
  const at = (l: Level) => items.filter((t) => levelOf(t) === l);
  for (const l of [level, ...([3, 2, 1] as Level[]).filter((x) => x < level), ...([1, 2, 3] as Level[]).filter((x) => x > level)]) {
    const xs = at(l);
    if (xs.length) return xs;
  }
  return items;
}

/**
 * One request planned for `skill` at `level` over the tool set; undefined when the set
 * cannot serve the skill. `target` is the round whose assistant turn carries the skill
 * (-1: the text turn of a clarify or irrelevant request). The level written into the
 * plan is the one reached, which the set may not allow to be the one asked for.
 */
export function buildSkillStep(skill: Skill, level: Level, index: ToolIndex, r: Rng, cfg: SimConfig, prefer: string[] = []): BuiltStep | undefined {
  const infos = [...index.values()];
  // tools with parameters carry the learning signal; the error seed's own tools come first for EDDE
  const pickTool = (xs: ToolInfo[]) => {
    const pref = xs.filter((x) => prefer.includes(x.spec.name));
    if (pref.length && r.chance(0.7)) return r.pick(pref);
    const rich = xs.filter((x) => x.meta.params.length > 0);
    return rich.length && r.chance(0.85) ? r.pick(rich) : r.pick(xs);
  };
  const base = { withheld: [] as string[], hinted: false };
  switch (skill) {
    case 'irrelevant_request': {
      const t = offTopic(level, index, r);
      return { step: { ...base, kind: 'irrelevant', intent: 'ask for something none of the tools can do', rounds: [], topic: t.topic, skill, difficulty: t.level }, target: -1 };
    }
    case 'near_duplicate_tools': {
      const cands = infos.filter((i) => siblingsOf(i.spec.name, index).length);
      if (!cands.length) return undefined;
      const info = pickTool(byCloseness(cands, (i) => nearDupLevel(i, index), level));
      const d = nearDupLevel(info, index)!;
      const round: PlanRound = { kind: 'multiple', calls: [makeCall(info, r, cfg)], skill, difficulty: d, focus: [] };
      return { step: { ...base, kind: 'multiple', intent: intentText(info, ' (not one of its look-alikes)'), rounds: [round], skill, difficulty: d }, target: 0 };
    }
    case 'parallel_calls': {
      const n = Math.min(level + 1, cfg.planner.maxParallel);
      const withParams = infos.filter((i) => i.meta.params.length);
      if (!infos.length) return undefined;
      const same = withParams.length > 0 && (infos.length < n || r.chance(0.5));
      const calls: PlannedCall[] = [];
      if (same) {
        const info = pickTool(withParams);
        for (let i = 0; i < n * 4 && calls.length < n; i++) {
          const c = makeCall(info, r, cfg);
          if (!calls.some((x) => canonicalJson(x.arguments) === canonicalJson(c.arguments))) calls.push(c);
        }
      } else {
        for (const info of r.sample(infos, Math.min(n, infos.length))) calls.push(makeCall(info, r, cfg));
      }
      if (calls.length < 2) return undefined;
      const d = Math.min(3, calls.length - 1) as Level;
      const round: PlanRound = { kind: 'parallel', calls, skill, difficulty: d, focus: [] };
      return { step: { ...base, kind: 'parallel', intent: `${calls.length} independent requests at once: ${calls.map((c) => c.name).join(', ')}`, rounds: [round], skill, difficulty: d }, target: 0 };
    }
    case 'multi_step_reference': {
      const chains = findChains(index);
      if (!chains.length) return undefined;
      const triples = level === 3 ? chains.flatMap((c1) => chains.filter((c2) => c2.a === c1.b && c2.b !== c1.a).map((c2) => [c1, c2] as const)) : [];
      const links: Chain[] = triples.length ? [...r.pick(triples)] : [r.pick(byCloseness(chains, (c) => refLevel(c.resultPath, c.param), level))];
      const rounds: PlanRound[] = [shapeRound({ kind: singleKind(links[0]!.a, index), calls: [makeCall(links[0]!.a, r, cfg)], focus: [] }, index, r.fork('aux'), cfg)];
      links.forEach((ch, k) => {
        const call = makeCall(ch.b, r, cfg, [ch.param]);
        call.refs = { [ch.param]: { round: k, call: 0, path: ch.resultPath } };
        const d: Level = k >= 1 ? 3 : refLevel(ch.resultPath, ch.param);
        rounds.push({ kind: 'multi_step', calls: [call], skill, difficulty: d, focus: [] });
      });
      const reached = rounds[rounds.length - 1]!.difficulty!;
      const intent = links.map((ch, k) => (k === 0 ? `${intentText(ch.a)}, then ${intentText(ch.b)}` : `then ${intentText(ch.b)}`)).join(', ') + ', each using a value from the result before';
      return { step: { ...base, kind: 'multi_step', intent, rounds, skill, difficulty: reached }, target: rounds.length - 1 };
    }
    case 'clarify_missing': {
      const cands = infos.filter((i) => i.meta.params.some((p) => p.required));
      if (!cands.length) return undefined;
      const info = pickTool(cands);
      const req = info.meta.params.filter((p) => p.required);
      const k = level === 3 && req.length >= 2 ? 2 : 1;
      const withheld = r.sample(req, k).map((p) => `0.${p.path}`);
      const d: Level = k === 2 ? 3 : level === 1 ? 1 : 2;
      const round = shapeRound({ kind: singleKind(info, index), calls: [makeCall(info, r, cfg)], focus: [] }, index, r.fork('aux'), cfg);
      return {
        step: { kind: 'clarify', intent: `${intentText(info)}, first without saying the ${joinList(withheld.map((w) => w.slice(2)))}`, rounds: [round], withheld, hinted: d === 1, skill, difficulty: d },
        target: -1,
      };
    }
    default: {
      if (!isFocusSkill(skill)) return undefined;
      const cands = infos.filter((i) => callCan(i, index, skill));
      if (!cands.length) return undefined;
      const exact = cands.filter((i) => reaches(i, skill, level));
      const info = pickTool(exact.length ? exact : cands);
      const call = makeCall(info, r, cfg);
      const f = applyFocus(call, info, skill, level, r);
      if (!f) return undefined;
      const round: PlanRound = { kind: singleKind(info, index), calls: [call], skill, difficulty: f.level, focus: [`0.${f.path}`] };
      return { step: { ...base, kind: round.kind, intent: intentText(info), rounds: [round], skill, difficulty: f.level }, target: 0 };
    }
  }
}

/** A plain call of some tool, for when no skill fits (a set of parameterless tools). */
export function plainStep(index: ToolIndex, r: Rng, cfg: SimConfig): BuiltStep | undefined {
  const infos = [...index.values()];
  if (!infos.length) return undefined;
  const info = r.pick(infos);
  const kind = singleKind(info, index);
  const skill: Skill = kind === 'multiple' ? 'near_duplicate_tools' : 'copy_identifier';
  const round: PlanRound = { kind, calls: [makeCall(info, r, cfg)], skill, focus: [] };
  return { step: { kind, intent: intentText(info), rounds: [round], withheld: [], hinted: false, skill }, target: 0 };
}

/**
 * Draw weights of a request's skill such that the *samples* follow the mix: the first
 * call of a multi-step request and the call after a clarify question are samples too,
 * and they draw a single-call skill, so single-call skills are drawn less as requests.
 */
export function requestWeights(cfg: SimConfig, feasible: readonly Skill[]): Record<Skill, number> {
  const mix = cfg.skills.mix;
  const total = feasible.reduce((a, s) => a + mix[s], 0) || 1;
  const w = (s: Skill) => (feasible.includes(s) ? mix[s] / total : 0);
  const singles = SINGLE_CALL_SKILLS.filter((s) => feasible.includes(s));
  const ws = singles.reduce((a, s) => a + w(s), 0);
  const extra = w('multi_step_reference') * (cfg.skills.difficulty.multi_step_reference === 3 ? 2 : 1) + w('clarify_missing');
  const factor = ws > 0 ? Math.max(0, 1 - extra / ws) : 1;
  return Object.fromEntries(Skill.options.map((s) => [s, singles.includes(s) ? w(s) * factor : w(s)])) as Record<Skill, number>;
}

// ---------------------------------------------------------------- systematic mistakes

/** The planted mistake typical of a skill on this turn (a misread value is aimed at the focus argument). */
export function skillMistake(step: PlanStep, round: number, skill: Skill, index: ToolIndex): { kind: LabelNoiseKind; target?: string } | undefined {
  const applicable = applicableNoise(step, round, index);
  const want = (kind: LabelNoiseKind) => (applicable.includes(kind) ? { kind } : undefined);
  switch (skill) {
    case 'near_duplicate_tools':
      return want('wrong_tool');
    case 'parallel_calls':
      return want('missed_call');
    case 'clarify_missing':
      return want('no_clarify');
    case 'irrelevant_request':
      return want('spurious_call');
    case 'multi_step_reference': {
      const pr = step.rounds[round];
      const ci = pr?.calls.findIndex((c) => Object.keys(c.refs).length) ?? -1;
      const path = ci >= 0 ? Object.keys(pr!.calls[ci]!.refs)[0] : undefined;
      // the value copied wrong from the result it should have been read from
      return path !== undefined ? { kind: 'wrong_value', target: `${ci}.${path}` } : undefined;
    }
    default: {
      const f = step.rounds[round]?.focus[0];
      return f ? { kind: 'wrong_value', target: f } : undefined;
    }
  }
}

/** The text to write for a focus argument, at the planned level (identifiers and plain values as they are). */
export function focusWords(info: ToolInfo, p: ParamMeta, v: JsonValue, level: Level | undefined, r: Rng): string | undefined {
  const cls = paramClass(info, p);
  if (cls !== 'number' && cls !== 'date' && cls !== 'enum') return undefined;
  const forms = convertingForms(cls, p.kind, v);
  const want = level ?? 2;
  for (let l = want; l >= 1; l--) {
    const at = forms.filter((f) => f.level === l);
    if (at.length) return r.pick(at).text;
  }
  return forms.length ? r.pick(forms).text : undefined;
}
