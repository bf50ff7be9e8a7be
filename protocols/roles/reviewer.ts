import { z } from 'zod';
import { defineContract } from '../role.ts';
import { ToolSpec } from '../toolspec.ts';
import { AssistantMessage, ChatMessage } from '../messages.ts';
import { RngSeed } from '../rng.ts';

/**
 * A reviewer sits in the dialogue between the assistant and the tool: every assistant
 * turn the dialogue machine has chosen is shown to each reviewer named in
 * `seeding.reviewers`, in order, before it joins the dialogue (so before any tool
 * runs). A reviewer accepts it, replaces it, or rejects it (the turn is then drawn
 * again, as after any bad turn). Any role whose contract is made with
 * `reviewerContract(name)` can be one; see docs/adding-a-role.md.
 */
export const ReviewInput = z.object({
  seed: RngSeed,
  tools: z.array(ToolSpec).min(1),
  messages: z.array(ChatMessage).describe('the dialogue so far; the candidate answers its last message'),
  candidate: AssistantMessage.describe('the assistant turn under review'),
});
export type ReviewInput = z.infer<typeof ReviewInput>;

export const ReviewVerdict = z.enum(['accept', 'revise', 'reject']);

export const ReviewOutput = z
  .object({
    verdict: ReviewVerdict,
    revised: AssistantMessage.optional().describe('verdict "revise": the turn to use instead'),
    note: z.string().max(2000).default('').describe('why: shown in the trace, and the bad-turn reason on "reject"'),
  })
  .refine((o) => o.verdict !== 'revise' || o.revised !== undefined, { message: 'a "revise" verdict needs `revised`', path: ['revised'] });
export type ReviewOutput = z.infer<typeof ReviewOutput>;

export const REVIEW_VERB = 'review';

/** The contract of a reviewer role called `name`. */
export function reviewerContract<const N extends string>(name: N, description = 'Reviews an assistant turn before it joins the dialogue.') {
  return defineContract({
    name,
    description,
    verbs: { review: { input: ReviewInput, output: ReviewOutput, description: 'accept, revise or reject one assistant turn' } },
  });
}
export type ReviewerContract = ReturnType<typeof reviewerContract<string>>;
