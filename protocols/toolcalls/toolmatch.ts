import { canonicalJson } from '../json.ts';
import type { Label } from '../sample.ts';
import type { ToolCall } from '../toolcall.ts';
import { hasToolCallTag, parseHermes } from './parse.ts';

/**
 * ToolMatch, the GRPO reward (DESIGN.md §2.4): the predicted calls equal the label's calls as
 * a multiset (order-free, but [A,A,B] != [A,B,B]); names equal exactly; argument objects equal
 * whatever their key order; values strictly (no coercion: "1" != 1, true != 1, null != "null";
 * arrays are ordered); no partial credit. A text label (no call expected) matches any output
 * without calls.
 *
 * Numbers compare by value, as JSON defines them: `4` and `4.0` are one number, so
 * ToolCall.floats plays no part here (the BFCL checker, not this reward, applies Python's
 * int/float rules).
 */

/** The identity of a call for matching: name and canonical arguments (not the id). */
export function callKey(call: ToolCall): string {
  return JSON.stringify(call.name) + canonicalJson(call.arguments);
}

/** Same calls as a multiset? */
export function sameCalls(a: readonly ToolCall[], b: readonly ToolCall[]): boolean {
  if (a.length !== b.length) return false;
  if (a.length === 1) return callKey(a[0]) === callKey(b[0]);
  const ka = a.map(callKey).sort();
  const kb = b.map(callKey).sort();
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return false;
  return true;
}

/**
 * ToolMatch between two labels: the same calls as a multiset, or both text (any text
 * matches text). Symmetric.
 */
export function sameLabel(a: Label, b: Label): boolean {
  if (a.type === 'text' || b.type === 'text') return a.type === b.type;
  return sameCalls(a.calls, b.calls);
}

export function toolMatch(pred: { calls: readonly ToolCall[] }, label: Label): boolean {
  if (label.type === 'text') return pred.calls.length === 0;
  return sameCalls(pred.calls, label.calls);
}

export type Reward = { reward: 0 | 1; calls: ToolCall[]; parseError?: string };

/**
 * The reward of one policy completion (Hermes format). A completion that does not parse gets
 * 0, except when the label is text and the completion has no tool-call tag at all (an
 * unterminated <think> in a plain answer is still "no call").
 */
export function rewardFromText(text: string, label: Label): Reward {
  const r = parseHermes(text);
  if (!r.ok) {
    const parseError = `${r.error.message}`;
    if (label.type === 'text' && !hasToolCallTag(text)) return { reward: 1, calls: [], parseError };
    return { reward: 0, calls: [], parseError };
  }
  return { reward: toolMatch(r, label) ? 1 : 0, calls: r.calls };
}
