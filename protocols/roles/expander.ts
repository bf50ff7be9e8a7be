import { z } from 'zod';
import { defineContract } from '../role.ts';
import { ChatMessage } from '../messages.ts';
import { Plan } from '../plan.ts';
import { HiddenTruth, Label, Sample } from '../sample.ts';
import { PublicSample } from './judge.ts';
import { RngSeed } from '../rng.ts';

/**
 * The expander (Error-Driven Data Expansion, DESIGN.md §1 step 4): from one error seed
 * (a PRED_WRONG sample, or a corrected LABEL_WRONG one) it writes one new sample under
 * one scenario variation, keeping the difficulty and changing the content. The caller
 * asks once per slot (k slots per seed), so every slot is an idempotent item, and
 * validates what comes back with the same validator and judge as seed data.
 */

export const Variation = z.enum(['complexity', 'persona', 'interaction_style', 'data_variation']);
export type Variation = z.infer<typeof Variation>;

export const VARIATION_TEXT: Record<Variation, string> = {
  complexity: 'the same kind of request made harder: more calls or parameters, more near-duplicate tools to choose from, or extra details to ignore',
  persona: 'a different kind of user: another occupation, age, tone or level of expertise, with their own way of asking',
  interaction_style: 'a different way of asking: terse or chatty, indirect, values written the way people write them (dates in words, amounts with units)',
  data_variation: 'the same request shape with entirely new values: other places, dates, names, amounts and identifiers',
};

export const ExpandInput = z.object({
  seed: RngSeed,
  round: z.number().int().min(1),
  slot: z.number().int().min(0).describe('which of the k expansions of this seed'),
  sample: PublicSample.describe('the error seed: tools, context and the label taken as correct'),
  prediction: Label.describe('the policy\'s wrong answer (reasoning stripped)'),
  analysis: z.string().describe('the judge\'s error analysis of the prediction'),
  variation: Variation,
  hidden: z
    .object({ truth: HiddenTruth })
    .optional()
    .describe('SIMULATOR TRUTH of the error seed: only sim brains read it; never put it in a prompt'),
});

export const ExpandOutput = z.object({
  sample: Sample.describe('the new sample (provenance: expansion, parent, variation); a sim brain fills `truth`'),
  dialogue: z
    .array(ChatMessage)
    .min(2)
    .describe('what validation reads: the sample\'s context, its label as an assistant turn, and (for calls) the tool results and a closing answer'),
  requireToolUse: z.boolean().describe('false for samples whose answer is text (clarify, irrelevant)'),
  notes: z.string().default('').describe('what was varied, in words'),
  hidden: z
    .object({ plan: Plan })
    .optional()
    .describe('SIMULATOR TRUTH: the plan the dialogue follows, for a sim judge; never shown to an llm brain'),
});
export type ExpandOutput = z.infer<typeof ExpandOutput>;

export const ExpanderContract = defineContract({
  name: 'expander',
  description: 'Error-Driven Data Expansion: new samples like an error seed, under a scenario variation.',
  verbs: {
    expand: { input: ExpandInput, output: ExpandOutput, description: 'one new sample from one error seed', timeoutMs: 300_000 },
  },
});
export type ExpanderContract = typeof ExpanderContract;
