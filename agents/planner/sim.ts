/**
 * Simulated planner (the `sim` brain of the planner role).
 *
 * Models a dialogue designer: over the given tool set it plans `targetTurns` linked
 * user requests of varied kinds — single calls, choosing among near-duplicate tools,
 * parallel calls (the same tool with different values, or different tools), multi-
 * step requests whose second call takes a value from the first call's result,
 * requests that leave a required value out (the assistant must ask), and requests no
 * tool serves. Optional parameters are used only sometimes. It also plants the
 * teacher's systematic mistakes (label noise) at the configured rate, in the plan's
 * hidden part. Pure: the plan depends on the input alone.
 */
import type { JsonValue } from '../../protocols/json.ts';
import type { Plan, PlannedCall, PlannedNoise, PlanStep } from '../../protocols/plan.ts';
import type { SampleKind } from '../../protocols/sample.ts';
import type { SimConfig } from '../../protocols/sim-config.ts';
import type { ToolSpec } from '../../protocols/toolspec.ts';
import type { LabelNoiseKind } from '../../protocols/plan.ts';
import { rng, type Rng } from '../common/sim/rng.ts';
import { nameWords } from '../../protocols/toolspec-rules.ts';
import { kindDef, joinList } from '../common/sim/kinds.ts';
import { OFF_TOPIC_REQUESTS } from '../common/sim/phrasing.ts';
import { applicableNoise, canonicalJson, fillRequired, setPath, siblingsOf, toolIndex, valueFor, type ToolIndex, type ToolInfo } from '../common/sim/world.ts';

export type PlanRequest = { seed: string; tools: ToolSpec[]; targetTurns?: number; kinds?: SampleKind[] };

type Chain = { a: ToolInfo; b: ToolInfo; resultPath: string; param: string };

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

const DATEISH = new Set(['date', 'time', 'datetime', 'month']);

/** A planned call of `info` with sampled values: every required parameter, optional ones at `optionalRate`. */
function makeCall(info: ToolInfo, r: Rng, cfg: SimConfig, skip: string[] = []): PlannedCall {
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

function singleKind(info: ToolInfo, index: ToolIndex): SampleKind {
  return siblingsOf(info.spec.name, index).length ? 'multiple' : 'single';
}

/** Builds one step of the wanted kind; undefined when the tools cannot serve that kind. */
function buildStep(kind: SampleKind, index: ToolIndex, r: Rng, cfg: SimConfig): PlanStep | undefined {
  const infos = [...index.values()];
  if (kind === 'irrelevant') return { kind, intent: 'ask for something none of the tools can do', rounds: [], withheld: [], topic: r.pick(OFF_TOPIC_REQUESTS) };
  if (!infos.length) return undefined;
  // calls with parameters carry the learning signal; parameterless ones come up less often
  const weighted = (xs: ToolInfo[]) => {
    const rich = xs.filter((x) => x.meta.params.length > 0);
    return rich.length && r.chance(0.85) ? r.pick(rich) : r.pick(xs);
  };
  switch (kind) {
    case 'single': {
      const info = weighted(infos);
      return { kind: 'single', intent: intentText(info), rounds: [{ kind: singleKind(info, index), calls: [makeCall(info, r, cfg)] }], withheld: [] };
    }
    case 'multiple': {
      const withSibs = infos.filter((i) => siblingsOf(i.spec.name, index).length);
      if (!withSibs.length) return undefined;
      const info = weighted(withSibs);
      return { kind: 'multiple', intent: intentText(info, ' (not one of its look-alikes)'), rounds: [{ kind: 'multiple', calls: [makeCall(info, r, cfg)] }], withheld: [] };
    }
    case 'parallel': {
      const n = r.int(2, cfg.planner.maxParallel);
      const withParams = infos.filter((i) => i.meta.params.length);
      const same = withParams.length > 0 && (infos.length < 2 || r.chance(0.5));
      const calls: PlannedCall[] = [];
      if (same) {
        const info = r.pick(withParams);
        for (let i = 0; i < n * 4 && calls.length < n; i++) {
          const c = makeCall(info, r, cfg);
          if (!calls.some((x) => canonicalJson(x.arguments) === canonicalJson(c.arguments))) calls.push(c);
        }
      } else {
        for (const info of r.sample(infos, Math.min(n, infos.length))) calls.push(makeCall(info, r, cfg));
      }
      if (calls.length < 2) return undefined;
      return { kind: 'parallel', intent: `${calls.length} independent requests at once: ${calls.map((c) => c.name).join(', ')}`, rounds: [{ kind: 'parallel', calls }], withheld: [] };
    }
    case 'multi_step': {
      const chains = findChains(index);
      if (!chains.length) return undefined;
      // prefer chains a person would make: the same field name (flight_id -> flight_id), then ids within one family
      const paramKind = (c: Chain) => c.b.meta.params.find((p) => p.path === c.param)!.kind;
      const named = chains.filter((c) => nameWords(c.resultPath.split('.').pop()!).join('_') === nameWords(c.param.split('.').pop()!).join('_'));
      const family = chains.filter((c) => c.a.meta.family === c.b.meta.family && paramKind(c).startsWith('id.'));
      const pool = named.length && r.chance(0.8) ? named : family.length && r.chance(0.7) ? family : chains;
      const ch = r.pick(pool);
      const first = makeCall(ch.a, r, cfg);
      const second = makeCall(ch.b, r, cfg, [ch.param]);
      second.refs = { [ch.param]: { round: 0, call: 0, path: ch.resultPath } };
      return {
        kind: 'multi_step',
        intent: `${intentText(ch.a)}, then ${intentText(ch.b)} using a value from the first result`,
        rounds: [
          { kind: singleKind(ch.a, index), calls: [first] },
          { kind: 'multi_step', calls: [second] },
        ],
        withheld: [],
      };
    }
    case 'clarify': {
      const cands = infos.filter((i) => i.meta.params.some((p) => p.required));
      if (!cands.length) return undefined;
      const info = r.pick(cands);
      const call = makeCall(info, r, cfg);
      const req = info.meta.params.filter((p) => p.required);
      const k = req.length >= 2 && r.chance(0.25) ? 2 : 1;
      const withheld = r.sample(req, k).map((p) => `0.${p.path}`);
      return {
        kind: 'clarify',
        intent: `${intentText(info)}, first without saying the ${joinList(withheld.map((w) => w.slice(2)))}`,
        rounds: [{ kind: singleKind(info, index), calls: [call] }],
        withheld,
      };
    }
  }
}

function feasibleKinds(index: ToolIndex): SampleKind[] {
  const infos = [...index.values()];
  const out: SampleKind[] = ['irrelevant'];
  if (!infos.length) return out;
  out.push('single');
  if (infos.some((i) => siblingsOf(i.spec.name, index).length)) out.push('multiple');
  if (infos.length >= 2 || infos.some((i) => i.meta.params.length)) out.push('parallel');
  if (findChains(index).length) out.push('multi_step');
  if (infos.some((i) => i.meta.params.some((p) => p.required))) out.push('clarify');
  return out;
}

const PERSONAS = ['A busy professional', 'A student', 'A traveler', 'A small-business owner', 'A retiree', 'A parent', 'A freelancer', 'An office manager'];

/** Plants the teacher's systematic mistakes, one turn at a time, at the configured rate. */
function plantNoise(seed: string, steps: PlanStep[], index: ToolIndex, cfg: SimConfig): PlannedNoise[] {
  const out: PlannedNoise[] = [];
  steps.forEach((step, i) => {
    const turns = [...(step.kind === 'irrelevant' || step.withheld.length ? [-1] : []), ...step.rounds.map((_, k) => k)];
    for (const round of turns) {
      const r = rng(seed, 'noise', i, round);
      if (!r.chance(cfg.noise.labelRate)) continue;
      const kind = r.weighted(cfg.noise.kinds as Record<LabelNoiseKind, number>, applicableNoise(step, round, index));
      if (kind) out.push({ step: i, round, kind, seed: `${seed}/noise/${i}/${round}` });
    }
  });
  return out;
}

/** Plans one dialogue. */
export function simPlan(req: PlanRequest, cfg: SimConfig): Plan {
  const r = rng(req.seed, 'plan');
  const index = toolIndex(req.tools);
  const feasible = feasibleKinds(index);
  const n = req.kinds?.length ?? req.targetTurns ?? cfg.planner.targetTurns;
  const steps: PlanStep[] = [];
  for (let i = 0; i < n; i++) {
    const sr = r.fork('step', i);
    const want = req.kinds?.[i] ?? sr.weighted(cfg.planner.kinds as Record<SampleKind, number>, feasible) ?? 'single';
    const step = buildStep(want, index, sr, cfg) ?? buildStep('single', index, sr, cfg) ?? buildStep('irrelevant', index, sr, cfg)!;
    steps.push(step);
  }
  const objects = [...new Set(steps.flatMap((s) => s.rounds.flatMap((rd) => rd.calls.map((c) => index.get(c.name)!.meta.object))))];
  const goal = `${r.pick(PERSONAS)} who needs help with ${objects.length ? joinList(objects.slice(0, 3)) : 'a few questions'}.`;
  return { goal, targetTurns: n, steps, hidden: { noise: plantNoise(req.seed, steps, index, cfg) } };
}
