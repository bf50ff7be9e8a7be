import { z } from 'zod';
import { flagsLabel } from './metrics.ts';
import type { RoundEval } from './records.ts';
import { detectableEffect, Estimate, MeanCi, meanCi, pairedDiff, proportion } from './stats.ts';

/**
 * The ablation over seeds (issue 12, `looptool ablate --seeds N`): every variant runs on
 * the same seed data per seed, so a variant's figures are compared with the static
 * baseline's seed by seed (paired differences) and summarised as mean ± 95 % interval
 * over seeds. One seed's gap is not a result; the interval says how far the seeds agree.
 */

/** JGLV's detection as counts, so that seeds and rounds can be pooled: a run flags a few dozen samples at most. */
export const DetectionCounts = z.object({
  flagged: z.number().int().min(0).describe('verified samples judged LABEL_WRONG or BOTH_WRONG'),
  flaggedWrong: z.number().int().min(0).describe('of those, samples whose label is truly wrong'),
  wrongLabels: z.number().int().min(0).describe('verified samples whose label is truly wrong'),
});
export type DetectionCounts = z.infer<typeof DetectionCounts>;

/**
 * Detection counts of one round, read off its confusion matrix ([truth][judged]). A label
 * is wrong exactly when the true verdict flags it (`trueVerdict`, `flagsLabel`).
 */
export function detectionCounts(confusion: Record<string, Record<string, number>>): DetectionCounts {
  const out = { flagged: 0, flaggedWrong: 0, wrongLabels: 0 };
  for (const [truth, row] of Object.entries(confusion)) {
    for (const [judged, n] of Object.entries(row)) {
      if (flagsLabel(judged)) out.flagged += n;
      if (flagsLabel(judged) && flagsLabel(truth)) out.flaggedWrong += n;
      if (flagsLabel(truth)) out.wrongLabels += n;
    }
  }
  return out;
}

const addCounts = (a: DetectionCounts, b: DetectionCounts): DetectionCounts => ({
  flagged: a.flagged + b.flagged,
  flaggedWrong: a.flaggedWrong + b.flaggedWrong,
  wrongLabels: a.wrongLabels + b.wrongLabels,
});

export const SelectedRound = z.object({
  round: z.number().int().min(0),
  validation: z.number().describe('its ToolMatch on the validation split: the highest of the run'),
  accuracy: z.number().describe('its ToolMatch on the test split'),
});
export type SelectedRound = z.infer<typeof SelectedRound>;

/**
 * The round a run would be stopped at if its validation split chose: the highest
 * validation ToolMatch, the earliest such round on a tie (less training for the same
 * figure), round 0 included (no round helped). Null when no round has a validation figure.
 * Its test accuracy is an honest figure for early stopping: the test split took no part
 * in the choice.
 */
export function selectedRound(evals: readonly RoundEval[]): SelectedRound | null {
  let best: SelectedRound | null = null;
  for (const e of [...evals].sort((a, b) => a.round - b.round)) {
    if (!e.validation || e.validation.n === 0) continue;
    if (!best || e.validation.accuracy > best.validation) best = { round: e.round, validation: e.validation.accuracy, accuracy: e.test.accuracy };
  }
  return best;
}

export const SeedFigures = z.object({
  seed: z.string(),
  round: z.number().int().describe('the round these figures are from (the last evaluated)'),
  accuracy: z.number().describe('ToolMatch on the test split'),
  se: z.number().nullable().describe('its binomial standard error on this split'),
  exactCall: z.number().nullable(),
  callShare: z.number().nullable().default(null).describe('the share of the test split whose label is a call (ToolMatch from call requests is exactCall × callShare, the rest is from requests answered in text)'),
  callDecision: z.number().nullable(),
  neverCall: z.number().nullable().describe('the never-call policy on the same split'),
  detectionRecall: z.number().nullable().describe('JGLV, mean over rounds that verified: truly wrong labels flagged LABEL_WRONG or BOTH_WRONG'),
  detectionPrecision: z.number().nullable(),
  start: z
    .object({ accuracy: z.number(), exactCall: z.number().nullable() })
    .nullable()
    .describe('the starting policy (round 0, after the warm-up), shared by every variant of the seed: how far this world is within its reach'),
  detection: DetectionCounts.nullable().describe('JGLV detection counts summed over the rounds that verified'),
  cutOff: z.number().nullable().default(null).describe('share of the last round\'s test answers that reached max_new_tokens: an answer cut off cannot be right'),
  cutOffLooping: z.number().nullable().default(null).describe('of those, the share of all test answers cut off in a repetition loop (wrong at any length)'),
  selected: SelectedRound.nullable().default(null).describe('the round the validation split chooses, with its test accuracy (null without a validation split)'),
  bfcl: z.number().nullable().default(null).describe('BFCL v3 overall at the last round (loop.eval.bfcl: the unweighted mean over its categories); null without it'),
  bfclNeverCall: z.number().nullable().default(null).describe('the never-call policy on the same BFCL categories'),
  noCallShares: z
    .array(z.number().nullable())
    .default([])
    .describe('each trained round\'s share of D_j whose label is no call (text, clarify, irrelevant), round 1 first; null where a round recorded no count: the side of the call decision the round trained'),
});
export type SeedFigures = z.infer<typeof SeedFigures>;

export const VariantSummary = z.object({
  variant: z.string(),
  seeds: z.number().int(),
  accuracy: MeanCi,
  exactCall: MeanCi.nullable(),
  callDecision: MeanCi.nullable(),
  vsReference: MeanCi.nullable().describe('paired difference of final accuracy to the reference variant, over the seeds both finished'),
  exactCallVsReference: MeanCi.nullable()
    .default(null)
    .describe('paired difference of exact-call accuracy (on the call samples) to the reference variant, over the seeds both have it'),
  vsReferenceByPart: z
    .object({ calls: MeanCi, noCalls: MeanCi })
    .nullable()
    .default(null)
    .describe('the paired difference to the reference split in two, each in points of the whole test split: from the requests whose label is a call (exact calls) and from those whose label is text (clarify, irrelevant); the two add up to vsReference'),
  vsNeverCall: MeanCi.nullable()
    .default(null)
    .describe('paired difference of final accuracy to the never-call policy on the same test split, over seeds: how far the policy clears the floor'),
  detectable: z
    .number()
    .nullable()
    .default(null)
    .describe('the smallest true paired difference to the reference that these seeds would show above zero 4 times in 5 (detectableEffect): an interval holding zero rules out gains well above it'),
  detectionRecall: MeanCi.nullable(),
  detectionPrecision: MeanCi.nullable(),
  pooledDetection: z
    .object({ precision: Estimate, recall: Estimate })
    .nullable()
    .describe('JGLV detection pooled over every seed and round: flagged samples and wrong labels counted together, with binomial standard errors (per-seed ratios rest on a handful of samples each)'),
  cutOff: MeanCi.nullable().default(null).describe('share of the last round\'s test answers cut off at max_new_tokens, over seeds (keep it at or under 1 %)'),
  cutOffLooping: MeanCi.nullable().default(null).describe('share of the last round\'s test answers cut off in a repetition loop, over seeds'),
  selected: MeanCi.nullable().default(null).describe('test accuracy at the round the validation split chose, over the seeds that drew one'),
  selectedVsReference: MeanCi.nullable().default(null).describe('its paired difference to the reference variant\'s own chosen round, over the seeds both have'),
  bfcl: MeanCi.nullable().default(null).describe('BFCL v3 overall at the last round, over the seeds that evaluated on it'),
  bfclVsReference: MeanCi.nullable().default(null).describe('its paired difference to the reference variant, over the seeds both have it'),
  perSeed: z.array(SeedFigures),
});
export type VariantSummary = z.infer<typeof VariantSummary>;

export const AblationSummary = z.object({
  seeds: z.array(z.string()),
  reference: z.string().nullable().describe('the variant every other is paired against (static when it ran)'),
  neverCall: MeanCi.nullable().describe('the never-call policy over the seeds: the floor every variant must clear'),
  variants: z.array(VariantSummary),
});
export type AblationSummary = z.infer<typeof AblationSummary>;

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** The figures of one variant's run on one seed: its last evaluated round, JGLV averaged over rounds. */
export function seedFigures(seed: string, evals: readonly RoundEval[]): SeedFigures | null {
  const last = evals.at(-1);
  if (!last) return null;
  const f = last.figures;
  const first = evals.find((e) => e.round === 0);
  const jg = evals.map((e) => e.jglv).filter((j) => j && j.verified > 0);
  return {
    seed,
    round: last.round,
    accuracy: last.test.accuracy,
    se: f ? f.toolMatch.se : null,
    exactCall: f && f.exactCall.n ? f.exactCall.value : null,
    callShare: f ? f.alwaysCall.value : null,
    callDecision: f ? f.callDecision.value : null,
    neverCall: f ? f.neverCall.value : null,
    detectionRecall: mean(jg.map((j) => j!.detectionRecall).filter((x): x is number => x !== null)),
    detectionPrecision: mean(jg.map((j) => j!.detectionPrecision).filter((x): x is number => x !== null)),
    detection: jg.length ? jg.map((j) => detectionCounts(j!.confusion)).reduce(addCounts) : null,
    start: first ? { accuracy: first.test.accuracy, exactCall: first.figures?.exactCall.n ? first.figures.exactCall.value : null } : null,
    cutOff: last.cutOff ? last.cutOff.value : null,
    cutOffLooping: last.cutOffLooping ? last.cutOffLooping.value : null,
    selected: selectedRound(evals),
    bfcl: last.bfcl?.overall ?? null,
    bfclNeverCall: last.bfcl?.neverCall ?? null,
    noCallShares: evals.filter((e) => e.round >= 1).map((e) => (e.composition?.noCall !== undefined && e.composition.total ? e.composition.noCall / e.composition.total : null)),
  };
}

/** The points of ToolMatch (over the whole split) won on the requests whose label is a call; null where a figure is missing. A split without call labels wins none. */
export function callPart(f: SeedFigures): number | null {
  if (f.callShare === null) return null;
  if (f.callShare === 0) return 0;
  return f.exactCall === null ? null : f.exactCall * f.callShare;
}

/** The rest of ToolMatch: the points won on the requests whose label is text. */
export function textPart(f: SeedFigures): number | null {
  const calls = callPart(f);
  return calls === null ? null : f.accuracy - calls;
}

const ciOf = (xs: (number | null)[]) => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? meanCi(v) : null;
};

function pooled(list: readonly SeedFigures[]): VariantSummary['pooledDetection'] {
  const counts = list.map((f) => f.detection).filter((d): d is DetectionCounts => d !== null);
  if (!counts.length) return null;
  const c = counts.reduce(addCounts);
  return { precision: proportion(c.flaggedWrong, c.flagged), recall: proportion(c.flaggedWrong, c.wrongLabels) };
}

/**
 * Summarises runs as `runs[variant][seed] = evals`. Only seeds where a variant finished
 * are counted for it; the paired difference uses the seeds both it and the reference have.
 * The reference is static when it ran, unless the caller names another column.
 */
export function summarizeAblation(
  seeds: readonly string[],
  runs: ReadonlyMap<string, ReadonlyMap<string, readonly RoundEval[]>>,
  reference: string | null = runs.has('static') ? 'static' : null,
): AblationSummary {
  const figs = new Map<string, SeedFigures[]>();
  for (const [variant, bySeed] of runs) {
    const list: SeedFigures[] = [];
    for (const seed of seeds) {
      const evals = bySeed.get(seed);
      const f = evals ? seedFigures(seed, evals) : null;
      if (f) list.push(f);
    }
    figs.set(variant, list);
  }
  const refBySeed = new Map((reference ? figs.get(reference)! : []).map((f) => [f.seed, f]));
  const variants: VariantSummary[] = [...figs].map(([variant, list]) => {
    // one figure of this variant against the reference's, over the seeds where both have it
    const vsRef = (pick: (f: SeedFigures) => number | null): MeanCi | null => {
      if (!reference || variant === reference) return null;
      const both = list.filter((f) => refBySeed.has(f.seed) && pick(f) !== null && pick(refBySeed.get(f.seed)!) !== null);
      return both.length
        ? pairedDiff(
            both.map((f) => pick(f)!),
            both.map((f) => pick(refBySeed.get(f.seed)!)!),
          )
        : null;
    };
    const vsReference = vsRef((f) => f.accuracy);
    const onCalls = vsRef(callPart);
    const onText = vsRef(textPart);
    const vsReferenceByPart = onCalls && onText ? { calls: onCalls, noCalls: onText } : null;
    const floored = list.filter((f) => f.neverCall !== null);
    const vsNeverCall = floored.length
      ? pairedDiff(
          floored.map((f) => f.accuracy),
          floored.map((f) => f.neverCall!),
        )
      : null;
    return {
      variant,
      seeds: list.length,
      accuracy: meanCi(list.map((f) => f.accuracy)),
      exactCall: ciOf(list.map((f) => f.exactCall)),
      callDecision: ciOf(list.map((f) => f.callDecision)),
      vsReference,
      exactCallVsReference: vsRef((f) => f.exactCall),
      vsReferenceByPart,
      vsNeverCall,
      detectable: vsReference ? detectableEffect(vsReference) : null,
      detectionRecall: ciOf(list.map((f) => f.detectionRecall)),
      detectionPrecision: ciOf(list.map((f) => f.detectionPrecision)),
      pooledDetection: pooled(list),
      cutOff: ciOf(list.map((f) => f.cutOff)),
      cutOffLooping: ciOf(list.map((f) => f.cutOffLooping)),
      selected: ciOf(list.map((f) => f.selected?.accuracy ?? null)),
      selectedVsReference: vsRef((f) => f.selected?.accuracy ?? null),
      bfcl: ciOf(list.map((f) => f.bfcl)),
      bfclVsReference: vsRef((f) => f.bfcl),
      perSeed: list,
    };
  });
  // the never-call floor depends on the test split only: one value per seed
  const floor = new Map<string, number>();
  for (const list of figs.values()) for (const f of list) if (f.neverCall !== null && !floor.has(f.seed)) floor.set(f.seed, f.neverCall);
  return { seeds: [...seeds], reference, neverCall: floor.size ? meanCi([...floor.values()]) : null, variants };
}

/** The interval's bounds in points, `[lo, hi]`, or '' when one seed gives no interval. */
export function formatBounds(c: { lo: number | null; hi: number | null } | null): string {
  return c && c.lo !== null && c.hi !== null ? `[${formatPoints(c.lo)}, ${formatPoints(c.hi)}]` : '';
}

/** A share in points to one decimal, `+` before a gain when `signed`; '–' for a missing figure. */
export function formatPoints(x: number | null | undefined, signed = false): string {
  return x === null || x === undefined ? '–' : `${signed && x > 0 ? '+' : ''}${(100 * x).toFixed(1)}`;
}

/** `mean ± half-width` in points, or the single value when one seed gives no interval. */
export function formatCi(c: MeanCi | null, signed = false): string {
  if (!c || c.n === 0) return '–';
  const v = formatPoints(c.mean, signed);
  return c.lo === null || c.hi === null ? v : `${v} ± ${formatPoints(c.hi - c.mean)}`;
}
