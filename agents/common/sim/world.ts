/**
 * Simulator core: the shared model of a simulated dialogue.
 *
 * Given a plan (the planned requests, with their calls and planted teacher mistakes)
 * and the messages so far, it tells where the dialogue is (which request, which
 * round of calls), what a correct assistant would answer now (the truth label), and
 * how the planted or sampled teacher mistakes change that answer. The user, assistant
 * and judge simulators all read the dialogue through it, so they agree on the truth.
 */
import type { JsonValue } from '../../../protocols/json.ts';
import type { ParamSchema, ToolSpec } from '../../../protocols/toolspec.ts';
import type { ToolCall } from '../../../protocols/toolcall.ts';
import type { ChatMessage } from '../../../protocols/messages.ts';
import type { Label, SampleKind } from '../../../protocols/sample.ts';
import type { LabelNoiseKind, Plan, PlannedCall, PlannedNoise, PlanStep } from '../../../protocols/plan.ts';
import type { ParamMeta, ToolMeta } from '../../../protocols/tool-meta.ts';
import { sameCalls } from '../../../protocols/toolcalls/toolmatch.ts';
import { toolMetaOf } from './infer.ts';
import { convertedForms, genValue, kindDef } from './kinds.ts';
import { misread, valueClass } from './forms.ts';
import { rng, type Rng } from '../../../protocols/rng.ts';

// ---------------------------------------------------------------- JSON paths

/** Value at a dotted path ("results.0.flight_id"); numeric parts index arrays. */
export function getPath(v: JsonValue | undefined, path: string): JsonValue | undefined {
  if (path === '') return v;
  let cur: JsonValue | undefined = v;
  for (const part of path.split('.')) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return undefined;
    cur = Array.isArray(cur) ? cur[Number(part)] : cur[part];
  }
  return cur;
}

export function setPath(obj: Record<string, JsonValue>, path: string, value: JsonValue): void {
  const parts = path.split('.');
  let cur: Record<string, JsonValue> = obj;
  for (const part of parts.slice(0, -1)) {
    const next = cur[part];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[part] = {};
    cur = cur[part] as Record<string, JsonValue>;
  }
  cur[parts[parts.length - 1]!] = value;
}

/** Deletes a dotted path; an object left empty by it is deleted too. */
export function deletePath(obj: Record<string, JsonValue>, path: string): boolean {
  const parts = path.split('.');
  const parent = parts.length > 1 ? getPath(obj, parts.slice(0, -1).join('.')) : obj;
  if (!parent || typeof parent !== 'object' || Array.isArray(parent)) return false;
  const last = parts[parts.length - 1]!;
  if (!(last in parent)) return false;
  delete (parent as Record<string, JsonValue>)[last];
  if (parts.length > 1 && Object.keys(parent).length === 0) deletePath(obj, parts.slice(0, -1).join('.'));
  return true;
}

export function clone<T extends JsonValue | Record<string, JsonValue>>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** JSON with object keys sorted: equal values give equal strings. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .filter((k) => o[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(',')}}`;
}

// ---------------------------------------------------------------- matching

/**
 * Whether two labels agree, by ToolMatch's rules (protocols/toolcalls): the same calls
 * as a multiset, or both text.
 */
export function labelsMatch(a: Label, b: Label): boolean {
  if (a.type === 'text' || b.type === 'text') return a.type === b.type;
  return sameCalls(a.calls, b.calls);
}

/** The label an assistant message carries: its calls, or its text when it makes none. */
export function labelOf(m: { content?: string; tool_calls?: ToolCall[] }): Label {
  return m.tool_calls && m.tool_calls.length ? { type: 'calls', calls: m.tool_calls.map((c) => ({ name: c.name, arguments: c.arguments })) } : { type: 'text', text: m.content ?? '' };
}

// ---------------------------------------------------------------- tools

export type ToolInfo = { spec: ToolSpec; meta: ToolMeta };
export type ToolIndex = Map<string, ToolInfo>;

export function toolIndex(tools: ToolSpec[]): ToolIndex {
  return new Map(tools.map((t) => [t.name, { spec: t, meta: toolMetaOf(t) }]));
}

/** Other tools of the same family in the set: the near-duplicates. */
export function siblingsOf(name: string, index: ToolIndex): ToolInfo[] {
  const me = index.get(name);
  if (!me) return [];
  return [...index.values()].filter((t) => t.spec.name !== name && t.meta.family === me.meta.family);
}

/** Schema of the argument at a dotted path. */
export function schemaAt(spec: ToolSpec, path: string): ParamSchema | undefined {
  let props: Record<string, ParamSchema> | undefined = spec.parameters.properties;
  let s: ParamSchema | undefined;
  for (const part of path.split('.')) {
    s = props?.[part];
    if (!s) return undefined;
    props = s.properties;
  }
  return s;
}

function typeFits(type: ParamSchema['type'], v: JsonValue): boolean {
  if (type === 'integer') return typeof v === 'number' && Number.isInteger(v);
  if (type === 'number') return typeof v === 'number';
  if (type === 'string') return typeof v === 'string';
  if (type === 'boolean') return typeof v === 'boolean';
  if (type === 'array') return Array.isArray(v);
  if (type === 'object') return v !== null && typeof v === 'object' && !Array.isArray(v);
  return v === null;
}

function genByType(s: ParamSchema | undefined, r: Rng): JsonValue {
  if (s?.enum?.length) return r.pick(s.enum);
  switch (s?.type) {
    case 'integer':
      return r.int(1, 20);
    case 'number':
      return r.pick([1.5, 2, 5, 10, 12.5, 100]);
    case 'boolean':
      return true;
    case 'array':
      return [genByType(s.items, r)];
    case 'object': {
      const out: Record<string, JsonValue> = {};
      for (const req of s.required ?? []) out[req] = genByType(s.properties?.[req], r);
      return out;
    }
    case 'null':
      return null;
    default:
      return r.pick(['alpha', 'standard', 'default', 'example', 'sample']);
  }
}

/** A canonical value for a parameter, of the type its schema declares. */
export function valueFor(p: ParamMeta, spec: ToolSpec, r: Rng): JsonValue {
  const s = schemaAt(spec, p.path);
  const item = p.array ? s?.items : s;
  const one = (): JsonValue => {
    const v = genValue(p.kind, r, p.options ?? item?.enum);
    return item && typeFits(item.type, v) ? v : genByType(item, r);
  };
  if (!p.array) return one();
  const n = r.int(1, Math.min(3, p.options?.length ?? 3));
  const out: JsonValue[] = [];
  for (let i = 0; i < n * 3 && out.length < n; i++) {
    const v = one();
    if (!out.some((x) => canonicalJson(x) === canonicalJson(v))) out.push(v);
  }
  return out;
}

/**
 * Fills what an object argument that is present needs: an optional object that
 * holds one value must still carry its own required fields.
 */
export function fillRequired(args: Record<string, JsonValue>, info: ToolInfo, r: Rng): void {
  const walk = (props: Record<string, ParamSchema>, required: string[], obj: Record<string, JsonValue>, at: string) => {
    for (const [k, s] of Object.entries(props)) {
      const path = at ? `${at}.${k}` : k;
      if (obj[k] === undefined && required.includes(k)) {
        if (s.type !== 'object') {
          const p = info.meta.params.find((q) => q.path === path);
          obj[k] = p ? valueFor(p, info.spec, r) : genByType(s, r);
          continue;
        }
        // a required object of optional fields: give it one, so that the user has something to say
        obj[k] = {};
        const inner = info.meta.params.filter((q) => q.path.startsWith(`${path}.`) && !q.path.slice(path.length + 1).includes('.'));
        if (inner.length) {
          const q = r.pick(inner);
          setPath(args, q.path, valueFor(q, info.spec, r));
        }
      }
      const v = obj[k];
      if (s.type === 'object' && v && typeof v === 'object' && !Array.isArray(v)) walk(s.properties ?? {}, s.required ?? [], v as Record<string, JsonValue>, path);
    }
  };
  walk(info.spec.parameters.properties, info.spec.parameters.required, args, '');
}

// ---------------------------------------------------------------- tool results

export function parseResult(content: string): JsonValue | null {
  try {
    return JSON.parse(content) as JsonValue;
  } catch {
    return null;
  }
}

export function isErrorResult(v: JsonValue | null): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && 'error' in v;
}

/** One assistant message with calls and the tool messages that answered it. */
export type CallGroup = { calls: ToolCall[]; names: string[]; results: (JsonValue | null)[]; raw: string[] };

/** The call rounds of the current request: assistant calls and tool answers after message `from`. */
export function groupsSince(messages: ChatMessage[], from: number): CallGroup[] {
  const groups: CallGroup[] = [];
  for (const m of messages.slice(from)) {
    if (m.role === 'assistant' && m.tool_calls.length) groups.push({ calls: m.tool_calls, names: [], results: [], raw: [] });
    else if (m.role === 'tool' && groups.length) {
      const g = groups[groups.length - 1]!;
      g.names.push(m.name);
      g.results.push(parseResult(m.content));
      g.raw.push(m.content);
    }
  }
  return groups;
}

/** The planned call with its references filled from earlier results; undefined if one cannot be. */
export function resolveCall(pc: PlannedCall, groups: CallGroup[]): ToolCall | undefined {
  const args = clone(pc.arguments);
  for (const [argPath, ref] of Object.entries(pc.refs)) {
    const v = getPath(groups[ref.round]?.results[ref.call] ?? undefined, ref.path);
    if (v === undefined || v === null) return undefined;
    setPath(args, argPath, v);
  }
  return { name: pc.name, arguments: args };
}

// ---------------------------------------------------------------- where the dialogue is

export type ScriptEntry = { step: number; phase: 'request' | 'supply' };

/** The user's messages, in order: each request, plus a follow-up for withheld values. */
export function userScript(plan: Plan): ScriptEntry[] {
  const out: ScriptEntry[] = [];
  plan.steps.forEach((s, i) => {
    out.push({ step: i, phase: 'request' });
    if (s.withheld.length && s.rounds.length) out.push({ step: i, phase: 'supply' });
  });
  return out;
}

export type TextIntent =
  | { type: 'clarify'; tool: string; labels: string[] }
  | { type: 'refusal' }
  | { type: 'summary'; groups: CallGroup[] }
  | { type: 'idle' };

/** What a correct assistant does now. `round` -1 = a text turn; `sample` = the turn becomes a training sample. */
export type Expected = {
  label: Label;
  kind: SampleKind;
  step: number;
  round: number;
  sample: boolean;
  text?: TextIntent;
};

function textExpected(kind: SampleKind, step: number, round: number, sample: boolean, text: TextIntent): Expected {
  return { label: { type: 'text', text: '' }, kind, step, round, sample, text };
}

/** The correct next assistant answer, from the plan and the messages so far. */
export function expectedReply(plan: Plan, messages: ChatMessage[]): Expected {
  const script = userScript(plan);
  const userAt: number[] = [];
  messages.forEach((m, i) => m.role === 'user' && userAt.push(i));
  const entry = userAt.length ? script[userAt.length - 1] : undefined;
  if (!entry) return textExpected('single', -1, -1, false, { type: 'idle' });
  const step = plan.steps[entry.step]!;
  const groups = groupsSince(messages, userAt[userAt.length - 1]! + 1);
  const summary = () => textExpected(step.kind, entry.step, -1, false, { type: 'summary', groups });
  if (step.kind === 'irrelevant' || step.rounds.length === 0)
    return groups.length ? summary() : textExpected('irrelevant', entry.step, -1, true, { type: 'refusal' });
  if (entry.phase === 'request' && step.withheld.length) {
    if (groups.length) return summary();
    return textExpected('clarify', entry.step, -1, true, { type: 'clarify', tool: step.rounds[0]!.calls[0]!.name, labels: [] });
  }
  const r = groups.length;
  if (groups.some((g) => g.results.some(isErrorResult)) || r >= step.rounds.length) return summary();
  const calls: ToolCall[] = [];
  for (const pc of step.rounds[r]!.calls) {
    const c = resolveCall(pc, groups);
    if (!c) return summary();
    calls.push(c);
  }
  return { label: { type: 'calls', calls }, kind: step.rounds[r]!.kind, step: entry.step, round: r, sample: true };
}

/** The planted mistake for a turn, if any. */
export function plannedNoiseFor(plan: Plan, step: number, round: number): PlannedNoise | undefined {
  return plan.hidden?.noise.find((n) => n.step === step && n.round === round);
}

// ---------------------------------------------------------------- teacher mistakes

/** `target`: the argument a systematic skill mistake is aimed at ("<call>.<path>"). */
type NoiseCtx = { index: ToolIndex; step: PlanStep; round: number; target?: string };

function presentParams(call: ToolCall, index: ToolIndex): ParamMeta[] {
  const info = index.get(call.name);
  if (!info) return [];
  return info.meta.params.filter((p) => getPath(call.arguments, p.path) !== undefined);
}

function absentOptional(call: ToolCall, index: ToolIndex): ParamMeta[] {
  const info = index.get(call.name);
  if (!info) return [];
  return info.meta.params.filter((p) => !p.required && getPath(call.arguments, p.path) === undefined);
}

/** Surface forms a value could wrongly keep: "March 3rd 2026", "three", "3" for 3, "$1.5k". */
function wrongForms(p: ParamMeta, v: JsonValue): JsonValue[] {
  if (Array.isArray(v)) return [];
  const forms: JsonValue[] = convertedForms(p.kind, v);
  if (typeof v === 'number') forms.push(String(v));
  return forms.filter((f) => canonicalJson(f) !== canonicalJson(v));
}

/** Same kind, canonical-looking, but different value. */
function otherValue(p: ParamMeta, spec: ToolSpec, v: JsonValue, r: Rng): JsonValue | undefined {
  for (let i = 0; i < 12; i++) {
    const w = valueFor(p, spec, r);
    if (canonicalJson(w) !== canonicalJson(v)) return w;
  }
  return undefined;
}

/** Mistakes that can be made on a planned call round (or on a text turn: round -1). */
export function applicableNoise(step: PlanStep, round: number, index: ToolIndex): LabelNoiseKind[] {
  if (round < 0) {
    if (step.kind === 'irrelevant') return index.size ? ['spurious_call'] : [];
    if (step.withheld.length && step.rounds.length) return ['no_clarify'];
    return [];
  }
  const pr = step.rounds[round];
  if (!pr) return [];
  const kinds = new Set<LabelNoiseKind>();
  if (pr.calls.length >= 2) kinds.add('missed_call');
  for (const pc of pr.calls) {
    const info = index.get(pc.name);
    if (!info) continue;
    const call = { name: pc.name, arguments: pc.arguments };
    const present = presentParams(call, index);
    const refCount = Object.keys(pc.refs).length;
    if (siblingsOf(pc.name, index).length) kinds.add('wrong_tool');
    if (present.length + refCount) kinds.add('dropped_arg');
    if (absentOptional(call, index).some((p) => !(p.path in pc.refs))) kinds.add('extra_arg');
    if (present.some((p) => wrongForms(p, getPath(call.arguments, p.path)!).length)) kinds.add('wrong_format');
    if (present.some((p) => p.kind !== 'flag' && (p.options?.length ?? 2) > 1)) kinds.add('wrong_value');
  }
  return [...kinds];
}

/** The answer with one mistake of `kind`; deterministic in `r`. Undefined when it does not apply here. */
export function applyNoise(kind: LabelNoiseKind, label: Label, ctx: NoiseCtx, r: Rng): Label | undefined {
  const { index, step } = ctx;
  if (kind === 'spurious_call') {
    if (label.type !== 'text' || !index.size) return undefined;
    const info = r.pick([...index.values()]);
    const args: Record<string, JsonValue> = {};
    for (const p of info.meta.params.filter((q) => q.required)) setPath(args, p.path, valueFor(p, info.spec, r));
    return { type: 'calls', calls: [{ name: info.spec.name, arguments: args }] };
  }
  if (kind === 'no_clarify') {
    if (label.type !== 'text' || !step.withheld.length || !step.rounds[0]) return undefined;
    const calls: ToolCall[] = step.rounds[0].calls.map((pc) => ({ name: pc.name, arguments: clone(pc.arguments) }));
    for (const w of step.withheld) {
      const dot = w.indexOf('.');
      const ci = Number(w.slice(0, dot));
      const path = w.slice(dot + 1);
      const call = calls[ci];
      const info = call && index.get(call.name);
      const p = info?.meta.params.find((q) => q.path === path);
      if (!call || !info || !p) return undefined;
      const invented = otherValue(p, info.spec, getPath(call.arguments, path) ?? null, r);
      if (invented === undefined) return undefined;
      setPath(call.arguments, path, invented);
    }
    // a call that needs an earlier result cannot be made yet: the first round is what is invented
    return { type: 'calls', calls: calls.filter((_, i) => !Object.keys(step.rounds[0]!.calls[i]!.refs).length) };
  }
  if (label.type !== 'calls') return undefined;
  const calls = label.calls.map((c) => ({ name: c.name, arguments: clone(c.arguments) }));
  const pickCall = (pred: (c: ToolCall) => boolean) => {
    const idx = calls.map((c, i) => (pred(c) ? i : -1)).filter((i) => i >= 0);
    return idx.length ? calls[r.pick(idx)]! : undefined;
  };
  switch (kind) {
    case 'missed_call': {
      if (calls.length < 2) return undefined;
      calls.splice(r.int(0, calls.length - 1), 1);
      break;
    }
    case 'wrong_tool': {
      const c = pickCall((x) => siblingsOf(x.name, index).length > 0);
      if (!c) return undefined;
      c.name = r.pick(siblingsOf(c.name, index)).spec.name;
      break;
    }
    case 'dropped_arg': {
      const c = pickCall((x) => presentParams(x, index).length > 0);
      if (!c) return undefined;
      deletePath(c.arguments, r.pick(presentParams(c, index)).path);
      break;
    }
    case 'extra_arg': {
      const c = pickCall((x) => absentOptional(x, index).length > 0);
      if (!c) return undefined;
      const p = r.pick(absentOptional(c, index));
      setPath(c.arguments, p.path, valueFor(p, index.get(c.name)!.spec, r));
      break;
    }
    case 'wrong_format': {
      const cands = calls.flatMap((c) => presentParams(c, index).filter((p) => wrongForms(p, getPath(c.arguments, p.path)!).length).map((p) => ({ c, p })));
      if (!cands.length) return undefined;
      // mostly the kind of slip a schema check cannot see ("March 3rd 2026" in a free string field),
      // which is the label noise that reaches training and JGLV; sometimes a type slip ("3" for 3)
      const silent = cands.filter(({ c, p }) => {
        const s = schemaAt(index.get(c.name)!.spec, p.path);
        return s?.type === 'string' && !s.enum;
      });
      const { c, p } = r.pick(silent.length && r.chance(0.8) ? silent : cands);
      const forms = wrongForms(p, getPath(c.arguments, p.path)!);
      const stringy = forms.filter((f) => typeof f === 'string' && !/^\d+(\.\d+)?$/.test(f));
      setPath(c.arguments, p.path, r.pick(stringy.length && r.chance(0.8) ? stringy : forms));
      break;
    }
    case 'wrong_value': {
      if (ctx.target) {
        // the skill's typical misreading of this one value, the same every time
        const dot = ctx.target.indexOf('.');
        const c = calls[Number(ctx.target.slice(0, dot))];
        const path = ctx.target.slice(dot + 1);
        const info = c && index.get(c.name);
        const p = info?.meta.params.find((q) => q.path === path);
        const v = c && getPath(c.arguments, path);
        if (!c || !info || !p || v === undefined) return undefined;
        const s = schemaAt(info.spec, path);
        const w = misread(valueClass(p, (p.array ? s?.items : s)?.type), p, v, p.options ?? s?.enum) ?? otherValue(p, info.spec, v, r);
        if (w === undefined) return undefined;
        setPath(c.arguments, path, w);
        break;
      }
      const c = pickCall((x) => presentParams(x, index).some((p) => p.kind !== 'flag'));
      if (!c) return undefined;
      const present = presentParams(c, index).filter((p) => p.kind !== 'flag');
      const byKind = new Map<string, ParamMeta[]>();
      for (const p of present) byKind.set(p.kind, [...(byKind.get(p.kind) ?? []), p]);
      const pairs = [...byKind.values()].filter((ps) => ps.length >= 2 && canonicalJson(getPath(c.arguments, ps[0]!.path)) !== canonicalJson(getPath(c.arguments, ps[1]!.path)));
      if (pairs.length && r.chance(0.7)) {
        // swapped values: origin and destination the wrong way round
        const [a, b] = r.pick(pairs);
        const va = getPath(c.arguments, a!.path)!;
        setPath(c.arguments, a!.path, getPath(c.arguments, b!.path)!);
        setPath(c.arguments, b!.path, va);
      } else {
        const p = r.pick(present);
        const w = otherValue(p, index.get(c.name)!.spec, getPath(c.arguments, p.path)!, r);
        if (w === undefined) return undefined;
        setPath(c.arguments, p.path, w);
      }
      break;
    }
    default:
      return undefined;
  }
  const out: Label = { type: 'calls', calls };
  return calls.length && !labelsMatch(out, label) ? out : undefined;
}

/** The planted mistake applied to the expected answer, when it applies to this turn. */
export function plantedAnswer(plan: Plan, exp: Expected, index: ToolIndex): { label: Label; noise: PlannedNoise } | undefined {
  if (!exp.sample) return undefined;
  const n = plannedNoiseFor(plan, exp.step, exp.round);
  if (!n) return undefined;
  const label = applyNoise(n.kind, exp.label, { index, step: plan.steps[exp.step]!, round: exp.round, ...(n.target ? { target: n.target } : {}) }, rng(n.seed, 'apply'));
  return label ? { label, noise: n } : undefined;
}

/** Labels of the withheld values of a step, in words ("departure date"). */
export function withheldLabels(step: PlanStep, index: ToolIndex): string[] {
  return step.withheld.map((w) => {
    const dot = w.indexOf('.');
    const pc = step.rounds[0]?.calls[Number(w.slice(0, dot))];
    const path = w.slice(dot + 1);
    return index.get(pc?.name ?? '')?.meta.params.find((p) => p.path === path)?.label ?? path.replace(/[_.-]/g, ' ');
  });
}

export { kindDef };
