import { z } from 'zod';
import { ToolSpec } from './toolspec.ts';
import { ChatMessage } from './messages.ts';
import { ToolCall } from './toolcall.ts';

/** What a sample teaches. */
export const SampleKind = z.enum([
  'single', // one call
  'parallel', // several independent calls in one turn
  'multiple', // one call, chosen among similar tools
  'multi_step', // a call that depends on an earlier tool result
  'clarify', // a required parameter is missing: ask, do not call
  'irrelevant', // no tool serves the request: answer in text
]);
export type SampleKind = z.infer<typeof SampleKind>;

/** The answer a sample expects: tool calls, or plain text (no call). */
export const Label = z.discriminatedUnion('type', [
  z.object({ type: z.literal('calls'), calls: z.array(ToolCall).min(1) }),
  z.object({ type: z.literal('text'), text: z.string() }),
]);
export type Label = z.infer<typeof Label>;

export const SampleSource = z.enum(['seed', 'expansion', 'corrected', 'import']);

export const Provenance = z.object({
  source: SampleSource,
  round: z.number().int().min(0),
  dialogue: z.string().optional(),
  turn: z.number().int().min(0).optional(),
  parent: z.string().optional().describe('sample id this one was derived from'),
  variation: z.string().optional().describe('EDDE scenario variation'),
});
export type Provenance = z.infer<typeof Provenance>;

/**
 * Ground truth known only to the simulator. No policy and no llm brain ever sees it;
 * evaluation uses it to measure label noise and JGLV in the simulated world.
 */
export const HiddenTruth = z.object({
  label: Label,
  noisy: z.boolean().describe('the visible label was corrupted on purpose'),
  noise: z.string().optional().describe('how it was corrupted'),
});
export type HiddenTruth = z.infer<typeof HiddenTruth>;

export const Sample = z.object({
  id: z.string().min(1),
  kind: SampleKind,
  tools: z.array(ToolSpec).min(1),
  context: z.array(ChatMessage).min(1),
  label: Label,
  provenance: Provenance,
  masked: z.boolean().default(false).describe('self-consistency failed: not trained on'),
  truth: HiddenTruth.optional(),
});
export type Sample = z.infer<typeof Sample>;

/** A sample as the policy and llm brains may see it: no hidden truth. */
export function publicView(s: Sample): Omit<Sample, 'truth'> {
  const { truth: _truth, ...rest } = s;
  return rest;
}
