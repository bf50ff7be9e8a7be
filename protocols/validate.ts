import { z } from 'zod';
import type { JsonValue } from './json.ts';
import type { ChatMessage } from './messages.ts';
import type { ToolCall } from './toolcall.ts';
import type { ParamSchema, ToolSpec } from './toolspec.ts';
import { hasToolCallTag } from './toolcalls/index.ts';

/**
 * Rule checks of a simulated dialogue (DESIGN.md §1 round 0 step 4), pure. Each check
 * returns every failure it finds with a reason code, the index of the message at
 * fault and, for arguments, the path inside the call; the first failure is the
 * dialogue's rejection reason. The judge's vote is separate (`majority`).
 */

export const RuleCode = z.enum([
  'message_order', // roles out of turn: two user messages in a row, a dialogue that starts or ends wrong
  'unknown_tool', // a call names no tool of the dialogue
  'call_response_mismatch', // tool responses do not answer the calls one to one, in order
  'unparseable_output', // a tool result that is not JSON, a tool-call block left in text
  'missing_required_arg',
  'unknown_arg',
  'wrong_arg_type',
  'invalid_arg_value', // a value outside the parameter's enum
  'no_tool_use', // the assistant never calls a tool
]);
export type RuleCode = z.infer<typeof RuleCode>;

export const RuleFailure = z.object({
  code: RuleCode,
  message: z.string(),
  at: z.number().int().min(0).optional().describe('index in `messages` of the message at fault'),
  path: z.string().optional().describe('for arguments: "<call index>.<argument path>", e.g. "0.options.date"'),
});
export type RuleFailure = z.infer<typeof RuleFailure>;

export type ArgIssue = { code: 'missing_required_arg' | 'unknown_arg' | 'wrong_arg_type' | 'invalid_arg_value'; path: string; message: string };

function typeName(v: JsonValue): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function fitsType(type: ParamSchema['type'], v: JsonValue): boolean {
  switch (type) {
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'array':
      return Array.isArray(v);
    case 'object':
      return v !== null && typeof v === 'object' && !Array.isArray(v);
    case 'null':
      return v === null;
  }
}

const join = (base: string, key: string | number) => (base ? `${base}.${key}` : String(key));

function checkValue(schema: ParamSchema, v: JsonValue, path: string, out: ArgIssue[]): void {
  if (!fitsType(schema.type, v)) {
    out.push({ code: 'wrong_arg_type', path, message: `expected ${schema.type}, got ${typeName(v)} ${JSON.stringify(v)}` });
    return;
  }
  if (schema.enum && !schema.enum.some((e) => e === v))
    out.push({ code: 'invalid_arg_value', path, message: `${JSON.stringify(v)} is not one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}` });
  if (schema.type === 'array' && schema.items) (v as JsonValue[]).forEach((item, i) => checkValue(schema.items!, item, join(path, i), out));
  if (schema.type === 'object' && schema.properties)
    checkObject(schema.properties, schema.required ?? [], schema.additionalProperties, v as Record<string, JsonValue>, path, out);
}

function checkObject(
  props: Record<string, ParamSchema>,
  required: string[],
  additional: boolean | undefined,
  value: Record<string, JsonValue>,
  path: string,
  out: ArgIssue[],
): void {
  for (const r of required) if (!(r in value)) out.push({ code: 'missing_required_arg', path: join(path, r), message: `required argument "${r}" is missing` });
  for (const [k, v] of Object.entries(value)) {
    const s = props[k];
    // A call's arguments are closed unless the schema opens them explicitly.
    if (!s) {
      if (additional !== true)
        out.push({ code: 'unknown_arg', path: join(path, k), message: `"${k}" is not a parameter (known: ${Object.keys(props).join(', ') || 'none'})` });
      continue;
    }
    checkValue(s, v, join(path, k), out);
  }
}

/** Checks one call's arguments against its tool's parameter schema. */
export function checkArguments(tool: Pick<ToolSpec, 'parameters'>, args: Record<string, JsonValue>): ArgIssue[] {
  const out: ArgIssue[] = [];
  const p = tool.parameters;
  checkObject(p.properties ?? {}, p.required ?? [], p.additionalProperties, args, '', out);
  return out;
}

/** Names exist and arguments fit the schema, for the calls of one assistant message at index `at`. */
export function checkCalls(tools: readonly ToolSpec[], calls: readonly ToolCall[], at?: number): RuleFailure[] {
  const byName = new Map(tools.map((t) => [t.name, t]));
  const out: RuleFailure[] = [];
  calls.forEach((c, ci) => {
    const tool = byName.get(c.name);
    if (!tool) {
      out.push({ code: 'unknown_tool', at, path: String(ci), message: `call ${ci} names "${c.name}", which is not one of the tools (${[...byName.keys()].join(', ')})` });
      return;
    }
    for (const issue of checkArguments(tool, c.arguments))
      out.push({ code: issue.code, at, path: `${ci}.${issue.path}`, message: `${c.name}: ${issue.path}: ${issue.message}` });
  });
  return out;
}

/**
 * What the dialogue machine checks on every assistant turn before it joins the
 * dialogue: the calls are well-formed and the text carries no stray call block.
 * A turn that fails is a "bad turn" and is sampled again.
 */
export function checkAssistantTurn(tools: readonly ToolSpec[], message: { content: string; tool_calls: readonly ToolCall[] }, at?: number): RuleFailure[] {
  const out: RuleFailure[] = [];
  if (hasToolCallTag(message.content))
    out.push({ code: 'unparseable_output', at, message: 'the assistant text contains a <tool_call> block that did not parse into a call' });
  out.push(...checkCalls(tools, message.tool_calls, at));
  return out;
}

function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

export type DialogueCheckOptions = {
  /** Reject a dialogue in which no assistant message calls a tool (default true). */
  requireToolUse?: boolean;
};

/**
 * Every rule of DESIGN.md §1 round 0 step 4, in one pass over the dialogue. An empty
 * array means the dialogue passes. Failures come in message order, so the first one
 * is where the dialogue first goes wrong.
 */
export function checkDialogue(tools: readonly ToolSpec[], messages: readonly ChatMessage[], opts: DialogueCheckOptions = {}): RuleFailure[] {
  const out: RuleFailure[] = [];
  if (messages.length === 0) return [{ code: 'message_order', message: 'the dialogue has no messages' }];
  let prev: ChatMessage | undefined;
  let pending: { call: ToolCall; at: number; index: number }[] = [];
  let called = false;
  const unanswered = (at: number) => {
    for (const p of pending)
      out.push({ code: 'call_response_mismatch', at: p.at, path: String(p.index), message: `call ${p.index} (${p.call.name}) of message ${p.at} gets no tool response before message ${at}` });
    pending = [];
  };
  messages.forEach((m, i) => {
    switch (m.role) {
      case 'system':
        if (prev && prev.role !== 'system') out.push({ code: 'message_order', at: i, message: 'a system message after the dialogue started' });
        break;
      case 'user':
        if (pending.length) unanswered(i);
        else if (prev?.role === 'user') out.push({ code: 'message_order', at: i, message: 'two user messages in a row' });
        else if (prev?.role === 'tool') out.push({ code: 'message_order', at: i, message: 'a user message right after tool results (the assistant answers them first)' });
        break;
      case 'assistant':
        if (pending.length) unanswered(i);
        else if (!prev || prev.role === 'system') out.push({ code: 'message_order', at: i, message: 'the dialogue starts with an assistant message, not a user request' });
        else if (prev.role === 'assistant') out.push({ code: 'message_order', at: i, message: 'two assistant messages in a row' });
        if (hasToolCallTag(m.content)) out.push({ code: 'unparseable_output', at: i, message: 'the assistant text contains a <tool_call> block that did not parse into a call' });
        out.push(...checkCalls(tools, m.tool_calls, i));
        if (m.tool_calls.length) called = true;
        pending = m.tool_calls.map((call, index) => ({ call, at: i, index }));
        break;
      case 'tool': {
        const expected = pending.shift();
        if (!expected) out.push({ code: 'call_response_mismatch', at: i, message: `a tool response (${m.name}) that answers no call` });
        else if (expected.call.name !== m.name)
          out.push({ code: 'call_response_mismatch', at: i, message: `the response is from "${m.name}" but call ${expected.index} of message ${expected.at} is "${expected.call.name}"` });
        else if (expected.call.id && m.tool_call_id && expected.call.id !== m.tool_call_id)
          out.push({ code: 'call_response_mismatch', at: i, message: `the response answers call id "${m.tool_call_id}" but call ${expected.index} has id "${expected.call.id}"` });
        if (!parsesAsJson(m.content)) out.push({ code: 'unparseable_output', at: i, message: `the result of ${m.name} is not JSON: ${m.content.slice(0, 80)}` });
        break;
      }
    }
    prev = m;
  });
  if (pending.length) unanswered(messages.length);
  const last = messages[messages.length - 1]!;
  if (last.role !== 'assistant' && last.role !== 'tool')
    out.push({ code: 'message_order', at: messages.length - 1, message: `the dialogue ends with a ${last.role} message, not an assistant answer` });
  else if (last.role === 'tool') out.push({ code: 'message_order', at: messages.length - 1, message: 'the dialogue ends with tool results the assistant never answers' });
  if ((opts.requireToolUse ?? true) && !called) out.push({ code: 'no_tool_use', message: 'the assistant never calls a tool' });
  return out;
}

/** Failures grouped by code, e.g. for a report. */
export function countByCode(failures: readonly RuleFailure[]): Partial<Record<RuleCode, number>> {
  const out: Partial<Record<RuleCode, number>> = {};
  for (const f of failures) out[f.code] = (out[f.code] ?? 0) + 1;
  return out;
}

export type Vote = 'CORRECT' | 'INCORRECT';

/** Strict majority of CORRECT votes: 2 of 3 accept, 1 of 3 does not; a tie rejects. */
export function majority(votes: readonly Vote[]): { accepted: boolean; correct: number; incorrect: number } {
  const correct = votes.filter((v) => v === 'CORRECT').length;
  const incorrect = votes.length - correct;
  return { accepted: correct > incorrect, correct, incorrect };
}
