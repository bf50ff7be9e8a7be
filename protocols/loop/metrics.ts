import { z } from 'zod';
import { VerifyVerdict } from '../roles/judge.ts';
import { SampleKind, Skill, type HiddenTruth, type Label, type Sample } from '../sample.ts';
import { sameLabel } from '../toolcalls/index.ts';
import { Estimate, proportion } from './stats.ts';
import { groupBy } from './split.ts';

/**
 * Evaluation figures (issue 6, item 6): ToolMatch accuracy overall and by sample kind;
 * in the simulated world, where samples carry their hidden truth, the label-noise rate
 * of a corpus and JGLV's precision and recall against the truth.
 */

export { sameLabel };

// ------------------------------------------------------------------------ accuracy

export const KindAccuracy = z.object({ n: z.number().int(), correct: z.number().int(), accuracy: z.number() });
export const Accuracy = z.object({
  n: z.number().int(),
  correct: z.number().int(),
  accuracy: z.number().describe('correct / n; 0 for n = 0'),
  byKind: z.record(z.string(), KindAccuracy),
});
export type Accuracy = z.infer<typeof Accuracy>;

export function accuracy(results: readonly { kind: string; correct: boolean }[]): Accuracy {
  const byKind: Record<string, { n: number; correct: number; accuracy: number }> = {};
  let correct = 0;
  for (const r of results) {
    const k = (byKind[r.kind] ??= { n: 0, correct: 0, accuracy: 0 });
    k.n++;
    if (r.correct) {
      k.correct++;
      correct++;
    }
  }
  for (const k of Object.values(byKind)) k.accuracy = k.n ? k.correct / k.n : 0;
  // kinds in their schema order, so reports read the same every time
  const ordered = Object.fromEntries(
    [...SampleKind.options.filter((k) => k in byKind), ...Object.keys(byKind).filter((k) => !SampleKind.options.includes(k as SampleKind)).sort()].map((k) => [k, byKind[k]!]),
  );
  return { n: results.length, correct, accuracy: results.length ? correct / results.length : 0, byKind: ordered };
}

// ------------------------------------------------------------------------ honest figures

/**
 * What one test answer tells (issue 12): the sample's kind and skill, whether its label is
 * a call, whether the policy called, and ToolMatch. From these come the three accuracies
 * a report shows and the two trivial policies every accuracy is read against.
 */
export const Outcome = z.object({
  kind: z.string(),
  skill: z.string(),
  expectsCall: z.boolean(),
  called: z.boolean(),
  correct: z.boolean(),
});
export type Outcome = z.infer<typeof Outcome>;

export const Figures = z.object({
  n: z.number().int(),
  toolMatch: Estimate.describe('ToolMatch accuracy'),
  callDecision: Estimate.describe('called exactly when the label is a call'),
  exactCall: Estimate.describe('ToolMatch over the samples whose label is a call (n = those samples)'),
  neverCall: Estimate.describe('ToolMatch of a policy that never calls: the share of text labels'),
  alwaysCall: Estimate.describe('call-decision accuracy of a policy that always calls: the share of call labels, and an upper bound on its ToolMatch'),
});
export type Figures = z.infer<typeof Figures>;

export const EvalFigures = Figures.extend({
  byKind: z.record(z.string(), Figures),
  bySkill: z.record(z.string(), Figures),
});
export type EvalFigures = z.infer<typeof EvalFigures>;

function figuresOf(rows: readonly Outcome[]): Figures {
  const n = rows.length;
  const calls = rows.filter((r) => r.expectsCall);
  return {
    n,
    toolMatch: proportion(rows.filter((r) => r.correct).length, n),
    callDecision: proportion(rows.filter((r) => r.called === r.expectsCall).length, n),
    exactCall: proportion(calls.filter((r) => r.correct).length, calls.length),
    neverCall: proportion(n - calls.length, n),
    alwaysCall: proportion(calls.length, n),
  };
}

function figuresBy(rows: readonly Outcome[], key: (r: Outcome) => string, order: readonly string[] = []): Record<string, Figures> {
  const groups = groupBy(rows, key);
  // known names in their schema order, then the rest sorted, so reports read the same every time
  const names = [...order.filter((k) => groups.has(k)), ...[...groups.keys()].filter((k) => !order.includes(k)).sort()];
  return Object.fromEntries(names.map((k) => [k, figuresOf(groups.get(k)!)]));
}

export function evalFigures(rows: readonly Outcome[], skillOrder: readonly string[] = Skill.options): EvalFigures {
  return { ...figuresOf(rows), byKind: figuresBy(rows, (r) => r.kind, SampleKind.options), bySkill: figuresBy(rows, (r) => r.skill, skillOrder) };
}

// ------------------------------------------------------------------------ GRPO signal

/** What GRPO could learn from one part of D_j: its prompt groups, those whose rewards differed, their mean reward. */
export const PartSignal = z.object({ groups: z.number().int(), withSignal: z.number().int(), reward: z.number() });
export type PartSignal = z.infer<typeof PartSignal>;

/** A round's PartSignal per part of D_j, as train.json keeps it (`by_part`). */
export const ByPart = z.record(z.string(), PartSignal);
export type ByPart = z.infer<typeof ByPart>;

/** Several rounds' or seeds' ByPart added part by part (the mean reward weighted by groups). */
export function addSignals(list: readonly ByPart[]): ByPart {
  const out: ByPart = {};
  for (const by of list)
    for (const [part, p] of Object.entries(by)) {
      const t = out[part] ?? { groups: 0, withSignal: 0, reward: 0 };
      const groups = t.groups + p.groups;
      out[part] = { groups, withSignal: t.withSignal + p.withSignal, reward: groups ? (t.reward * t.groups + p.reward * p.groups) / groups : 0 };
    }
  return out;
}

/**
 * The trainer's prompt groups summed by the part of D_j their sample came from (error
 * seeds, expansions, HPPL, Seed-new …). A group whose rewards are all equal teaches GRPO
 * nothing, so this shows which parts of the data the round could learn from at all. A
 * sample trained in several epochs counts once per epoch.
 */
export function signalByPart(groups: readonly { id: string; reward: number; signal: boolean }[], partOf: ReadonlyMap<string, string>): ByPart {
  const out: ByPart = {};
  for (const [part, gs] of groupBy(groups, (g) => partOf.get(g.id) ?? 'unknown'))
    out[part] = { groups: gs.length, withSignal: gs.filter((g) => g.signal).length, reward: gs.reduce((a, g) => a + g.reward, 0) / gs.length };
  return out;
}

// ------------------------------------------------------------------------ label noise

export const NoiseRate = z.object({
  n: z.number().int().describe('samples in the corpus'),
  withTruth: z.number().int().describe('samples whose hidden truth is known'),
  noisy: z.number().int().describe('of those, samples whose visible label does not match the truth'),
  rate: z.number().nullable().describe('noisy / withTruth; null when no sample carries truth'),
});
export type NoiseRate = z.infer<typeof NoiseRate>;

/** Is the visible label wrong? Decided from the labels, not the `noisy` flag: a corrected label is right again. */
export function labelIsWrong(label: Label, truth: HiddenTruth): boolean {
  return !sameLabel(label, truth.label);
}

export function labelNoiseRate(samples: readonly Pick<Sample, 'label' | 'truth'>[]): NoiseRate {
  let withTruth = 0;
  let noisy = 0;
  for (const s of samples) {
    if (!s.truth) continue;
    withTruth++;
    if (labelIsWrong(s.label, s.truth)) noisy++;
  }
  return { n: samples.length, withTruth, noisy, rate: withTruth ? noisy / withTruth : null };
}

// ------------------------------------------------------------------------ JGLV vs truth

/** The verdict a perfect judge would give, from the hidden truth. */
export function trueVerdict(label: Label, prediction: Label, truth: HiddenTruth): VerifyVerdict {
  const labelOk = sameLabel(label, truth.label);
  const predOk = sameLabel(prediction, truth.label);
  if (labelOk && predOk) return 'BOTH_CORRECT';
  if (labelOk) return 'PRED_WRONG';
  if (predOk) return 'LABEL_WRONG';
  return 'BOTH_WRONG';
}

const V = VerifyVerdict.options;
export type Confusion = Record<VerifyVerdict, Record<VerifyVerdict, number>>;

export function emptyConfusion(): Confusion {
  return Object.fromEntries(V.map((t) => [t, Object.fromEntries(V.map((j) => [j, 0]))])) as Confusion;
}

/** confusion[truth][judged] over verified samples whose truth is known. */
export function jglvConfusion(records: readonly { truth: VerifyVerdict; verdict: VerifyVerdict }[]): Confusion {
  const c = emptyConfusion();
  for (const r of records) c[r.truth][r.verdict]++;
  return c;
}

export const JglvScores = z.object({
  verified: z.number().int().describe('failed samples judged, with known truth'),
  agreement: z.number().nullable().describe('share of verdicts equal to the true verdict'),
  labelWrongTrue: z.number().int().describe('verified samples whose label is truly wrong and the prediction right (true LABEL_WRONG)'),
  labelWrongJudged: z.number().int().describe('samples judged LABEL_WRONG (labels rewritten)'),
  corrected: z.number().int().describe('rewrites that made the label right (the prediction matches the truth)'),
  precision: z.number().nullable().describe('corrected / labelWrongJudged: rewrites that were right'),
  recall: z.number().nullable().describe('corrected / labelWrongTrue: true label errors fixed, of those JGLV saw'),
  noisyInCorpus: z.number().int().describe('samples of D_j, and of the fresh probes (loop.probe.fresh), with a wrong label (truth known)'),
  recallOfCorpus: z.number().nullable().describe('corrected / noisyInCorpus: label errors of D_j fixed this round'),
  detectionPrecision: z.number().nullable().describe('of samples judged LABEL_WRONG or BOTH_WRONG, share whose label is truly wrong'),
  detectionRecall: z.number().nullable().describe('of verified samples whose label is truly wrong, share judged LABEL_WRONG or BOTH_WRONG'),
  confusion: z.record(z.string(), z.record(z.string(), z.number().int())).describe('[truth][judged]'),
});
export type JglvScores = z.infer<typeof JglvScores>;

export type VerifiedRecord = { label: Label; prediction: Label; truth?: HiddenTruth; verdict: VerifyVerdict };

const ratio = (a: number, b: number) => (b > 0 ? a / b : null);

/** Whether a verdict says the label is wrong (LABEL_WRONG or BOTH_WRONG): what JGLV's detection counts. */
export const flagsLabel = (verdict: string): boolean => verdict === 'LABEL_WRONG' || verdict === 'BOTH_WRONG';

/** JGLV's precision and recall against the hidden truth, over one round's verdicts. */
export function jglvScores(records: readonly VerifiedRecord[], corpus: readonly Pick<Sample, 'label' | 'truth'>[] = []): JglvScores {
  const known = records.filter((r): r is VerifiedRecord & { truth: HiddenTruth } => !!r.truth);
  const rows = known.map((r) => ({ ...r, t: trueVerdict(r.label, r.prediction, r.truth) }));
  const confusion = jglvConfusion(rows.map((r) => ({ truth: r.t, verdict: r.verdict })));
  const labelWrongTrue = rows.filter((r) => r.t === 'LABEL_WRONG').length;
  const judgedLW = rows.filter((r) => r.verdict === 'LABEL_WRONG');
  const corrected = judgedLW.filter((r) => sameLabel(r.prediction, r.truth.label)).length;
  const flagged = rows.filter((r) => flagsLabel(r.verdict));
  const wrongLabels = rows.filter((r) => labelIsWrong(r.label, r.truth));
  const noisyInCorpus = labelNoiseRate(corpus).noisy;
  return {
    verified: rows.length,
    agreement: ratio(rows.filter((r) => r.t === r.verdict).length, rows.length),
    labelWrongTrue,
    labelWrongJudged: judgedLW.length,
    corrected,
    precision: ratio(corrected, judgedLW.length),
    recall: ratio(corrected, labelWrongTrue),
    noisyInCorpus,
    recallOfCorpus: ratio(corrected, noisyInCorpus),
    detectionPrecision: ratio(flagged.filter((r) => labelIsWrong(r.label, r.truth)).length, flagged.length),
    detectionRecall: ratio(wrongLabels.filter((r) => flagsLabel(r.verdict)).length, wrongLabels.length),
    confusion,
  };
}
