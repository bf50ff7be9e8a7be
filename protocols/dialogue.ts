import { z } from 'zod';
import type { JsonValue } from './json.ts';
import { ChatMessage } from './messages.ts';
import { Plan } from './plan.ts';
import { Difficulty, HiddenTruth, SampleKind, Skill } from './sample.ts';
import { ToolSpec } from './toolspec.ts';
import { RuleCode, RuleFailure } from './validate.ts';
import { DialogueVerdict } from './roles/judge.ts';

/**
 * One simulated round-0 dialogue as it is kept in the run directory
 * (round-0/dialogues.jsonl when accepted, round-0/rejected.jsonl when not).
 */

export const RejectReason = z.union([
  RuleCode,
  z.enum([
    'judge_incorrect', // the judge majority said INCORRECT
    'too_many_bad_turns', // steps kept failing (role errors, assistant turns that break the rules)
    'invalid_tool_schema', // the tool set breaks the spec rules: nothing can be simulated on it
    'too_long', // the dialogue reached seeding.maxMessages before the plan was done
  ]),
]);
export type RejectReason = z.infer<typeof RejectReason>;

/** Why the simulation stopped (before validation). */
export const StopReason = z.enum(['done', 'bad_turns', 'invalid_tools', 'max_messages']);
export type StopReason = z.infer<typeof StopReason>;

/** What the machine knows about one assistant message of the dialogue. */
export const TurnRecord = z.object({
  message: z.number().int().min(0).describe('index of the assistant message in `messages`'),
  step: z.number().int().min(-1).describe('plan step it answers (-1: outside the plan)'),
  kind: SampleKind.optional().describe('what the turn teaches, from the plan; absent for turns that teach nothing (a summary after tool results)'),
  skills: z.array(Skill).optional().describe('skills the turn exercises, primary first (sim world: from the plan and the user\'s words)'),
  difficulty: Difficulty.optional().describe('level of the primary skill'),
  samples: z.number().int().min(1).describe('assistant samples drawn for this turn'),
  agreed: z.boolean().describe('two samples agreed (always true when self-consistency is off)'),
  masked: z.boolean().describe('no two samples agreed: one was picked and the turn is not trained on'),
  truth: HiddenTruth.optional().describe('SIMULATOR TRUTH of the chosen sample (sim assistants only)'),
  toolErrors: z.array(z.boolean()).default([]).describe('per call of this turn: the tool answered with an error'),
});
export type TurnRecord = z.infer<typeof TurnRecord>;

export const BadTurn = z.object({
  at: z.number().int().min(0).describe('dialogue length when it happened'),
  role: z.string(),
  reason: z.string(),
});
export type BadTurn = z.infer<typeof BadTurn>;

export const JudgeVote = z.object({ verdict: DialogueVerdict, analysis: z.string(), turn: z.number().int().min(0).optional() });
export type JudgeVote = z.infer<typeof JudgeVote>;

export const DialogueRecord = z.object({
  id: z.string().min(1),
  index: z.number().int().min(0).describe('position in the seed run; ids and seeds derive from it'),
  status: z.enum(['accepted', 'rejected']),
  reason: RejectReason.optional().describe('why it was rejected'),
  detail: z.string().optional().describe('the rejection in words'),
  stop: StopReason,
  tools: z.array(ToolSpec),
  plan: Plan.optional().describe('includes plan.hidden (SIMULATOR TRUTH); never shown to a policy or an llm brain'),
  messages: z.array(ChatMessage),
  turns: z.array(TurnRecord),
  failures: z.array(RuleFailure).default([]),
  votes: z.array(JudgeVote).default([]),
  badTurns: z.array(BadTurn).default([]),
  samples: z.number().int().min(0).default(0).describe('samples it produced'),
});
export type DialogueRecord = z.infer<typeof DialogueRecord>;

/**
 * One trace event of dialogue `id` (what was said in it, a state it reached, its outcome),
 * as every producer publishes it (seeding's dialogues, the loop's probes and expansions) and
 * the viewer's conversation view reads it: `data.dialogue` names it, with `index` and
 * `message` for a message, `status` (and `reason`) for an outcome.
 */
export function dialogueTrace(id: string, kind: 'message' | 'state' | 'progress', data: Record<string, JsonValue>) {
  return { role: 'dialogue', kind, actor: `dialogue/${id}`, trace: id, data: { dialogue: id, ...data } };
}
