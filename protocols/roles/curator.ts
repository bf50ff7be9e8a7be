import { z } from 'zod';
import { defineContract } from '../role.ts';
import { Sample } from '../sample.ts';

/**
 * A curator sits in the loop between expanding and merging: the samples a round's
 * expansions yielded (each already checked by the validator and judged) are shown to
 * each curator named in `loop.curators`, in order, before any joins the round's data.
 * A curator keeps or drops each one, with a note; a dropped sample is not shown to the
 * next curator. Any role whose contract is made with `curatorContract(name)` can be
 * one; see docs/adding-a-role.md.
 */
export const CurateInput = z.object({
  round: z.number().int().min(1).describe('the loop round the samples were expanded in'),
  samples: z.array(Sample).min(1).describe('candidate samples, not yet merged'),
});
export type CurateInput = z.infer<typeof CurateInput>;

export const CurateDecision = z.object({
  id: z.string().describe('the id of a candidate sample'),
  keep: z.boolean(),
  note: z.string().max(2000).default('').describe('why: the reason a dropped sample carries'),
});
export type CurateDecision = z.infer<typeof CurateDecision>;

export const CurateOutput = z.object({
  decisions: z.array(CurateDecision).describe('one decision per candidate sample'),
});
export type CurateOutput = z.infer<typeof CurateOutput>;

export const CURATE_VERB = 'curate';

/** The contract of a curator role called `name`. */
export function curatorContract<const N extends string>(name: N, description = 'Keeps or drops the samples a loop round expanded, before they are merged.') {
  return defineContract({
    name,
    description,
    // one request carries a whole round's candidates: a curator with a model behind it needs time
    verbs: { curate: { input: CurateInput, output: CurateOutput, description: 'keep or drop each candidate sample, with a note', timeoutMs: 300_000 } },
  });
}
export type CuratorContract = ReturnType<typeof curatorContract<string>>;
