import { z } from 'zod';
import { JsonValue } from '../../protocols/json.ts';
import { ArgRef, Plan, type PlanStep } from '../../protocols/plan.ts';
import { SampleKind, SKILL_KIND } from '../../protocols/sample.ts';
import { DEFAULT_SIM_CONFIG, type SimConfig } from '../../protocols/sim-config.ts';
import type { ToolSpec } from '../../protocols/toolspec.ts';
import type { PlanInput } from '../../protocols/roles/planner.ts';
import { callOptions, toolsJson, withChecks, type Check, type LlmDeps } from '../common/llm/brain.ts';
import { rng } from '../../protocols/rng.ts';
import { PLAN_EXAMPLE, planPrompt } from './prompts.ts';

export type PlannerLlmDeps = LlmDeps & {
  /** Defaults for what the request leaves open (turns, kind mix); the sim world's config by default. */
  config?: SimConfig;
};

// What the model writes: the Plan without the fields we derive (round kinds, targetTurns).
const ModelCall = z.object({
  name: z.string().min(1),
  arguments: z.record(z.string(), JsonValue).default({}),
  refs: z.record(z.string(), ArgRef).default({}),
});
const ModelStep = z.object({
  kind: SampleKind,
  intent: z.string().min(1),
  rounds: z.array(z.object({ calls: z.array(ModelCall).min(1) })).default([]),
  withheld: z.array(z.string()).default([]),
  topic: z.string().optional(),
});
const ModelPlan = z.object({ goal: z.string().min(1), steps: z.array(ModelStep).min(1) });
type ModelPlan = z.infer<typeof ModelPlan>;

const top = (path: string) => path.split('.')[0]!;

/** Everything a plan must satisfy beyond its shape; each problem names its path for the repair turn. */
export function planChecks(p: ModelPlan, tools: ToolSpec[], turns: number): Check[] {
  const out: Check[] = [];
  const byName = new Map(tools.map((t) => [t.name, t]));
  if (p.steps.length !== turns) out.push({ path: ['steps'], message: `expected exactly ${turns} steps, got ${p.steps.length}` });
  p.steps.forEach((s, si) => {
    const at = (...rest: (string | number)[]) => ['steps', si, ...rest];
    const calls = s.rounds.flatMap((r) => r.calls);
    if (s.kind === 'irrelevant') {
      if (s.rounds.length) out.push({ path: at('rounds'), message: 'an irrelevant request has no calls: rounds must be []' });
      if (!s.topic) out.push({ path: at('topic'), message: 'an irrelevant request needs a topic' });
      return;
    }
    if (s.rounds.length === 0) out.push({ path: at('rounds'), message: `a ${s.kind} request needs at least one round of calls` });
    if ((s.kind === 'single' || s.kind === 'multiple') && calls.length !== 1)
      out.push({ path: at('rounds'), message: `a ${s.kind} request has exactly one call, got ${calls.length}` });
    if (s.kind === 'parallel' && !s.rounds.some((r) => r.calls.length >= 2))
      out.push({ path: at('rounds'), message: 'a parallel request has a round with two or more calls' });
    if (s.kind === 'multi_step') {
      if (s.rounds.length < 2) out.push({ path: at('rounds'), message: 'a multi_step request has two or more rounds' });
      if (!calls.some((c) => Object.keys(c.refs).length > 0))
        out.push({ path: at('rounds'), message: 'a multi_step request has a later call with "refs" to an earlier result' });
    }
    if (s.kind === 'clarify' && s.withheld.length === 0)
      out.push({ path: at('withheld'), message: 'a clarify request withholds at least one required value, e.g. "0.date"' });
    s.rounds.forEach((r, ri) =>
      r.calls.forEach((c, ci) => {
        const cp = (...rest: (string | number)[]) => at('rounds', ri, 'calls', ci, ...rest);
        const tool = byName.get(c.name);
        if (!tool) {
          out.push({ path: cp('name'), message: `"${c.name}" is not one of the tools (${[...byName.keys()].join(', ')})` });
          return;
        }
        const props = tool.parameters.properties;
        for (const k of Object.keys(c.arguments))
          if (!(k in props)) out.push({ path: cp('arguments', k), message: `${c.name} has no parameter "${k}" (it has: ${Object.keys(props).join(', ') || 'none'})` });
        const given = new Set([...Object.keys(c.arguments), ...Object.keys(c.refs).map(top)]);
        for (const req of tool.parameters.required)
          if (!given.has(req)) out.push({ path: cp('arguments'), message: `required parameter "${req}" of ${c.name} is missing (give it in arguments or refs)` });
        for (const [k, ref] of Object.entries(c.refs)) {
          if (!(top(k) in props)) out.push({ path: cp('refs', k), message: `${c.name} has no parameter "${top(k)}"` });
          if (ref.round >= ri) out.push({ path: cp('refs', k, 'round'), message: `must point to an earlier round (< ${ri})` });
          else if (ref.call >= s.rounds[ref.round]!.calls.length) out.push({ path: cp('refs', k, 'call'), message: `round ${ref.round} has only ${s.rounds[ref.round]!.calls.length} calls` });
        }
      }),
    );
    s.withheld.forEach((w, wi) => {
      const m = /^(\d+)\.(.+)$/.exec(w);
      const first = s.rounds[0]?.calls;
      if (!m || !first) return void out.push({ path: at('withheld', wi), message: `expected "<call index>.<argument>" naming a call of the first round, got "${w}"` });
      const call = first[Number(m[1])];
      if (!call) return void out.push({ path: at('withheld', wi), message: `the first round has no call ${m[1]}` });
      if (!(top(m[2]!) in call.arguments)) out.push({ path: at('withheld', wi), message: `call ${m[1]} (${call.name}) has no argument "${m[2]}" to withhold` });
    });
  });
  return out;
}

/** What kind of assistant turn a round is: derived, so the model cannot get it inconsistent. */
function roundKind(step: ModelPlan['steps'][number], ri: number): z.infer<typeof SampleKind> {
  const r = step.rounds[ri]!;
  if (r.calls.length > 1) return 'parallel';
  if (r.calls.some((c) => Object.keys(c.refs).length)) return 'multi_step';
  if (step.kind === 'multiple') return 'multiple';
  return 'single';
}

/** The kinds to plan: the request's list, else drawn from the configured mix with the request's seed. */
export function planKinds(input: Pick<z.output<typeof PlanInput>, 'seed' | 'kinds' | 'targetTurns'>, config: SimConfig): z.infer<typeof SampleKind>[] {
  const turns = input.targetTurns ?? input.kinds?.length ?? config.planner.targetTurns;
  if (input.kinds?.length) return Array.from({ length: turns }, (_, i) => input.kinds![i % input.kinds!.length]!);
  const r = rng(input.seed, 'llm-planner', 'kinds');
  return Array.from({ length: turns }, () => SKILL_KIND[r.weighted(config.skills.mix) ?? 'copy_identifier']);
}

/** The llm planner: one plan of linked requests over the given tools. Never writes `hidden`. */
export async function planLlm(input: z.output<typeof PlanInput>, deps: PlannerLlmDeps): Promise<Plan> {
  const config = deps.config ?? DEFAULT_SIM_CONFIG;
  const kinds = planKinds(input, config);
  const turns = kinds.length;
  const schema = withChecks(ModelPlan, (p) => planChecks(p, input.tools, turns));
  const out = await deps.client.structured(
    planPrompt,
    { tools: toolsJson(input.tools), turns: String(turns), kinds: kinds.join(', '), example: PLAN_EXAMPLE },
    schema,
    callOptions(deps, 'planner.plan', input.seed, { temperature: 0.8, maxTokens: 2048 }),
  );
  const steps: PlanStep[] = out.steps.map((s) => ({
    kind: s.kind,
    intent: s.intent,
    rounds: s.rounds.map((r, ri) => ({ kind: roundKind(s, ri), calls: r.calls.map((c) => ({ name: c.name, arguments: c.arguments, refs: c.refs })), focus: [] })),
    withheld: s.withheld,
    hinted: false,
    ...(s.topic ? { topic: s.topic } : {}),
  }));
  return Plan.parse({ goal: out.goal, targetTurns: turns, steps });
}
