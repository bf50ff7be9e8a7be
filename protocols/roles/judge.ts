import { z } from 'zod';
import { defineContract } from '../role.ts';
import { ToolSpec } from '../toolspec.ts';
import { ChatMessage } from '../messages.ts';
import { HiddenTruth, Label, Sample } from '../sample.ts';
import { Plan } from '../plan.ts';
import { RngSeed } from '../rng.ts';

export const DialogueVerdict = z.enum(['CORRECT', 'INCORRECT']);
export type DialogueVerdict = z.infer<typeof DialogueVerdict>;

export const JudgeDialogueInput = z.object({
  seed: RngSeed.describe('per-vote seed: each of the votes gets its own'),
  tools: z.array(ToolSpec).min(1),
  messages: z.array(ChatMessage).min(1),
  hidden: z
    .object({ plan: Plan })
    .optional()
    .describe('SIMULATOR TRUTH: only sim brains read it; an llm brain must ignore it and never put it in a prompt'),
});
export const JudgeDialogueOutput = z.object({
  verdict: DialogueVerdict,
  analysis: z.string().describe('error analysis: which assistant turn is wrong and why (or why all are right)'),
  turn: z.number().int().min(0).optional().describe('index in `messages` of the first wrong assistant message'),
});

export const VerifyVerdict = z.enum(['PRED_WRONG', 'LABEL_WRONG', 'BOTH_CORRECT', 'BOTH_WRONG']);
export type VerifyVerdict = z.infer<typeof VerifyVerdict>;

/** A sample as a judge may see it: parsing drops `truth`, so it can never reach a prompt. */
export const PublicSample = Sample.omit({ truth: true });

export const VerifyInput = z.object({
  seed: RngSeed,
  sample: PublicSample.describe('tools, context and label; any `truth` field is dropped on parse'),
  prediction: Label.describe('the policy\'s answer, reasoning stripped: calls, or text when it made none'),
  hidden: z
    .object({ truth: HiddenTruth })
    .optional()
    .describe('SIMULATOR TRUTH (the sample\'s truth): only sim brains read it; never put it in a prompt'),
});
export const VerifyOutput = z.object({
  verdict: VerifyVerdict,
  analysis: z.string().describe('why: what is wrong in the prediction and/or the label'),
});

export const JudgeContract = defineContract({
  name: 'judge',
  description: 'Judges dialogues (round 0 validation) and label-vs-prediction disagreements (JGLV).',
  verbs: {
    judge_dialogue: { input: JudgeDialogueInput, output: JudgeDialogueOutput, description: 'is the dialogue correct?' },
    verify: { input: VerifyInput, output: VerifyOutput, description: 'who is wrong: the prediction or the label?' },
  },
});
export type JudgeContract = typeof JudgeContract;
