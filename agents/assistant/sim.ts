/**
 * Simulated assistant — the teacher (the `sim` brain of the assistant role).
 *
 * Models a strong but imperfect teacher model. From the plan in its hidden input it
 * answers what a correct assistant would: the calls of the current round with every
 * value the user gave, converted to canonical form (several calls at once for
 * parallel requests, values from earlier results for multi-step ones), a question
 * for withheld required values (and never an invented value), a refusal in text for
 * requests no tool serves, and a summary once results are in. Two kinds of mistakes:
 * the planted systematic ones (label noise: the same mistake in every sample of the
 * turn, so self-consistency cannot catch it) and per-sample slips at the configured
 * sampling-noise rate (so samples sometimes disagree). Every reply carries the truth
 * (the correct label and whether this reply deviates from it) for sim bookkeeping.
 */
import type { ChatMessage } from '../../protocols/messages.ts';
import type { HiddenTruth, Label } from '../../protocols/sample.ts';
import type { LabelNoiseKind, Plan } from '../../protocols/plan.ts';
import type { SimConfig } from '../../protocols/sim-config.ts';
import type { ToolSpec } from '../../protocols/toolspec.ts';
import type { ToolCall } from '../../protocols/toolcall.ts';
import { rng, type Rng } from '../../protocols/rng.ts';
import { askMissing, refusal, summarizeResult, summary, verbPhrases } from '../common/sim/phrasing.ts';
import { applicableNoise, applyNoise, plantedAnswer } from '../common/sim/world.ts';
import { expectedReply, isErrorResult, toolIndex, withheldLabels, type Expected, type ToolIndex } from '../../protocols/truth/reply.ts';
import { sameLabel } from '../../protocols/toolcalls/index.ts';

export type RespondRequest = { seed: string; tools: ToolSpec[]; messages: ChatMessage[]; hidden?: { plan: Plan } };
export type RespondReply = { role: 'assistant'; content: string; tool_calls: ToolCall[]; truth?: HiddenTruth };

/** The words of a text answer. */
function renderText(exp: Expected, plan: Plan, index: ToolIndex, r: Rng): string {
  const t = exp.text;
  if (!t || t.type === 'idle') return 'How can I help you today?';
  if (t.type === 'refusal') return refusal(r);
  if (t.type === 'clarify') {
    const step = plan.steps[exp.step]!;
    const info = index.get(t.tool);
    // the plain verb phrase: "show me ..." is how users talk, not assistants
    const what = info ? verbPhrases(info.meta.verb)[0]!.replace('{o}', info.meta.object) : 'do that';
    return askMissing(r, what, withheldLabels(step, index));
  }
  const sentences = t.groups.flatMap((g) => g.results.map((res, i) => summarizeResult(g.names[i] ?? g.calls[i]?.name ?? 'the tool', res, g.raw[i] ?? '')));
  const failed = t.groups.some((g) => g.results.some(isErrorResult));
  return summary(r, sentences.length ? sentences : ['nothing came back'], failed);
}

/** A random slip of one sample, among the mistakes that apply to this answer. */
function sampleSlip(exp: Expected, label: Label, truth: Label, plan: Plan, index: ToolIndex, cfg: SimConfig, r: Rng): { label: Label; kind: LabelNoiseKind } | undefined {
  const step = plan.steps[exp.step]!;
  const ctx = { index, step, round: exp.round };
  const kinds = applicableNoise(step, exp.round, index);
  for (let i = 0; i < 4 && kinds.length; i++) {
    const kind = r.weighted(cfg.noise.kinds as Record<LabelNoiseKind, number>, kinds);
    if (!kind) return undefined;
    const out = applyNoise(kind, label, ctx, r);
    // a slip is one more deviation; one that happens to undo a planted mistake is not taken
    if (out && !sameLabel(out, truth)) return { label: out, kind };
    kinds.splice(kinds.indexOf(kind), 1);
  }
  return undefined;
}

function callIds(calls: ToolCall[], exp: Expected): ToolCall[] {
  // ids depend on the turn only, so that samples of one turn compare equal
  return calls.map((c, i) => ({ id: `call_${exp.step}_${exp.round}_${i}`, name: c.name, arguments: c.arguments }));
}

/** The assistant's next message, with the truth about it. */
export function simRespond(req: RespondRequest, cfg: SimConfig): RespondReply {
  const r = rng(req.seed, 'assistant');
  const plan = req.hidden?.plan;
  if (!plan) {
    // without the plan the teacher has no answer key; it says so rather than guessing
    return { role: 'assistant', content: 'Could you tell me more about what you need?', tool_calls: [] };
  }
  const index = toolIndex(req.tools);
  const exp = expectedReply(plan, req.messages);
  const truthLabel: Label = exp.label.type === 'text' ? { type: 'text', text: renderText(exp, plan, index, r.fork('text')) } : exp.label;
  let visible: Label = truthLabel;
  const notes: string[] = [];
  const planted = plantedAnswer(plan, { ...exp, label: truthLabel }, index);
  if (planted) {
    visible = planted.label;
    notes.push(planted.noise.kind);
  }
  if (exp.sample && r.chance(cfg.noise.sampleRate)) {
    const slip = sampleSlip(exp, visible, truthLabel, plan, index, cfg, r.fork('slip'));
    if (slip) {
      visible = slip.label;
      notes.push(`sample:${slip.kind}`);
    }
  }
  const noisy = !sameLabel(visible, truthLabel);
  const truth: HiddenTruth = { label: truthLabel, noisy, ...(noisy && notes.length ? { noise: notes.join('+') } : {}) };
  if (visible.type === 'calls') return { role: 'assistant', content: '', tool_calls: callIds(visible.calls, exp), truth };
  return { role: 'assistant', content: visible.text, tool_calls: [], truth };
}
