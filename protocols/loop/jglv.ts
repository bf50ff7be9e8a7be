import { z } from 'zod';
import { LooptoolError } from '../errors.ts';
import { VerifyVerdict } from '../roles/judge.ts';
import type { Label, Sample } from '../sample.ts';
import type { ToolCall } from '../toolcall.ts';

/**
 * Judgement-Guided Label Verification (DESIGN.md §1, step 3): what happens to a failed
 * sample once the judge has voted.
 *
 *   PRED_WRONG   -> kept as an error seed (label unchanged), seeds EDDE
 *   LABEL_WRONG  -> the prediction becomes the label; the corrected sample is an error seed
 *   BOTH_WRONG   -> discarded
 *   BOTH_CORRECT -> kept only if high-PPL: it joins the HPPL candidates with its perplexity
 */

export const JglvAction = z.enum(['error_seed', 'correct_label', 'drop', 'hppl_candidate']);
export type JglvAction = z.infer<typeof JglvAction>;

export const ACTION_OF: Record<VerifyVerdict, JglvAction> = {
  PRED_WRONG: 'error_seed',
  LABEL_WRONG: 'correct_label',
  BOTH_WRONG: 'drop',
  BOTH_CORRECT: 'hppl_candidate',
};

/**
 * On a tie, the most conservative verdict wins: keep the label (PRED_WRONG) before
 * keeping the sample as is (BOTH_CORRECT), before discarding it (BOTH_WRONG), before
 * rewriting its label (LABEL_WRONG). A label is only ever changed by a strict plurality.
 */
export const TIE_ORDER: readonly VerifyVerdict[] = ['PRED_WRONG', 'BOTH_CORRECT', 'BOTH_WRONG', 'LABEL_WRONG'];

export type Tally = { verdict: VerifyVerdict; counts: Record<VerifyVerdict, number>; votes: number; unanimous: boolean };

/** The majority (plurality) verdict of N votes, ties broken by TIE_ORDER. */
export function majorityVerdict(votes: readonly VerifyVerdict[]): Tally {
  if (votes.length === 0) throw new RangeError('majorityVerdict: no votes');
  const counts: Record<VerifyVerdict, number> = { PRED_WRONG: 0, LABEL_WRONG: 0, BOTH_CORRECT: 0, BOTH_WRONG: 0 };
  for (const v of votes) counts[VerifyVerdict.parse(v)]++;
  const best = Math.max(...Object.values(counts));
  const verdict = TIE_ORDER.find((v) => counts[v] === best)!;
  return { verdict, counts, votes: votes.length, unanimous: best === votes.length };
}

/** How many votes a majority needs, so callers can stop asking early (e.g. 2 of 3). */
export function votesToDecide(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * True once the remaining votes cannot change the outcome: the leader has more than the
 * runner-up could reach. Lets a caller skip the last votes of a clear majority.
 */
export function decided(votes: readonly VerifyVerdict[], total: number): boolean {
  if (votes.length >= total) return true;
  const counts = new Map<VerifyVerdict, number>();
  for (const v of votes) counts.set(v, (counts.get(v) ?? 0) + 1);
  const sorted = [...counts.values()].sort((a, b) => b - a);
  const lead = sorted[0] ?? 0;
  const second = sorted[1] ?? 0;
  return lead > second + (total - votes.length);
}

/** A prediction turned into a label: its calls, or its text (reasoning stripped). */
export function predictionLabel(calls: readonly ToolCall[], text: string): Label {
  return calls.length > 0 ? { type: 'calls', calls: [...calls] } : { type: 'text', text: stripReasoning(text) };
}

/** Drops <think>…</think> blocks (and an unterminated one at the end). */
export function stripReasoning(text: string): string {
  return text.replace(/<think>[\s\S]*?<\/think>/g, '').replace(/<think>[\s\S]*$/, '').trim();
}

/** The sample after its verdict: corrected, unchanged, or gone. */
export function applyVerdict(sample: Sample, verdict: VerifyVerdict, prediction: Label, round: number): Sample | null {
  switch (ACTION_OF[verdict]) {
    case 'drop':
      return null;
    case 'correct_label':
      return {
        ...sample,
        label: prediction,
        // the corrected sample keeps its id's lineage: a new id, parent = the old one
        id: `${sample.id}~c${round}`,
        provenance: { ...sample.provenance, source: 'corrected', round, parent: sample.id },
      };
    default:
      return sample;
  }
}

/** A probed sample of D_j, as routing needs it (a ProbeRecord). */
export type Probed = { id: string; mastered: boolean; prediction: Label; ppl: number | null };
/** The judge's tally for a failed sample (a VerdictRecord). */
export type Judged = { verdict: VerifyVerdict; analysis: string };

/** A sample HPPL may pick, with the policy's perplexity on it. */
export type Candidate = { sample: Sample; ppl: number | null };
/** A sample EDDE expands: its label (corrected if JGLV said so), the policy's answer, the judge's analysis. */
export type ErrorSeed = { sample: Sample; prediction: Label; analysis: string };

/** Where one probed sample of D_j goes after GCP and JGLV. */
export type Route = ({ to: 'candidate' } & Candidate) | ({ to: 'error_seed' } & ErrorSeed) | { to: 'drop' };

/**
 * The one place a sample's fate is decided (DESIGN.md §1, steps 2-3):
 *
 *   mastered                  -> HPPL candidate, with its perplexity
 *   failed, JGLV off (null)   -> error seed as it is (no analysis)
 *   failed, judged            -> by ACTION_OF: error seed (label kept, or corrected to the
 *                                prediction), HPPL candidate, or dropped
 */
export function routeSample(sample: Sample, probe: Probed, judged: Judged | null, round: number): Route {
  if (probe.mastered) return { to: 'candidate', sample, ppl: probe.ppl };
  if (!judged) return { to: 'error_seed', sample, prediction: probe.prediction, analysis: '' };
  if (ACTION_OF[judged.verdict] === 'hppl_candidate') return { to: 'candidate', sample, ppl: probe.ppl };
  const after = applyVerdict(sample, judged.verdict, probe.prediction, round);
  return after ? { to: 'error_seed', sample: after, prediction: probe.prediction, analysis: judged.analysis } : { to: 'drop' };
}

/**
 * Every probed sample of round j routed, in probe order: the HPPL candidates and the error
 * seeds (what EDDE expands and what D_{j+1} keeps). `verdicts` is null when JGLV is off;
 * when it is on, every failed sample must have one.
 */
export function routeRound(
  round: number,
  samples: ReadonlyMap<string, Sample>,
  probes: readonly Probed[],
  verdicts: ReadonlyMap<string, Judged> | null,
): { candidates: Candidate[]; errorSeeds: ErrorSeed[] } {
  const candidates: Candidate[] = [];
  const errorSeeds: ErrorSeed[] = [];
  for (const p of probes) {
    const sample = samples.get(p.id);
    if (!sample) throw new LooptoolError({ code: 'internal', message: `round ${round}: probed sample ${p.id} is not in D_${round}` });
    const judged = p.mastered || !verdicts ? null : verdicts.get(p.id);
    if (judged === undefined) throw new LooptoolError({ code: 'internal', message: `round ${round}: failed sample ${p.id} has no verdict` });
    const r = routeSample(sample, p, judged, round);
    if (r.to === 'candidate') candidates.push({ sample: r.sample, ppl: r.ppl });
    else if (r.to === 'error_seed') errorSeeds.push({ sample: r.sample, prediction: r.prediction, analysis: r.analysis });
  }
  return { candidates, errorSeeds };
}
