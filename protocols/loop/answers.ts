import { z } from 'zod';
import { ChatMessage } from '../messages.ts';
import { Label, primarySkill, type Sample } from '../sample.ts';
import { rewardFromText } from '../toolcalls/index.ts';
import { predictionLabel } from './jglv.ts';
import type { EvalItemRecord } from './records.ts';
import { pairedProportionDiff, proportion, Estimate, PairedProportionDiff } from './stats.ts';
import { LooptoolError } from '../errors.ts';

/**
 * A round's answers on a held-out split beside their questions: what a researcher reads to
 * see *what* the policy gets wrong, where the report says only how often. Each answer is
 * parsed as ToolMatch parses it and its miss is named by the two figures the reports give
 * (the call-or-text decision, then the exact call). Pairing two sets of answers to the same
 * items (loop against static, a round against an earlier one) gives the items that changed.
 */

export const Miss = z.enum(['spurious_call', 'no_call', 'unparsed', 'wrong_tool', 'wrong_count', 'wrong_arguments']);
export type Miss = z.infer<typeof Miss>;

export const MISS_TEXT: Record<Miss, string> = {
  spurious_call: 'called a tool where a text answer was expected',
  no_call: 'answered in text where a call was expected',
  unparsed: 'wrote a tool call that does not parse',
  wrong_tool: 'called another tool',
  wrong_count: 'made another number of calls',
  wrong_arguments: 'called the right tools with other arguments',
};

export const Answer = z.object({
  id: z.string(),
  round: z.number().int().min(0),
  split: z.string(),
  kind: z.string(),
  skill: z.string(),
  correct: z.boolean().describe('ToolMatch against `expected`, as the evaluation recorded it'),
  miss: Miss.nullable().describe('how a wrong answer missed; null when right'),
  cutOff: z.boolean().describe('the answer reached max_new_tokens'),
  tools: z.array(z.string()).describe('the names of the tools the policy was offered'),
  context: z.array(ChatMessage).describe('the conversation the policy answered'),
  expected: Label.describe('the label it was scored against: the hidden true one where eval.useTruth and the sample has one'),
  prediction: Label.describe('the answer parsed as ToolMatch parses it: its calls, or its text'),
  text: z.string().describe('the raw greedy completion'),
  parseError: z.string().optional(),
});
export type Answer = z.infer<typeof Answer>;

/**
 * How a wrong answer missed, by the call-or-text decision first, then the calls themselves.
 * A call that does not parse is `unparsed` whatever the label; the figures count it as no
 * call (its call decision is right where the label is text, yet ToolMatch fails it).
 */
export function missOf(expected: Label, prediction: Label, parseError: string | undefined, text: string): Miss {
  if (prediction.type === 'text') return expected.type === 'text' || (parseError && /<tool_call>/.test(text)) ? 'unparsed' : 'no_call';
  if (expected.type === 'text') return 'spurious_call';
  if (prediction.calls.length !== expected.calls.length) return 'wrong_count';
  const names = (l: { calls: readonly { name: string }[] }) => l.calls.map((c) => c.name).sort().join('\u0000');
  return names(prediction) === names(expected) ? 'wrong_arguments' : 'wrong_tool';
}

/**
 * The answers of `items` beside the samples they answered. Every item must have its sample:
 * a split and answers from two different runs are an error, not a shorter list.
 */
export function joinAnswers(samples: readonly Sample[], items: readonly EvalItemRecord[], useTruth: boolean): Answer[] {
  const byId = new Map(samples.map((s) => [s.id, s]));
  const missing = items.filter((i) => !byId.has(i.id)).map((i) => i.id);
  if (missing.length)
    throw new LooptoolError({
      code: 'invalid_input',
      message: `${missing.length} of ${items.length} answers name no sample of the split (first: ${missing.slice(0, 3).join(', ')}): the answers and the split come from different runs`,
    });
  return items.map((item) => {
    const s = byId.get(item.id)!;
    const expected = useTruth && s.truth ? s.truth.label : s.label;
    const r = rewardFromText(item.text, expected);
    const prediction = predictionLabel(r.calls, item.text);
    return {
      id: item.id,
      round: item.round,
      split: item.split,
      kind: item.kind,
      skill: item.skill ?? primarySkill(s),
      correct: item.correct,
      miss: item.correct ? null : missOf(expected, prediction, r.parseError, item.text),
      cutOff: item.cutOff ?? false,
      tools: s.tools.map((t) => t.name),
      context: s.context,
      expected,
      prediction,
      text: item.text,
      ...(r.parseError && r.calls.length === 0 && expected.type === 'calls' ? { parseError: r.parseError } : {}),
    };
  });
}

/** Which answers to list: `outcome` right or wrong ones (all when absent or 'all'). */
export const AnswerFilter = z.object({
  skill: z.string().optional(),
  kind: z.string().optional(),
  miss: Miss.optional(),
  outcome: z.enum(['wrong', 'right', 'all']).optional(),
});
export type AnswerFilter = z.infer<typeof AnswerFilter>;

export function filterAnswers<A extends Pick<Answer, 'skill' | 'kind' | 'miss' | 'correct'>>(list: readonly A[], f: AnswerFilter): A[] {
  const outcome = (a: A) => !f.outcome || f.outcome === 'all' || a.correct === (f.outcome === 'right');
  return list.filter((a) => (!f.skill || a.skill === f.skill) && (!f.kind || a.kind === f.kind) && (!f.miss || a.miss === f.miss) && outcome(a));
}

export const GroupTally = z.object({
  n: z.number().int().min(0),
  accuracy: Estimate,
  misses: z.partialRecord(Miss, z.number().int().min(0)).describe('wrong answers by how they missed'),
});
export type GroupTally = z.infer<typeof GroupTally>;

/** Accuracy with its standard error and the misses by kind of miss, overall and per `key` (skill or kind), in first-seen order. */
export function tallyAnswers(list: readonly Answer[], key: 'skill' | 'kind'): { all: GroupTally; groups: Record<string, GroupTally> } {
  const tally = (xs: readonly Answer[]): GroupTally => {
    const misses: Partial<Record<Miss, number>> = {};
    for (const a of xs) if (a.miss) misses[a.miss] = (misses[a.miss] ?? 0) + 1;
    return { n: xs.length, accuracy: proportion(xs.filter((a) => a.correct).length, xs.length), misses };
  };
  const keys = [...new Set(list.map((a) => a[key]))];
  return { all: tally(list), groups: Object.fromEntries(keys.map((k) => [k, tally(list.filter((a) => a[key] === k))])) };
}

export const PairedGroup = z.object({
  both: z.number().int().min(0),
  onlyA: z.number().int().min(0),
  onlyB: z.number().int().min(0),
  neither: z.number().int().min(0),
  diff: PairedProportionDiff,
});
export type PairedGroup = z.infer<typeof PairedGroup>;

export type Pairing<A> = {
  pairs: { a: A; b: A }[];
  /** ids answered by one side only: the two sets were not of the same split */
  onlyInA: string[];
  onlyInB: string[];
  all: PairedGroup;
  groups: Record<string, PairedGroup>;
};

/**
 * Two sets of answers to the same items, paired by id: the 2 × 2 table of right and wrong,
 * and a − b with its interval, overall and per `key`.
 */
export function pairAnswers<A extends Pick<Answer, 'id' | 'correct' | 'skill' | 'kind'>>(a: readonly A[], b: readonly A[], key: 'skill' | 'kind'): Pairing<A> {
  const bById = new Map(b.map((x) => [x.id, x]));
  const aIds = new Set(a.map((x) => x.id));
  const pairs = a.filter((x) => bById.has(x.id)).map((x) => ({ a: x, b: bById.get(x.id)! }));
  if (!pairs.length) throw new LooptoolError({ code: 'invalid_input', message: `the two sets of answers share no item (${a.length} against ${b.length}): they answered different splits` });
  const group = (ps: readonly { a: A; b: A }[]): PairedGroup => {
    const count = (ra: boolean, rb: boolean) => ps.filter((p) => p.a.correct === ra && p.b.correct === rb).length;
    const onlyA = count(true, false);
    const onlyB = count(false, true);
    return { both: count(true, true), onlyA, onlyB, neither: count(false, false), diff: pairedProportionDiff(onlyA, onlyB, ps.length) };
  };
  const keys = [...new Set(pairs.map((p) => p.a[key]))];
  return {
    pairs,
    onlyInA: a.filter((x) => !bById.has(x.id)).map((x) => x.id),
    onlyInB: b.filter((x) => !aIds.has(x.id)).map((x) => x.id),
    all: group(pairs),
    groups: Object.fromEntries(keys.map((k) => [k, group(pairs.filter((p) => p.a[key] === k))])),
  };
}
