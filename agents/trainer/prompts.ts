import type { ChatMessage } from '../../protocols/messages.ts';
import type { Label } from '../../protocols/sample.ts';
import type { ToolSpec } from '../../protocols/toolspec.ts';
import { formatHermes } from '../../protocols/toolcalls/index.ts';

/** What the worker renders: the tools as the policy may see them, and the conversation. */
export type WorkerPrompt = { tools: ToolSpec[]; messages: ChatMessage[] };

/**
 * A tool as it crosses to the policy: name, description and parameters. The
 * simulator's `meta` (which may describe the truth) never reaches a prompt, and
 * `returns` (the result shape, for the tool simulator) is not part of the prompt the
 * worker renders, so it is not sent either.
 */
export function policyTool(t: ToolSpec): ToolSpec {
  const { meta: _meta, returns: _returns, ...rest } = t;
  return rest;
}

export function workerPrompt(p: { tools: readonly ToolSpec[]; messages: readonly ChatMessage[] }): WorkerPrompt {
  return { tools: p.tools.map(policyTool), messages: [...p.messages] };
}

/**
 * The completion a label teaches: Hermes blocks for tool calls (the policy's native
 * output, the format rewardFromText parses), or the label's text for a "no call" turn.
 */
export function labelCompletion(label: Label): string {
  return label.type === 'calls' ? formatHermes(label.calls) : label.text;
}

/**
 * The index of the request item the worker found too long for the model context, if
 * that is what a bad_request says (sft_step: "args.samples.3: prompt + completion is N
 * tokens, longer than the model context (L)"; generate: "args.prompts.3: N tokens leave
 * no room in the model context (L)"; score: "args.items.3: ..."). Such an item can never
 * be served by this model, so callers drop it and go on with the rest.
 */
export function tooLongIndex(message: string): { list: 'samples' | 'prompts' | 'items'; index: number } | null {
  const m = /args\.(samples|prompts|items)\.(\d+)[^:]*: .*(longer than the model context|leave no room in the model context)/.exec(message);
  if (!m) return null;
  return { list: m[1] as 'samples' | 'prompts' | 'items', index: Number(m[2]) };
}

/** Summary statistics of a list of rewards. */
export function meanStd(xs: readonly number[]): { mean: number; std: number } {
  if (xs.length === 0) return { mean: 0, std: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length;
  return { mean, std: Math.sqrt(v) };
}
