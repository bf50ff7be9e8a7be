import { z } from 'zod';
import { ChatMessage } from '../messages.ts';
import { Label, primarySkill, type Sample } from '../sample.ts';
import { parseHermes, rewardFromText } from '../toolcalls/index.ts';
import { predictionLabel } from './jglv.ts';
import { BfclExpected, type BfclItemRecord, type EvalItemRecord } from './records.ts';
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
  return missByNames(expected.type === 'calls' ? expected.calls.map((c) => c.name) : null, prediction, parseError, text);
}

/** missOf, with the expected answer given by its calls' names alone (null: text expected), as BFCL's ground truth gives it. */
export function missByNames(expected: readonly string[] | null, prediction: Label, parseError: string | undefined, text: string): Miss {
  if (prediction.type === 'text') return expected === null || (parseError && /<tool_call>/.test(text)) ? 'unparsed' : 'no_call';
  if (expected === null) return 'spurious_call';
  if (prediction.calls.length !== expected.length) return 'wrong_count';
  const names = (xs: readonly string[]) => [...xs].sort().join('\u0000');
  return names(prediction.calls.map((c) => c.name)) === names(expected) ? 'wrong_arguments' : 'wrong_tool';
}

/**
 * A BFCL v3 answer of the loop's evaluation: scored by the leaderboard's checker (its error
 * type and message kept), its miss named as the simulated splits name theirs, from the
 * answer parsed as ToolMatch parses it and the ground truth's function names.
 */
export const BfclAnswer = z.object({
  id: z.string(),
  round: z.number().int().min(0),
  category: z.string(),
  correct: z.boolean().describe("the leaderboard checker's verdict (FC mode)"),
  miss: Miss.nullable(),
  errorType: z.string().nullable(),
  error: z.string().optional(),
  cutOff: z.boolean(),
  tools: z.array(z.string()),
  unoffered: z.array(z.string()).optional().describe('functions of the question that could not be offered, each with why'),
  context: z.array(ChatMessage),
  expected: BfclExpected.nullable().describe('null where no call is expected'),
  prediction: Label,
  text: z.string(),
  parseError: z.string().optional(),
});
export type BfclAnswer = z.infer<typeof BfclAnswer>;

export function bfclAnswers(items: readonly BfclItemRecord[]): BfclAnswer[] {
  return items.map((item) => {
    const h = parseHermes(item.text);
    const r = h.ok ? { calls: h.calls, parseError: undefined } : { calls: [], parseError: h.error.message };
    const prediction = predictionLabel(r.calls, item.text);
    const expected = item.expected?.map((c) => c.name) ?? null;
    return {
      id: item.id,
      round: item.round,
      category: item.category,
      correct: item.correct,
      miss: item.correct ? null : missByNames(expected, prediction, r.parseError, item.text),
      errorType: item.errorType,
      ...(item.error ? { error: item.error } : {}),
      cutOff: item.cutOff,
      tools: item.tools,
      ...(item.unoffered ? { unoffered: item.unoffered } : {}),
      context: item.messages,
      expected: item.expected,
      prediction,
      text: item.text,
      ...(r.parseError ? { parseError: r.parseError } : {}),
    };
  });
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

/** Which answers to list: `outcome` right or wrong ones (all when absent or 'all'); `category` for BFCL answers. */
export const AnswerFilter = z.object({
  skill: z.string().optional(),
  kind: z.string().optional(),
  category: z.string().optional(),
  miss: Miss.optional(),
  outcome: z.enum(['wrong', 'right', 'all']).optional(),
});
export type AnswerFilter = z.infer<typeof AnswerFilter>;

/** What every kind of answer (a simulated split's, BFCL's) has, for filtering, tallying and pairing. */
type Scored = { id: string; correct: boolean; miss?: Miss | null; skill?: string; kind?: string; category?: string };

export function filterAnswers<A extends Scored>(list: readonly A[], f: AnswerFilter): A[] {
  const outcome = (a: A) => !f.outcome || f.outcome === 'all' || a.correct === (f.outcome === 'right');
  const field = (a: A, k: 'skill' | 'kind' | 'category') => f[k] === undefined || a[k] === f[k];
  return list.filter((a) => field(a, 'skill') && field(a, 'kind') && field(a, 'category') && (!f.miss || a.miss === f.miss) && outcome(a));
}

/** The fields answers are grouped by in tallies and pairings. */
export type GroupKey = 'skill' | 'kind' | 'category';
const groupOf = (a: Scored, key: GroupKey) => a[key] ?? '(none)';

export const GroupTally = z.object({
  n: z.number().int().min(0),
  accuracy: Estimate,
  misses: z.partialRecord(Miss, z.number().int().min(0)).describe('wrong answers by how they missed'),
});
export type GroupTally = z.infer<typeof GroupTally>;

/** Accuracy with its standard error and the misses by kind of miss, overall and per `key` (skill, kind or BFCL category), in first-seen order. */
export function tallyAnswers<A extends Scored>(list: readonly A[], key: GroupKey): { all: GroupTally; groups: Record<string, GroupTally> } {
  const tally = (xs: readonly A[]): GroupTally => {
    const misses: Partial<Record<Miss, number>> = {};
    for (const a of xs) if (a.miss) misses[a.miss] = (misses[a.miss] ?? 0) + 1;
    return { n: xs.length, accuracy: proportion(xs.filter((a) => a.correct).length, xs.length), misses };
  };
  const keys = [...new Set(list.map((a) => groupOf(a, key)))];
  return { all: tally(list), groups: Object.fromEntries(keys.map((k) => [k, tally(list.filter((a) => groupOf(a, key) === k))])) };
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
export function pairAnswers<A extends Scored>(a: readonly A[], b: readonly A[], key: GroupKey): Pairing<A> {
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
  const keys = [...new Set(pairs.map((p) => groupOf(p.a, key)))];
  return {
    pairs,
    onlyInA: a.filter((x) => !bById.has(x.id)).map((x) => x.id),
    onlyInB: b.filter((x) => !aIds.has(x.id)).map((x) => x.id),
    all: group(pairs),
    groups: Object.fromEntries(keys.map((k) => [k, group(pairs.filter((p) => groupOf(p.a, key) === k))])),
  };
}
