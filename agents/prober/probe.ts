import type { ToolSpec } from '../../protocols/toolspec.ts';
import type { Label } from '../../protocols/sample.ts';
import type { ProbeResult } from '../../protocols/roles/prober.ts';
import { rewardFromText } from '../../protocols/toolcalls/index.ts';
import { predictionLabel } from '../../protocols/loop/jglv.ts';

/**
 * The pure half of probing: a greedy completion judged against the label by ToolMatch
 * (the same function as the GRPO reward), with the prediction kept as a label so
 * JGLV can put it beside the sample's own.
 */
export function judgeCompletion(id: string, label: Label, out: { text: string; ppl: number | null; tokens: number }): ProbeResult {
  const r = rewardFromText(out.text, label);
  return {
    id,
    mastered: r.reward === 1,
    prediction: predictionLabel(r.calls, out.text),
    text: out.text,
    ppl: out.ppl,
    tokens: out.tokens,
    ...(r.parseError && r.calls.length === 0 && label.type === 'calls' ? { parseError: r.parseError } : {}),
  };
}

/** A tool as the policy may see it: the simulator's `meta` never reaches a prompt. */
export function policyTool(t: ToolSpec): ToolSpec {
  const { meta: _meta, ...rest } = t;
  return rest;
}
