import { LooptoolError, type ErrorIssue } from '../../../protocols/errors.ts';
import type { ToolCall } from '../../../protocols/toolcall.ts';
import { toOpenAITool, type ToolSpec } from '../../../protocols/toolspec.ts';
import type { ChatMessage } from '../../../protocols/messages.ts';
import { formatHermes, parseHermes, parseOpenAIToolCalls } from '../../../protocols/toolcalls/index.ts';
import type { CallOptions, LlmClient } from './client.ts';
import { stripThink } from './extract.ts';
import { fromDialogue, type OpenAIMessage } from './messages.ts';

export type ToolTurn = {
  /** What the model said, reasoning removed. */
  content: string;
  calls: ToolCall[];
  /** Where the calls came from: the endpoint's native `tool_calls`, Hermes text, or none. */
  source: 'native' | 'hermes' | 'none';
};

export type ToolTurnOptions = CallOptions & {
  /** Overrides the endpoint's repairRetries. */
  repairRetries?: number;
  /** OpenAI tool_choice; default "auto". */
  toolChoice?: 'auto' | 'none' | 'required';
};

type Attempt = { ok: true; turn: ToolTurn } | { ok: false; reason: string; issues: ErrorIssue[] };

function readTurn(message: { content?: string | null; tool_calls?: unknown[] }, tools: ToolSpec[]): Attempt {
  const raw = message.content ?? '';
  let turn: ToolTurn;
  if (Array.isArray(message.tool_calls) && message.tool_calls.length > 0) {
    const r = parseOpenAIToolCalls({ content: null, tool_calls: message.tool_calls });
    if (!r.ok) return { ok: false, reason: `the tool_calls could not be read: ${r.error.message}`, issues: [] };
    turn = { content: stripThink(raw), calls: r.calls, source: 'native' };
  } else {
    // Endpoints without a tool parser (or models that ignore it) write Hermes blocks in the text.
    const r = parseHermes(raw);
    if (!r.ok) return { ok: false, reason: `the <tool_call> blocks could not be read: ${r.error.message}`, issues: [] };
    turn = { content: r.content, calls: r.calls, source: r.calls.length ? 'hermes' : 'none' };
  }
  const known = new Set(tools.map((t) => t.name));
  const issues: ErrorIssue[] = [];
  turn.calls.forEach((c, i) => {
    if (!known.has(c.name)) issues.push({ path: `tool_calls.${i}.name`, message: `"${c.name}" is not one of the tools (${[...known].join(', ')})` });
  });
  if (issues.length) return { ok: false, reason: 'a call names a tool that does not exist', issues };
  if (turn.calls.length === 0 && turn.content === '') return { ok: false, reason: 'the reply was empty: neither text nor tool calls', issues: [] };
  return { ok: true, turn };
}

function repairText(reason: string, issues: ErrorIssue[]): string {
  const lines = [`Your previous reply could not be used: ${reason}.`];
  for (const i of issues) lines.push(`- ${i.path}: ${i.message}`);
  lines.push('Answer the conversation again: either call tools (only the tools provided, with JSON object arguments) or reply in plain text.');
  return lines.join('\n');
}

/**
 * One assistant turn with tools: sends the endpoint's native `tools` parameter and
 * reads `tool_calls`; when the endpoint returns none, parses Hermes `<tool_call>`
 * blocks from the text (the format Qwen-style models write without a server-side
 * parser). Unreadable calls, unknown tool names or an empty reply get repair turns;
 * after `repairRetries` the result is a LooptoolError `invalid_output`.
 */
export async function toolTurn(client: LlmClient, messages: OpenAIMessage[], tools: ToolSpec[], opts: ToolTurnOptions = {}): Promise<ToolTurn> {
  const convo = [...messages];
  const repairs = opts.repairRetries ?? client.endpoint.repairRetries;
  const extra =
    client.endpoint.toolMode === 'native' ? { tools: tools.map(toOpenAITool) as never, tool_choice: opts.toolChoice ?? 'auto' } : {};
  for (let turn = 0; ; turn++) {
    const res = await client.chat(convo, opts, extra);
    const message = res.choices[0]!.message as { content?: string | null; tool_calls?: unknown[] };
    const a = readTurn(message, tools);
    if (a.ok) return a.turn;
    if (turn >= repairs) {
      const what = opts.label ?? client.endpoint.role;
      client.noteFailure(turn + 1, a.reason, a.issues);
      throw new LooptoolError({
        code: 'invalid_output',
        message: client.redact(`${what}: ${client.endpoint.model} gave no usable tool turn in ${turn + 1} ${turn === 0 ? 'try' : 'tries'}: ${a.reason}`),
        issues: a.issues,
        retryable: true,
      });
    }
    client.noteRepair(turn + 1, a.reason, a.issues);
    // The bad reply goes back as plain text: echoing broken native tool_calls would be refused by some servers.
    const echoed = message.content || (message.tool_calls ? JSON.stringify(message.tool_calls) : '');
    convo.push({ role: 'assistant', content: echoed }, { role: 'user', content: repairText(a.reason, a.issues) });
  }
}

/** The tool list and calling convention for `prompt` mode (Hermes, as Qwen's chat template writes it). */
export function hermesToolsPrompt(tools: ToolSpec[]): string {
  const list = tools.map((t) => JSON.stringify(toOpenAITool(t))).join('\n');
  return [
    'You may call one or more functions to assist with the user query. The functions are listed in <tools></tools>:',
    `<tools>\n${list}\n</tools>`,
    'For each function call, write a JSON object with the function name and arguments inside <tool_call></tool_call> tags:',
    '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>',
  ].join('\n');
}

/**
 * A tool-using conversation for the endpoint's tool mode: a system prompt, then the
 * dialogue. Native mode uses OpenAI roles (assistant tool_calls, tool results);
 * prompt mode writes the tools into the system prompt, earlier calls as Hermes
 * blocks and results as <tool_response> user turns, which any chat server accepts.
 * A system message already in the dialogue is appended to ours (one system turn).
 */
export function toolConversation(mode: 'native' | 'prompt', system: string, dialogue: ChatMessage[], tools: ToolSpec[]): OpenAIMessage[] {
  const own = dialogue.filter((m) => m.role === 'system').map((m) => m.content);
  const rest = dialogue.filter((m) => m.role !== 'system');
  const sys = [system, ...(mode === 'prompt' ? [hermesToolsPrompt(tools)] : []), ...own].join('\n\n');
  if (mode === 'native') return [{ role: 'system', content: sys }, ...fromDialogue(rest)];
  const out: OpenAIMessage[] = [{ role: 'system', content: sys }];
  for (const m of rest) {
    if (m.role === 'user') out.push({ role: 'user', content: m.content });
    else if (m.role === 'assistant') out.push({ role: 'assistant', content: formatHermes(m.tool_calls, m.content) });
    else if (m.role === 'tool') {
      // Consecutive results of one turn share one user message, as in Qwen's template.
      const block = `<tool_response>\n${m.content}\n</tool_response>`;
      const last = out[out.length - 1]!;
      if (last.role === 'user' && typeof last.content === 'string' && last.content.startsWith('<tool_response>')) last.content += `\n${block}`;
      else out.push({ role: 'user', content: block });
    }
  }
  return out;
}
