import { z } from 'zod';
import { ToolSpec } from './toolspec.ts';
import { ChatMessage, type AssistantMessage } from './messages.ts';
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

/**
 * What a sample exercises, finer than its kind (docs/sim-world.md, "Skills"). The sim
 * world plans each request for one skill at a difficulty level, and tags every sample
 * with the skills it really exercises, so accuracy can be reported per skill and a test
 * split stratified by skill.
 */
export const Skill = z.enum([
  'near_duplicate_tools', // choose the right tool among look-alikes
  'copy_identifier', // copy values verbatim from the request (identifiers above all); the base skill of a plain call
  'number_words', // a number written in words or shorthand ("twenty-five", "a dozen", "$1.5k")
  'dates_formats', // a date or time written the way people write it ("the 3rd of March 2026", "half past three")
  'enum_mapping', // a word mapped onto a fixed option or code ("Business class", "pricey", "euros" -> EUR)
  'parallel_calls', // several independent calls in one turn
  'multi_step_reference', // a call that takes a value from an earlier result
  'clarify_missing', // a required value is missing: ask for it by name, do not call
  'irrelevant_request', // no tool serves the request: answer in text
]);
export type Skill = z.infer<typeof Skill>;

export const Difficulty = z.number().int().min(1).max(3);
export type Difficulty = z.infer<typeof Difficulty>;

/** The skill a kind stands for, for samples written before skills existed (or by a brain that does not tag). */
export const KIND_SKILL: Record<SampleKind, Skill> = {
  single: 'copy_identifier',
  multiple: 'near_duplicate_tools',
  parallel: 'parallel_calls',
  multi_step: 'multi_step_reference',
  clarify: 'clarify_missing',
  irrelevant: 'irrelevant_request',
};

/** The request kind a skill is planned as (single-call skills are plain single requests). */
export const SKILL_KIND: Record<Skill, SampleKind> = {
  near_duplicate_tools: 'multiple',
  copy_identifier: 'single',
  number_words: 'single',
  dates_formats: 'single',
  enum_mapping: 'single',
  parallel_calls: 'parallel',
  multi_step_reference: 'multi_step',
  clarify_missing: 'clarify',
  irrelevant_request: 'irrelevant',
};

/** The sample's primary skill (the first tag), or the one its kind stands for: every sample has a stratum. */
export function primarySkill(s: { skills?: readonly Skill[] | undefined; kind: SampleKind }): Skill {
  return s.skills?.[0] ?? KIND_SKILL[s.kind];
}

/** The answer a sample expects: tool calls, or plain text (no call). */
export const Label = z.discriminatedUnion('type', [
  z.object({ type: z.literal('calls'), calls: z.array(ToolCall).min(1) }),
  z.object({ type: z.literal('text'), text: z.string() }),
]);
export type Label = z.infer<typeof Label>;

/** A label (or a parsed prediction) as the assistant's turn that gives it. */
export function answerMessage(l: Label): AssistantMessage {
  return l.type === 'calls' ? { role: 'assistant', content: '', tool_calls: l.calls } : { role: 'assistant', content: l.text, tool_calls: [] };
}

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
  skills: z
    .array(Skill)
    .default([])
    .describe('skills the sample exercises; the first is the primary one (what it was generated for); empty = use primarySkill()'),
  difficulty: Difficulty.optional().describe('level 1..3 of the primary skill, as generated (sim.skills.difficulty)'),
  truth: HiddenTruth.optional(),
});
export type Sample = z.infer<typeof Sample>;

/** A sample as the policy and llm brains may see it: no hidden truth. */
export function publicView(s: Sample): Omit<Sample, 'truth'> {
  const { truth: _truth, ...rest } = s;
  return rest;
}
