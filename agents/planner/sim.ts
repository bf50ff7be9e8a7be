/**
 * Simulated planner (the `sim` brain of the planner role).
 *
 * Models a dialogue designer: over the given tool set it plans `targetTurns` linked
 * user requests, each for one skill drawn from `sim.skills.mix` at its level in
 * `sim.skills.difficulty` (common/sim/skills.ts builds them): choosing among
 * near-duplicate tools, copying identifiers, numbers in words, dates and formats,
 * enum mapping, parallel calls, multi-step references, leaving a required value out
 * (the assistant must ask) and requests no tool serves. A skill the tool set cannot
 * serve is not drawn. It also plants the teacher's systematic mistakes (label noise)
 * in the plan's hidden part. Pure: the plan depends on the input alone.
 */
import type { Plan, PlannedNoise, PlanStep } from '../../protocols/plan.ts';
import { Skill, SKILL_KIND, type SampleKind } from '../../protocols/sample.ts';
import type { SimConfig } from '../../protocols/sim-config.ts';
import type { ToolSpec } from '../../protocols/toolspec.ts';
import type { LabelNoiseKind } from '../../protocols/plan.ts';
import { rng, type Rng } from '../../protocols/rng.ts';
import { joinList } from '../../protocols/truth/kinds.ts';
import type { Level } from '../../protocols/truth/forms.ts';
import { buildSkillStep, feasibleSkills, plainStep, requestWeights, skillMistake, type BuiltStep } from '../common/sim/skills.ts';
import { applicableNoise } from '../common/sim/world.ts';
import { toolIndex, type ToolIndex } from '../../protocols/truth/reply.ts';

export { findChains } from '../common/sim/skills.ts';

export type PlanRequest = { seed: string; tools: ToolSpec[]; targetTurns?: number; kinds?: SampleKind[]; skillMix?: Record<Skill, number> };

/** The skill of a requested kind: kinds that stand for several skills draw one from the mix. */
function skillOfKind(kind: SampleKind, feasible: Skill[], cfg: SimConfig, r: Rng): Skill | undefined {
  const of = Skill.options.filter((s) => SKILL_KIND[s] === kind && feasible.includes(s));
  return r.weighted(cfg.skills.mix, of) ?? of[0];
}

/** A request for `skill`, else for another feasible skill by weight, else a plain call, else an off-topic one. */
function buildStep(want: Skill | undefined, feasible: Skill[], weights: Record<Skill, number>, index: ToolIndex, r: Rng, cfg: SimConfig): BuiltStep {
  const left = feasible.slice();
  let skill = want;
  while (skill) {
    const built = buildSkillStep(skill, cfg.skills.difficulty[skill] as Level, index, r, cfg);
    if (built) return built;
    if (left.includes(skill)) left.splice(left.indexOf(skill), 1);
    skill = r.weighted(weights, left) ?? left[0];
  }
  return plainStep(index, r, cfg) ?? buildSkillStep('irrelevant_request', 1, index, r, cfg)!;
}

const PERSONAS = ['A busy professional', 'A student', 'A traveler', 'A small-business owner', 'A retiree', 'A parent', 'A freelancer', 'An office manager'];

/**
 * Plants the teacher's systematic mistakes, one turn at a time: at noise.labelRate, or
 * at the rate noise.bySkill gives the turn's skill, with that skill's typical mistake.
 */
function plantNoise(seed: string, steps: PlanStep[], index: ToolIndex, cfg: SimConfig): PlannedNoise[] {
  const out: PlannedNoise[] = [];
  steps.forEach((step, i) => {
    const turns = [...(step.kind === 'irrelevant' || step.withheld.length ? [-1] : []), ...step.rounds.map((_, k) => k)];
    for (const round of turns) {
      const r = rng(seed, 'noise', i, round);
      const skill = round < 0 ? step.skill : step.rounds[round]?.skill;
      const bySkill = skill ? cfg.noise.bySkill[skill] : undefined;
      if (!r.chance(bySkill ?? cfg.noise.labelRate)) continue;
      const at = `${seed}/noise/${i}/${round}`;
      const typical = skill && bySkill !== undefined ? skillMistake(step, round, skill, index) : undefined;
      if (typical) {
        out.push({ step: i, round, kind: typical.kind, ...(typical.target ? { target: typical.target } : {}), skill, seed: at });
        continue;
      }
      const kind = r.weighted(cfg.noise.kinds as Record<LabelNoiseKind, number>, applicableNoise(step, round, index));
      if (kind) out.push({ step: i, round, kind, seed: at });
    }
  });
  return out;
}

/** Plans one dialogue. */
export function simPlan(req: PlanRequest, config: SimConfig): Plan {
  const cfg: SimConfig = req.skillMix ? { ...config, skills: { ...config.skills, mix: req.skillMix } } : config;
  const r = rng(req.seed, 'plan');
  const index = toolIndex(req.tools);
  const feasible = feasibleSkills(index);
  const weights = requestWeights(cfg, feasible);
  const n = req.kinds?.length ?? req.targetTurns ?? cfg.planner.targetTurns;
  const steps: PlanStep[] = [];
  for (let i = 0; i < n; i++) {
    const sr = r.fork('step', i);
    const kind = req.kinds?.[i];
    const want = kind ? skillOfKind(kind, feasible, cfg, sr) : sr.weighted(weights, feasible);
    steps.push(buildStep(want, feasible, weights, index, sr, cfg).step);
  }
  const objects = [...new Set(steps.flatMap((s) => s.rounds.flatMap((rd) => rd.calls.map((c) => index.get(c.name)!.meta.object))))];
  const goal = `${r.pick(PERSONAS)} who needs help with ${objects.length ? joinList(objects.slice(0, 3)) : 'a few questions'}.`;
  return { goal, targetTurns: n, steps, hidden: { noise: plantNoise(req.seed, steps, index, cfg) } };
}
