import { z } from 'zod';
import { JsonValue } from '../../protocols/json.ts';
import type { ChatMessage } from '../../protocols/messages.ts';
import type { ExpandInput } from '../../protocols/roles/expander.ts';
import { VARIATION_TEXT } from '../../protocols/roles/expander.ts';
import type { Label } from '../../protocols/sample.ts';
import type { ToolCall } from '../../protocols/toolcall.ts';
import { checkCalls } from '../../protocols/validate.ts';
import { callOptions, callText, toolsJson, transcript, withChecks, type Check, type LlmDeps } from '../common/llm/brain.ts';
import { stripThink } from '../common/llm/extract.ts';
import { EXPAND_EXAMPLE, expandPrompt } from './prompts.ts';

const ModelCall = z.object({ name: z.string().min(1), arguments: z.record(z.string(), JsonValue).default({}) });
const ModelMessage = z.discriminatedUnion('role', [
  z.object({ role: z.literal('user'), content: z.string().min(1) }),
  z.object({ role: z.literal('assistant'), content: z.string().default(''), tool_calls: z.array(ModelCall).default([]) }),
  z.object({ role: z.literal('tool'), name: z.string().min(1), content: z.string().min(1) }),
]);
const ModelAnswer = z.union([z.object({ calls: z.array(ModelCall).min(1) }), z.object({ text: z.string().min(1) })]);
const ModelSample = z.object({ messages: z.array(ModelMessage).min(1), answer: ModelAnswer, notes: z.string().default('') });
type ModelSample = z.infer<typeof ModelSample>;

/** What zod cannot say about a written sample: order of turns, names, arguments. */
export function sampleChecks(s: ModelSample, tools: z.output<typeof ExpandInput>['sample']['tools']): Check[] {
  const out: Check[] = [];
  if (s.messages[0]?.role !== 'user') out.push({ path: ['messages', 0, 'role'], message: 'the conversation starts with a user message' });
  const last = s.messages[s.messages.length - 1]!;
  if (last.role === 'assistant') out.push({ path: ['messages', s.messages.length - 1], message: 'the conversation stops where the assistant must answer: end with a user or tool message' });
  let pending: string[] = [];
  s.messages.forEach((m, i) => {
    if (m.role === 'assistant') {
      for (const f of checkCalls(tools, m.tool_calls)) out.push({ path: ['messages', i, 'tool_calls', ...(f.path ? f.path.split('.') : [])], message: f.message });
      pending = m.tool_calls.map((c) => c.name);
    } else if (m.role === 'tool') {
      const want = pending.shift();
      if (want !== m.name) out.push({ path: ['messages', i, 'name'], message: want ? `this result answers "${want}"` : 'a tool result that answers no call' });
      try {
        JSON.parse(m.content);
      } catch {
        out.push({ path: ['messages', i, 'content'], message: 'a tool result is JSON text' });
      }
    } else if (pending.length) out.push({ path: ['messages', i], message: `calls ${pending.join(', ')} get no tool result before this message` });
  });
  if ('calls' in s.answer)
    for (const f of checkCalls(tools, s.answer.calls)) out.push({ path: ['answer', 'calls', ...(f.path ? f.path.split('.') : [])], message: f.message });
  return out;
}

function answerText(l: Label): string {
  if (l.type === 'text') return `A text reply, no tool call: ${JSON.stringify(stripThink(l.text))}`;
  return l.calls.map((c) => `- ${callText(c)}`).join('\n');
}

export type LlmExpansion = { context: ChatMessage[]; label: Label; notes: string };

/**
 * The llm expander: tools, context, label, prediction (reasoning stripped) and the judge's
 * analysis go into the prompt; `hidden` and any `truth` never do (the input schema drops
 * `truth` from the sample; `hidden` is not read here).
 */
export async function expandLlm(input: z.output<typeof ExpandInput>, deps: LlmDeps): Promise<LlmExpansion> {
  const { sample } = input;
  const vars = {
    tools: toolsJson(sample.tools),
    context: transcript(sample.context),
    label: answerText(sample.label),
    prediction: answerText(input.prediction),
    analysis: input.analysis || '(none given)',
    variation: `${input.variation}: ${VARIATION_TEXT[input.variation]}`,
    example: EXPAND_EXAMPLE,
  };
  const schema = withChecks(ModelSample, (s) => sampleChecks(s, sample.tools));
  const o = await deps.client.structured(expandPrompt, vars, schema, callOptions(deps, 'expander.expand', input.seed, { temperature: 0.9, maxTokens: 2048 }));
  let k = 0;
  const ids: string[] = [];
  const context: ChatMessage[] = o.messages.map((m, i): ChatMessage => {
    if (m.role === 'assistant') {
      const calls: ToolCall[] = m.tool_calls.map((c, j) => ({ id: `call_${i}_${j}`, name: c.name, arguments: c.arguments }));
      ids.push(...calls.map((c) => c.id!));
      return { role: 'assistant', content: m.content, tool_calls: calls };
    }
    if (m.role === 'tool') return { role: 'tool', name: m.name, content: m.content, tool_call_id: ids[k++] };
    return { role: 'user', content: m.content };
  });
  const label: Label = 'calls' in o.answer ? { type: 'calls', calls: o.answer.calls.map((c) => ({ name: c.name, arguments: c.arguments })) } : { type: 'text', text: o.answer.text };
  return { context, label, notes: o.notes };
}
