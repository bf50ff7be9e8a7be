/**
 * Simulated judge — a noisy oracle (the `sim` brain of the judge role).
 *
 * Models an LLM judge that usually gets it right. For a dialogue it replays the
 * plan to find, turn by turn, what a correct assistant would have said, and compares
 * (CORRECT iff every assistant turn matches). A planted teacher mistake is missed
 * with probability `noiseBlindness`, decided once per mistake so that all votes
 * share the blind spot (a judge from the same model family shares the teacher's
 * biases). For JGLV `verify` it compares label and prediction with the sample's
 * truth. Each vote then gives the true verdict with probability `accuracy`, and
 * otherwise another one, chosen by the vote's own seed.
 */
import type { ChatMessage } from '../../protocols/messages.ts';
import type { HiddenTruth, Label } from '../../protocols/sample.ts';
import type { Plan } from '../../protocols/plan.ts';
import type { SimConfig } from '../../protocols/sim-config.ts';
import type { ToolSpec } from '../../protocols/toolspec.ts';
import { rng } from '../common/sim/rng.ts';
import { canonicalJson, expectedReply, labelOf, labelsMatch, plantedAnswer, toolIndex } from '../common/sim/world.ts';

export type DialogueVerdict = 'CORRECT' | 'INCORRECT';
export type VerifyVerdict = 'PRED_WRONG' | 'LABEL_WRONG' | 'BOTH_CORRECT' | 'BOTH_WRONG';

export type JudgeDialogueRequest = { seed: string; tools: ToolSpec[]; messages: ChatMessage[]; hidden?: { plan: Plan } };
export type JudgeDialogueReply = { verdict: DialogueVerdict; analysis: string; turn?: number };
export type VerifyRequest = { seed: string; sample: { label: Label }; prediction: Label; hidden?: { truth: HiddenTruth } };
export type VerifyReply = { verdict: VerifyVerdict; analysis: string };

function show(l: Label): string {
  if (l.type === 'text') return 'a text answer (no call)';
  return l.calls.map((c) => `${c.name}(${canonicalJson(c.arguments)})`).join(', ');
}

type Mismatch = { index: number; expected: Label; got: Label; planted?: { kind: string; seed: string } };

/** Every assistant turn that differs from what a correct assistant would have said. */
export function dialogueMismatches(plan: Plan, tools: ToolSpec[], messages: ChatMessage[]): Mismatch[] {
  const index = toolIndex(tools);
  const out: Mismatch[] = [];
  messages.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    const exp = expectedReply(plan, messages.slice(0, i));
    const got = labelOf(m);
    if (labelsMatch(got, exp.label)) return;
    const planted = plantedAnswer(plan, exp, index);
    const isPlanted = planted && labelsMatch(got, planted.label);
    out.push({ index: i, expected: exp.label, got, planted: isPlanted ? { kind: planted.noise.kind, seed: planted.noise.seed } : undefined });
  });
  return out;
}

/** One judge vote on a whole dialogue. */
export function simJudgeDialogue(req: JudgeDialogueRequest, cfg: SimConfig): JudgeDialogueReply {
  const r = rng(req.seed, 'judge-dialogue');
  if (!req.hidden?.plan) {
    // no answer key: the oracle can only say that it cannot tell, which counts against the dialogue
    return { verdict: 'INCORRECT', analysis: 'The simulated judge needs the plan (hidden.plan) to judge a dialogue.' };
  }
  const mismatches = dialogueMismatches(req.hidden.plan, req.tools, req.messages);
  // the judge shares some planted blind spots: decided per mistake, the same for every vote
  const seen = mismatches.filter((m) => !(m.planted && rng(m.planted.seed, 'judge-blind').chance(cfg.judge.noiseBlindness)));
  const perceivedCorrect = seen.length === 0;
  const honest = r.chance(cfg.judge.accuracy);
  const verdict: DialogueVerdict = perceivedCorrect === honest ? 'CORRECT' : 'INCORRECT';
  if (verdict === 'CORRECT') return { verdict, analysis: 'Every assistant turn uses the right tools with the values the user gave, asks for what is missing, and answers in text where no tool applies.' };
  const first = seen[0] ?? mismatches[0];
  if (!first) {
    const turn = req.messages.findIndex((m) => m.role === 'assistant');
    return { verdict, analysis: 'The assistant\'s handling of the request looks wrong, though the specific error is unclear.', ...(turn >= 0 ? { turn } : {}) };
  }
  return { verdict, turn: first.index, analysis: `Message ${first.index}: expected ${show(first.expected)}, but the assistant gave ${show(first.got)}.` };
}

const VERDICTS: VerifyVerdict[] = ['PRED_WRONG', 'LABEL_WRONG', 'BOTH_CORRECT', 'BOTH_WRONG'];

/** The true JGLV verdict from the truth. */
export function trueVerdict(label: Label, prediction: Label, truth: Label): VerifyVerdict {
  const labelOk = labelsMatch(label, truth);
  const predOk = labelsMatch(prediction, truth);
  if (labelOk && predOk) return 'BOTH_CORRECT';
  if (labelOk) return 'PRED_WRONG';
  if (predOk) return 'LABEL_WRONG';
  return 'BOTH_WRONG';
}

const WHY: Record<VerifyVerdict, string> = {
  PRED_WRONG: 'The label matches the request; the prediction does not.',
  LABEL_WRONG: 'The prediction matches the request; the label does not.',
  BOTH_CORRECT: 'Both answers serve the request.',
  BOTH_WRONG: 'Neither answer serves the request.',
};

/** One judge vote on a label-vs-prediction disagreement (JGLV). */
export function simVerify(req: VerifyRequest, cfg: SimConfig): VerifyReply {
  const r = rng(req.seed, 'judge-verify');
  const truth = req.hidden?.truth?.label;
  if (!truth) return { verdict: 'BOTH_WRONG', analysis: 'The simulated judge needs the sample truth (hidden.truth) to verify.' };
  const real = trueVerdict(req.sample.label, req.prediction, truth);
  const verdict = r.chance(cfg.judge.accuracy) ? real : r.pick(VERDICTS.filter((v) => v !== real));
  const detail = verdict === 'BOTH_CORRECT' ? '' : ` Expected ${show(truth)}; label ${show(req.sample.label)}; prediction ${show(req.prediction)}.`;
  return { verdict, analysis: WHY[verdict] + detail };
}
