/**
 * Simulated judge — a noisy oracle (the `sim` brain of the judge role).
 *
 * Models an LLM judge that usually gets it right. For a dialogue it replays the
 * plan to find, turn by turn, what a correct assistant would have said, and compares
 * (CORRECT iff every assistant turn matches). For JGLV `verify` it compares label and
 * prediction with the sample's truth. Each verb has its own knobs (sim.judge.dialogue,
 * sim.judge.verify): a planted teacher mistake goes unseen with probability
 * `noiseBlindness`, and always in `blindSkills` (a judge from the same model family
 * shares the teacher's biases), decided once per mistake (per sample for verify) so
 * that all votes share the blind spot; a blind judge takes the wrong label for right.
 * Each vote then gives the verdict it perceives with probability `accuracy`, and
 * otherwise another one, chosen by the vote's own seed.
 */
import type { ChatMessage } from '../../protocols/messages.ts';
import { primarySkill, type HiddenTruth, type Label, type Sample, type Skill } from '../../protocols/sample.ts';
import type { Plan } from '../../protocols/plan.ts';
import type { SimConfig } from '../../protocols/sim-config.ts';
import type { ToolSpec } from '../../protocols/toolspec.ts';
import { rng } from '../../protocols/rng.ts';
import { canonicalJson } from '../../protocols/json.ts';
import { expectedReply, labelOf, toolIndex } from '../../protocols/truth/reply.ts';
import { sameLabel } from '../../protocols/toolcalls/index.ts';
import { plantedAnswer } from '../common/sim/world.ts';
import { turnSkills } from '../../protocols/truth/skills.ts';
import { trueVerdict } from '../../protocols/loop/metrics.ts';

export type DialogueVerdict = 'CORRECT' | 'INCORRECT';
export type VerifyVerdict = 'PRED_WRONG' | 'LABEL_WRONG' | 'BOTH_CORRECT' | 'BOTH_WRONG';

export type JudgeDialogueRequest = { seed: string; tools: ToolSpec[]; messages: ChatMessage[]; hidden?: { plan: Plan } };
export type JudgeDialogueReply = { verdict: DialogueVerdict; analysis: string; turn?: number };
export type VerifyRequest = {
  seed: string;
  sample: { label: Label } & Partial<Pick<Sample, 'id' | 'kind' | 'skills'>>;
  prediction: Label;
  hidden?: { truth: HiddenTruth };
};
export type VerifyReply = { verdict: VerifyVerdict; analysis: string };

function show(l: Label): string {
  if (l.type === 'text') return 'a text answer (no call)';
  return l.calls.map((c) => `${c.name}(${canonicalJson(c.arguments)})`).join(', ');
}

type Mismatch = { index: number; expected: Label; got: Label; planted?: { kind: string; seed: string; skill?: Skill } };

/** Every assistant turn that differs from what a correct assistant would have said. */
export function dialogueMismatches(plan: Plan, tools: ToolSpec[], messages: ChatMessage[]): Mismatch[] {
  const index = toolIndex(tools);
  const out: Mismatch[] = [];
  messages.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    const exp = expectedReply(plan, messages.slice(0, i));
    const got = labelOf(m);
    if (sameLabel(got, exp.label)) return;
    const planted = plantedAnswer(plan, exp, index);
    const isPlanted = planted && sameLabel(got, planted.label);
    const skill = isPlanted ? turnSkills(plan, messages.slice(0, i), exp, index)?.skills[0] : undefined;
    out.push({ index: i, expected: exp.label, got, planted: isPlanted ? { kind: planted.noise.kind, seed: planted.noise.seed, ...(skill ? { skill } : {}) } : undefined });
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
  const knobs = cfg.judge.dialogue;
  const blind = (p: NonNullable<Mismatch['planted']>) => (p.skill !== undefined && knobs.blindSkills.includes(p.skill)) || rng(p.seed, 'judge-blind').chance(knobs.noiseBlindness);
  const seen = mismatches.filter((m) => !(m.planted && blind(m.planted)));
  const perceivedCorrect = seen.length === 0;
  const honest = r.chance(knobs.accuracy);
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
  const knobs = cfg.judge.verify;
  // a blind judge shares the teacher's mistake: to it the wrong label looks right
  const skill = req.sample.kind ? primarySkill({ kind: req.sample.kind, skills: req.sample.skills }) : req.sample.skills?.[0];
  const blind =
    req.hidden!.truth.noisy &&
    ((skill !== undefined && knobs.blindSkills.includes(skill)) ||
      rng(req.sample.id ?? canonicalJson(req.sample.label), 'verify-blind').chance(knobs.noiseBlindness));
  const perceived = blind ? req.sample.label : truth;
  const real = trueVerdict(req.sample.label, req.prediction, { ...req.hidden!.truth, label: perceived });
  const verdict = r.chance(knobs.accuracy) ? real : r.pick(VERDICTS.filter((v) => v !== real));
  const detail = verdict === 'BOTH_CORRECT' ? '' : ` Expected ${show(perceived)}; label ${show(req.sample.label)}; prediction ${show(req.prediction)}.`;
  return { verdict, analysis: WHY[verdict] + detail };
}
