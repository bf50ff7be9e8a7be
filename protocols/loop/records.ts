import { z } from 'zod';
import { Label, Sample } from '../sample.ts';
import { ChatMessage } from '../messages.ts';
import { VerifyVerdict } from '../roles/judge.ts';
import { Variation } from '../roles/expander.ts';
import { JglvAction } from './jglv.ts';
import { Composition, Part } from './merge.ts';
import { Accuracy, EvalFigures, JglvScores, NoiseRate } from './metrics.ts';
import { Estimate } from './stats.ts';
import { Ablations } from './config.ts';
import { Stage } from './stages.ts';

/**
 * What the loop writes to the run directory (DESIGN.md §2.6): one JSONL file per stage
 * output under round-<j>/, every line a self-describing record (a `type` field) that is
 * validated when read back; plus manifest.json and the machine's snapshot.
 */

/** A sample placed in a corpus (seed pool, test split, D_j), with the part it came from. */
export const SampleRecord = z.object({
  type: z.literal('sample'),
  part: Part.optional().describe('which share of D_j it fills (absent in the seed pool and the test split)'),
  sample: Sample,
});
export type SampleRecord = z.infer<typeof SampleRecord>;

/** GCP: the policy's greedy answer to one sample of D_j. */
export const ProbeRecord = z.object({
  type: z.literal('probe'),
  round: z.number().int().min(1),
  id: z.string().describe('sample id'),
  kind: z.string(),
  mastered: z.boolean().describe('ToolMatch(prediction, label)'),
  prediction: Label.describe('parsed calls, or the text (reasoning stripped) when there were none'),
  text: z.string().describe('the raw greedy completion'),
  ppl: z.number().nullable().describe('perplexity of the greedy output under the policy'),
  tokens: z.number().int(),
  parseError: z.string().optional(),
});
export type ProbeRecord = z.infer<typeof ProbeRecord>;

/** JGLV: the judged fate of one failed sample. */
export const VerdictRecord = z.object({
  type: z.literal('verdict'),
  round: z.number().int().min(1),
  id: z.string().describe('sample id'),
  verdict: VerifyVerdict,
  votes: z.array(VerifyVerdict).describe('empty when JGLV is off (the verdict is then PRED_WRONG by rule)'),
  analysis: z.string().describe('the winning votes\' error analysis'),
  action: JglvAction,
  corrected: z.string().optional().describe('id of the corrected sample (LABEL_WRONG)'),
  truth: VerifyVerdict.optional().describe('SIMULATOR TRUTH: the verdict a perfect judge would give (evaluation only)'),
});
export type VerdictRecord = z.infer<typeof VerdictRecord>;

export { Variation } from '../roles/expander.ts';

/** EDDE: one expansion slot of one error seed, accepted or not. */
export const ExpansionRecord = z.object({
  type: z.literal('expansion'),
  round: z.number().int().min(1),
  parent: z.string().describe('id of the error seed'),
  slot: z.number().int().min(0),
  variation: Variation,
  accepted: z.boolean(),
  attempts: z.number().int().min(1),
  sample: Sample.optional().describe('the accepted sample'),
  reason: z.string().optional().describe('why the last attempt was rejected'),
});
export type ExpansionRecord = z.infer<typeof ExpansionRecord>;

/** One test-split answer. */
export const EvalItemRecord = z.object({
  type: z.literal('eval_item'),
  round: z.number().int().min(0),
  split: z.string().describe('"test" or "validation"'),
  id: z.string(),
  kind: z.string(),
  correct: z.boolean(),
  text: z.string(),
  skill: z.string().optional().describe('the sample\'s primary skill (absent in runs made before skills)'),
  expectsCall: z.boolean().optional().describe('the reference answer is a call'),
  called: z.boolean().optional().describe('the policy answered with a call'),
  cutOff: z.boolean().optional().describe('the answer reached max_new_tokens'),
});
export type EvalItemRecord = z.infer<typeof EvalItemRecord>;

export const BfclFigures = z.object({
  overall: z.number().nullable().describe('the unweighted mean over the categories run, as the leaderboard averages'),
  overallSe: z.number().optional().describe('its standard error (absent in runs made before it was kept)'),
  neverCall: z.number().optional().describe('the never-call policy on the same categories, averaged the same way: right on every irrelevance question, wrong elsewhere'),
  categories: z.record(z.string(), z.object({ n: z.number().int(), correct: z.number().int(), accuracy: z.number(), se: z.number().optional() })),
});

/** BFCL's ground truth for one answer: per call, each parameter's allowed values as Python writes them ('' : it may be left out). */
export const BfclExpected = z.array(z.object({ name: z.string(), params: z.record(z.string(), z.array(z.string())) }));
export type BfclExpected = z.infer<typeof BfclExpected>;

/**
 * One BFCL v3 answer of the loop's evaluation (loop.eval.bfcl), kept with its question: the
 * BFCL files live outside the run, and `looptool answers --split bfcl` reads these alone.
 */
export const BfclItemRecord = z.object({
  type: z.literal('bfcl_item'),
  round: z.number().int().min(0),
  category: z.string(),
  id: z.string(),
  tools: z.array(z.string()).describe('the names of the functions offered, as the policy saw them ("." written "_")'),
  unoffered: z.array(z.string()).optional().describe('functions of the question that could not be offered, each with why'),
  messages: z.array(ChatMessage).describe('the question'),
  expected: BfclExpected.nullable().describe('null where no call is expected (irrelevance)'),
  text: z.string().describe('the raw greedy completion'),
  cutOff: z.boolean().describe('the answer reached max_new_tokens'),
  correct: z.boolean().describe("the leaderboard checker's verdict (FC mode)"),
  errorType: z.string().nullable().describe("the checker's error type, as the leaderboard names it"),
  error: z.string().optional().describe("the checker's message"),
});
export type BfclItemRecord = z.infer<typeof BfclItemRecord>;

export const RoundEval = z.object({
  type: z.literal('eval'),
  round: z.number().int().min(0).describe('0: after the warm-up, before any GRPO round'),
  test: Accuracy,
  validation: Accuracy.optional().describe('the same policy on the validation split (loop.eval.validationSize), scored as the test split is'),
  figures: EvalFigures.optional().describe('ToolMatch, call decision and exact-call accuracy with standard errors, overall, by kind and by skill, beside the trivial policies'),
  baselines: z
    .record(z.string(), z.number())
    .optional()
    .describe('the trivial policies on this split: "never call" (its ToolMatch) and "always call (at most)" (an upper bound on its ToolMatch)'),
  cutOff: Estimate.optional().describe('share of test answers that reached max_new_tokens'),
  cutOffLooping: Estimate.optional().describe('share of test answers that reached max_new_tokens in a repetition loop (endsInLoop): wrong at any length, so no sign that max_new_tokens is short'),
  bfcl: BfclFigures.optional(),
  noise: NoiseRate.optional().describe('label noise of D_j (round >= 1)'),
  jglv: JglvScores.optional().describe('JGLV vs the hidden truth this round'),
  composition: Composition.optional().describe('composition of D_j'),
  train: z.record(z.string(), z.unknown()).optional().describe('what the trainer reported this round'),
  probe: z
    .object({
      n: z.number().int(),
      mastered: z.number().int(),
      meanPpl: z.number().nullable(),
      fresh: z.object({ n: z.number().int(), mastered: z.number().int() }).optional().describe('seed samples probed fresh beside D_j (loop.probe.fresh)'),
    })
    .optional(),
  expansion: z.object({ seeds: z.number().int(), accepted: z.number().int(), rejected: z.number().int() }).optional(),
});
export type RoundEval = z.infer<typeof RoundEval>;

export const AnyRecord = z.discriminatedUnion('type', [SampleRecord, ProbeRecord, VerdictRecord, ExpansionRecord, EvalItemRecord, RoundEval]);
export type AnyRecord = z.infer<typeof AnyRecord>;

/** One finished stage in the manifest. */
export const StageEntry = z.object({
  round: z.number().int().min(0),
  stage: Stage,
  finishedAt: z.string(),
  seconds: z.number().min(0),
  files: z.record(z.string(), z.object({ records: z.number().int(), checksum: z.string() })).describe('path relative to the run dir'),
  counts: z.record(z.string(), z.number()).default({}),
});
export type StageEntry = z.infer<typeof StageEntry>;

export const Manifest = z.object({
  version: z.literal(1),
  run: z.string(),
  created: z.string(),
  variant: z.string(),
  ablations: Ablations,
  rounds: z.number().int(),
  base: z.string().optional().describe('run whose round 0 (seed pool, test split, warm-up) this run reuses'),
  status: z.enum(['running', 'done', 'failed']),
  stages: z.array(StageEntry).default([]),
  checkpoint: z.string().nullable().default(null).describe('policy checkpoint after the last finished training stage'),
  pruned: z.array(z.string()).optional().describe('checkpoints this run names that `looptool prune` removed (run-dir relative); resume does not count them as damage'),
  updated: z.string(),
});
export type Manifest = z.infer<typeof Manifest>;

/** A line of a base run's `dependents.jsonl`: a run that restores its checkpoints, wherever it lives. */
export const DependentRecord = z.strictObject({
  run: z.string().min(1).describe("the dependent run's directory, relative to the base run's"),
});
export type DependentRecord = z.infer<typeof DependentRecord>;

/** Run-dir relative path of a stage's main output. */
export function stageFile(round: number, name: string): string {
  return `round-${round}/${name}`;
}
