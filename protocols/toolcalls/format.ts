import type { ToolCall } from '../toolcall.ts';
import { argumentsJson, toolCallToExact } from './convert.ts';
import type { ToolCallFormat } from './parse.ts';
import { pyRepr } from './pyvalue.ts';

/**
 * Tool calls -> text in each format. Deterministic: the same calls give the same bytes;
 * argument keys keep their order; integral floats listed in `floats` are written `4.0`.
 */

/** `{"name":"f","arguments":{...}}`, compact. */
export function callJson(call: ToolCall): string {
  return `{"name":${JSON.stringify(call.name)},"arguments":${argumentsJson(call)}}`;
}

/**
 * The canonical target text the policy is trained to produce: optional content, then one
 * `<tool_call>\n{...}\n</tool_call>` block per call, separated by newlines.
 */
export function formatHermes(calls: ToolCall[], content?: string): string {
  const blocks = calls.map((c) => `<tool_call>\n${callJson(c)}\n</tool_call>`);
  const text = content?.trim() ?? '';
  if (!blocks.length) return text;
  return text ? `${text}\n${blocks.join('\n')}` : blocks.join('\n');
}

export type OpenAIToolCallOut = { id: string; type: 'function'; function: { name: string; arguments: string } };

/** OpenAI `tool_calls`: arguments as compact JSON strings; missing ids become call_<index>. */
export function formatOpenAIToolCalls(calls: ToolCall[]): OpenAIToolCallOut[] {
  return calls.map((c, i) => ({ id: c.id ?? `call_${i}`, type: 'function', function: { name: c.name, arguments: argumentsJson(c) } }));
}

/** BFCL's Python-call syntax: `[f(a=1, b='x'), g(c=[1, 2.0])]` (Python reprs, keyword arguments). */
export function formatPythonCalls(calls: ToolCall[]): string {
  return `[${calls.map(pythonCall).join(', ')}]`;
}

function pythonCall(call: ToolCall): string {
  const exact = toolCallToExact(call);
  const args = exact.args.keys.map((k, i) => `${String(k)}=${pyRepr(exact.args.vals[i])}`);
  return `${call.name}(${args.join(', ')})`;
}

/** Plain JSON: `[{"name":...,"arguments":{...}}, ...]`. */
export function formatJsonCalls(calls: ToolCall[]): string {
  return `[${calls.map(callJson).join(',')}]`;
}

export function formatToolCalls(calls: ToolCall[], format: ToolCallFormat, content?: string): string {
  switch (format) {
    case 'hermes':
      return formatHermes(calls, content);
    case 'openai':
      return JSON.stringify({ role: 'assistant', content: content ?? null, tool_calls: formatOpenAIToolCalls(calls) });
    case 'python':
      return formatPythonCalls(calls);
    case 'json':
      return formatJsonCalls(calls);
  }
}
