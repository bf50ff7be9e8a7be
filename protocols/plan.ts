import { z } from 'zod';
import { JsonValue } from './json.ts';
import { Difficulty, SampleKind, Skill } from './sample.ts';

/**
 * A dialogue plan: the linked user requests a simulated dialogue will go through.
 * The planner writes it; the user role reads it to know what to ask next.
 *
 * Visible vs hidden: everything in a Plan except `hidden` may be shown to an llm
 * *user* brain (it needs the values to phrase its requests). The plan as a whole is
 * never shown to an assistant (it would be the answer key); assistants and judges
 * receive it only through their contract's `hidden` field, which only sim brains
 * read. `Plan.hidden` (the teacher's planned mistakes) is for sim brains only:
 * strip it with `publicPlan` before a plan reaches any llm prompt.
 */

/** Where an argument's value comes from when it is taken from an earlier tool result. */
export const ArgRef = z
  .object({
    round: z.number().int().min(0).describe('index of an earlier round of the same step'),
    call: z.number().int().min(0).describe('index of the call within that round'),
    path: z
      .string()
      .min(1)
      .describe('dotted path into that call\'s JSON result, e.g. "results.0.flight_id" or "data.city"'),
  })
  .describe('the value is read from an earlier tool result of the same step (multi-step requests)');
export type ArgRef = z.infer<typeof ArgRef>;

export const PlannedCall = z.object({
  name: z.string().min(1).describe('tool to call; one of the dialogue\'s tools'),
  arguments: z
    .record(z.string(), JsonValue)
    .default({})
    .describe('canonical argument values (already converted: ISO dates, numbers, enum members); refs are left out'),
  refs: z
    .record(z.string(), ArgRef)
    .default({})
    .describe('arguments, by dotted argument path ("flight_id", "options.city"), whose value comes from an earlier result'),
});
export type PlannedCall = z.infer<typeof PlannedCall>;

/** One assistant turn's worth of calls: a parallel request has one round of several calls. */
export const PlanRound = z.object({
  kind: SampleKind.describe('what an assistant turn in this round teaches'),
  calls: z.array(PlannedCall).min(1),
  skill: Skill.optional().describe('the skill this round\'s assistant turn was planned to exercise (its primary skill)'),
  difficulty: Difficulty.optional().describe('the level the skill was planned at'),
  focus: z
    .array(z.string())
    .default([])
    .describe('arguments that carry the skill, as "<call index>.<argument path>": the user words them at the skill\'s level ("twenty-five", "the 3rd of March 2026")'),
});
export type PlanRound = z.infer<typeof PlanRound>;

export const PlanStep = z.object({
  kind: SampleKind.describe(
    'single | parallel | multiple (choose among similar tools) | multi_step (a later call uses an earlier result) | clarify (a required value is withheld) | irrelevant (no tool serves it)',
  ),
  intent: z.string().min(1).describe('what the user wants, in a short sentence (no phrasing prescribed)'),
  rounds: z
    .array(PlanRound)
    .default([])
    .describe('the calls that serve the request, one entry per assistant turn; empty for irrelevant requests'),
  withheld: z
    .array(z.string())
    .default([])
    .describe(
      'arguments the user leaves out of the first message and gives only when asked, as "<call index in round 0>.<argument path>", e.g. "0.date"',
    ),
  topic: z.string().optional().describe('for irrelevant requests: what the user asks about that no tool serves'),
  skill: Skill.optional().describe('the skill the request was planned to exercise; for clarify and irrelevant requests, that of the text turn'),
  difficulty: Difficulty.optional().describe('the level the skill was planned at'),
  hinted: z.boolean().default(false).describe('clarify requests: the first message names the withheld parameter without its value'),
});
export type PlanStep = z.infer<typeof PlanStep>;

export const LabelNoiseKind = z.enum([
  'wrong_format', // a value left in its surface form ("March 3rd 2026", "twenty", "$1.5k")
  'wrong_tool', // a similar tool called instead of the right one
  'dropped_arg', // an argument the user gave is left out
  'extra_arg', // an argument nobody gave is invented
  'wrong_value', // two values swapped or one value changed
  'missed_call', // a parallel request answered with one call too few
  'no_clarify', // a withheld required value invented instead of asked for
  'spurious_call', // a tool called for a request no tool serves
]);
export type LabelNoiseKind = z.infer<typeof LabelNoiseKind>;

/** A systematic teacher mistake the simulator plants on one assistant turn. */
export const PlannedNoise = z.object({
  step: z.number().int().min(0),
  round: z
    .number()
    .int()
    .min(-1)
    .describe('round index; -1 = the turn that should ask for withheld values or answer an irrelevant request in text'),
  kind: LabelNoiseKind,
  target: z
    .string()
    .optional()
    .describe('the argument the mistake is made on, as "<call index>.<argument path>" (a systematic skill mistake: a misread number, a swapped day and month)'),
  skill: Skill.optional().describe('the skill whose systematic mistake this is (sim.noise.bySkill)'),
  seed: z.string().describe('seed of the corruption, so every sample of the turn makes the same mistake'),
});
export type PlannedNoise = z.infer<typeof PlannedNoise>;

export const PlanHidden = z
  .object({
    noise: z.array(PlannedNoise).default([]),
  })
  .describe('SIMULATOR TRUTH: the teacher mistakes planted in this dialogue. Only sim brains read it; never put it in an llm prompt.');
export type PlanHidden = z.infer<typeof PlanHidden>;

export const Plan = z.object({
  goal: z.string().min(1).describe('who the user is and what they are after, one sentence'),
  targetTurns: z.number().int().min(1).describe('number of user requests the dialogue should reach'),
  steps: z.array(PlanStep).min(1).describe('the requests, in order'),
  hidden: PlanHidden.optional(),
});
export type Plan = z.infer<typeof Plan>;

/** The plan without its simulator-only part: what an llm user brain may see. */
export function publicPlan(plan: Plan): Omit<Plan, 'hidden'> {
  const { hidden: _hidden, ...rest } = plan;
  return rest;
}
