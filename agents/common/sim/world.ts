/**
 * Simulator core: the simulated world's values and the teacher's mistakes.
 *
 * The truth of a dialogue (where it is, what a correct assistant answers now) is read
 * from the plan by protocols/truth/reply.ts; here, canonical values are drawn for
 * parameters, and the planted or sampled teacher mistakes change the true answer. The
 * user, assistant and judge simulators all read the dialogue through the same truth, so
 * they agree on it.
 */
import { canonicalJson, type JsonValue } from '../../../protocols/json.ts';
import type { ParamSchema, ToolSpec } from '../../../protocols/toolspec.ts';
import type { ToolCall } from '../../../protocols/toolcall.ts';
import type { Label } from '../../../protocols/sample.ts';
import type { LabelNoiseKind, Plan, PlannedNoise, PlanStep } from '../../../protocols/plan.ts';
import type { ParamMeta } from '../../../protocols/tool-meta.ts';
import { sameLabel } from '../../../protocols/toolcalls/toolmatch.ts';
import { convertedForms, genValue } from '../../../protocols/truth/kinds.ts';
import { misread, valueClass } from '../../../protocols/truth/forms.ts';
import { clone, deletePath, getPath, plannedNoiseFor, schemaAt, setPath, siblingsOf, type Expected, type ToolIndex, type ToolInfo } from '../../../protocols/truth/reply.ts';
import { rng, type Rng } from '../../../protocols/rng.ts';

// ---------------------------------------------------------------- values

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
  return calls.length && !sameLabel(out, label) ? out : undefined;
}

/** The planted mistake applied to the expected answer, when it applies to this turn. */
export function plantedAnswer(plan: Plan, exp: Expected, index: ToolIndex): { label: Label; noise: PlannedNoise } | undefined {
  if (!exp.sample) return undefined;
  const n = plannedNoiseFor(plan, exp.step, exp.round);
  if (!n) return undefined;
  const label = applyNoise(n.kind, exp.label, { index, step: plan.steps[exp.step]!, round: exp.round, ...(n.target ? { target: n.target } : {}) }, rng(n.seed, 'apply'));
  return label ? { label, noise: n } : undefined;
}
