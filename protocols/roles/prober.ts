import { z } from 'zod';
import { defineContract } from '../role.ts';
import { Label } from '../sample.ts';
import { PublicSample } from './judge.ts';

/**
 * The prober (Greedy Capability Probing, DESIGN.md §1 step 2): greedy decoding of the
 * current policy on samples of D_j through the `policy.*` verbs; ToolMatch against the
 * label says mastered or failed; the perplexity of the greedy output is kept with it.
 */

export const ProbeInput = z.object({
  samples: z.array(PublicSample).min(1).describe('tools, context and label; any `truth` is dropped on parse and never reaches the policy'),
  max_new_tokens: z.number().int().min(1).default(192),
});

export const ProbeResult = z.object({
  id: z.string(),
  mastered: z.boolean().describe('ToolMatch(greedy output, label)'),
  prediction: Label.describe('the parsed calls, or the text with reasoning stripped when there are none'),
  text: z.string().describe('the raw greedy completion'),
  ppl: z.number().nullable().describe('perplexity of the greedy output under the policy; null when unknown'),
  tokens: z.number().int(),
  parseError: z.string().optional().describe('why the output did not parse as tool calls'),
});
export type ProbeResult = z.infer<typeof ProbeResult>;

export const ProbeOutput = z.object({
  results: z.array(ProbeResult).describe('one per input sample, in input order'),
  model: z.string().describe('which policy answered'),
});

export const ProberContract = defineContract({
  name: 'prober',
  description: 'Greedy Capability Probing: mastered or failed per sample, with the perplexity of the greedy output.',
  verbs: {
    probe: { input: ProbeInput, output: ProbeOutput, description: 'greedy answers to samples, judged by ToolMatch', timeoutMs: 900_000 },
  },
});
export type ProberContract = typeof ProberContract;
