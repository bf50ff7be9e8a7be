import { z } from 'zod';
import { defineContract } from '../role.ts';
import { ToolSpec } from '../toolspec.ts';
import { SampleKind, Skill } from '../sample.ts';
import { SkillMix } from '../sim-config.ts';
import { Plan } from '../plan.ts';
import { RngSeed } from '../rng.ts';

/** Every skill at the same weight: what a test split stratified by skill is drawn from. */
export const UNIFORM_SKILL_MIX: SkillMix = Object.fromEntries(Skill.options.map((s) => [s, 1])) as SkillMix;

export const PlanInput = z.object({
  seed: RngSeed,
  tools: z.array(ToolSpec).min(1).describe('the tools the dialogue may use'),
  targetTurns: z.number().int().min(1).max(16).optional().describe('number of user requests; default from config'),
  kinds: z
    .array(SampleKind)
    .optional()
    .describe('request kinds to plan, in order (overrides the configured mix); a kind the tools cannot serve is replaced'),
  skillMix: SkillMix.optional().describe('weights of the skills to plan for (overrides sim.skills.mix; the sim brain honours it): a test stream asks for a uniform mix'),
});

export const PlannerContract = defineContract({
  name: 'planner',
  description: 'Writes the plan of a dialogue: linked user requests of varied kinds over the given tools.',
  verbs: {
    plan: { input: PlanInput, output: Plan, description: 'plan one dialogue' },
  },
});
export type PlannerContract = typeof PlannerContract;
