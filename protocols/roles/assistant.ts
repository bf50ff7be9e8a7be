import { z } from 'zod';
import { defineContract } from '../role.ts';
import { ToolSpec } from '../toolspec.ts';
import { AssistantMessage, ChatMessage } from '../messages.ts';
import { HiddenTruth } from '../sample.ts';
import { Plan } from '../plan.ts';
import { RngSeed } from '../rng.ts';

/** SIMULATOR TRUTH given to the assistant: only sim brains read it. */
export const AssistantHidden = z
  .object({
    plan: Plan.describe('the dialogue plan, with its planted teacher mistakes'),
  })
  .describe('SIMULATOR TRUTH: only sim brains read it; an llm brain must ignore it and never put it in a prompt');
export type AssistantHidden = z.infer<typeof AssistantHidden>;

export const RespondInput = z.object({
  seed: RngSeed.describe('per-sample seed: different samples of the same turn get different seeds'),
  tools: z.array(ToolSpec).min(1),
  messages: z.array(ChatMessage).min(1).describe('the dialogue so far; the last message is from the user or a tool'),
  hidden: AssistantHidden.optional(),
});

export const RespondOutput = AssistantMessage.extend({
  truth: HiddenTruth.optional().describe(
    'SIMULATOR TRUTH (sim brains only): the correct answer for this turn and whether this reply carries a planted teacher mistake. Strip it before the message joins the dialogue; ChatMessage parsing drops it.',
  ),
});
export type RespondOutput = z.infer<typeof RespondOutput>;

export const AssistantContract = defineContract({
  name: 'assistant',
  description:
    'The teacher: answers the user with tool calls (several at once when independent), asks only for missing required values, or answers in text.',
  verbs: {
    respond: { input: RespondInput, output: RespondOutput, description: 'the next assistant message' },
  },
});
export type AssistantContract = typeof AssistantContract;
