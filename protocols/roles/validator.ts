import { z } from 'zod';
import { defineContract } from '../role.ts';
import { ToolSpec } from '../toolspec.ts';
import { ChatMessage } from '../messages.ts';
import { Plan } from '../plan.ts';
import { RuleCode, RuleFailure } from '../validate.ts';
import { DialogueVerdict, JudgeDialogueOutput } from './judge.ts';
import { RngSeed } from '../rng.ts';

export const CheckInput = z.object({
  tools: z.array(ToolSpec).min(1),
  messages: z.array(ChatMessage),
  requireToolUse: z.boolean().default(true).describe('a dialogue without any tool call fails (no_tool_use)'),
});
export const CheckOutput = z.object({
  ok: z.boolean(),
  reason: RuleCode.optional().describe('code of the first failure'),
  failures: z.array(RuleFailure),
});

export const ValidateInput = CheckInput.extend({
  seed: RngSeed.describe('seeds of the judge votes derive from it'),
  votes: z.number().int().min(0).max(15).default(3).describe('judge votes; 0 = rule checks only'),
  hidden: z
    .object({ plan: Plan })
    .optional()
    .describe('SIMULATOR TRUTH, passed through to the judge for sim brains only; never put in a prompt'),
});
export const Vote = JudgeDialogueOutput.extend({ verdict: DialogueVerdict });
export const ValidateOutput = z.object({
  accepted: z.boolean(),
  reason: z.union([RuleCode, z.literal('judge_incorrect')]).optional().describe('why it was rejected: the first rule failure, else the judge majority'),
  failures: z.array(RuleFailure),
  votes: z.array(Vote).describe('the judge votes (none when a rule already failed)'),
});

export const ValidatorContract = defineContract({
  name: 'validator',
  description: 'Round 0 validation: rule checks of a dialogue, then a judge majority vote.',
  verbs: {
    check: { input: CheckInput, output: CheckOutput, description: 'rule checks only (message order, names, call/response pairing, parsing, arguments, tool use)' },
    validate: { input: ValidateInput, output: ValidateOutput, description: 'rule checks, then `votes` judge votes over the bus; accepted by strict majority' },
  },
});
export type ValidatorContract = typeof ValidatorContract;
