import { z } from 'zod';
import { defineContract } from '../role.ts';
import { ToolSpec } from '../toolspec.ts';
import { ChatMessage } from '../messages.ts';
import { Plan } from '../plan.ts';
import { RngSeed } from '../rng.ts';

export const TurnInput = z.object({
  seed: RngSeed,
  tools: z.array(ToolSpec).min(1),
  messages: z.array(ChatMessage).describe('the dialogue so far (empty before the first request)'),
  plan: Plan.describe('the plan to follow; an llm brain must show only publicPlan(plan), never plan.hidden'),
});
export const TurnOutput = z.object({
  content: z.string().describe('the user\'s next message'),
  done: z
    .boolean()
    .describe('true when the plan is finished: `content` is a closing remark (may be empty) and no assistant turn follows'),
});

export const UserContract = defineContract({
  name: 'user',
  description: 'Plays the user: writes the next request of the plan, or supplies values the assistant asked for.',
  verbs: {
    turn: { input: TurnInput, output: TurnOutput, description: 'the next user message' },
  },
});
export type UserContract = typeof UserContract;
