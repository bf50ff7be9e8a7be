import { z } from 'zod';
import type { ErrorIssue } from './errors.ts';
import type { ChatMessage } from './messages.ts';
import type { FinishReason as SampleFinish } from './roles/trainer.ts';
import { OpenAITool } from './toolspec.ts';
import type { ToolCall } from './toolcall.ts';
import { formatOpenAIToolCalls, parseHermes, parseOpenAIToolCalls, type OpenAIToolCallOut } from './toolcalls/index.ts';

/*
 * The OpenAI chat-completions wire format as `looptool serve` speaks it: the request
 * schema, its conversion to the policy worker's prompt ({tools, messages} in
 * protocols/messages.ts), and the reply built from the worker's samples. Pure: no I/O.
 * Objects are loose because OpenAI clients send fields we have no use for (user,
 * stream_options, parallel_tool_calls); fields that would change the answer and that we
 * cannot honour are refused by name instead of being ignored.
 */

const TextPart = z.object({ type: z.literal('text'), text: z.string() });
/** A message's content: a string, or text parts (other part types — images — are refused). */
const Content = z.union([z.string(), z.array(TextPart)]);
type Content = z.infer<typeof Content>;

const WireToolCall = z.object({
  id: z.string().optional(),
  type: z.literal('function').optional(),
  function: z.object({ name: z.string().min(1), arguments: z.string().describe('the arguments as a JSON string, as OpenAI sends them') }),
});

const WireMessage = z.discriminatedUnion('role', [
  z.looseObject({ role: z.literal('system'), content: Content }),
  z.looseObject({ role: z.literal('developer'), content: Content }),
  z.looseObject({ role: z.literal('user'), content: Content }),
  z.looseObject({ role: z.literal('assistant'), content: Content.nullish(), tool_calls: z.array(WireToolCall).nullish() }),
  z.looseObject({ role: z.literal('tool'), tool_call_id: z.string().optional(), name: z.string().min(1).optional(), content: Content }),
]);
type WireMessage = z.infer<typeof WireMessage>;

/** A field we cannot honour: absent or null (false for flags), else refused by name. */
const unsupported = (what: string, off: unknown = null) =>
  z.unknown().refine((v) => v === undefined || v === null || v === off, `${what} is not supported by looptool serve`).optional();

export const ChatCompletionRequest = z.looseObject({
  model: z.string().optional().describe('any name is accepted: the server has one model'),
  messages: z.array(WireMessage).min(1),
  tools: z.array(OpenAITool).optional(),
  tool_choice: z.union([z.enum(['auto', 'none', 'required']), z.looseObject({ type: z.literal('function') })]).optional(),
  temperature: z.number().min(0).max(2).nullish().describe('0: greedy; OpenAI\'s default is 1'),
  top_p: z.number().gt(0).max(1).nullish(),
  max_tokens: z.number().int().min(1).nullish(),
  max_completion_tokens: z.number().int().min(1).nullish(),
  n: z.number().int().min(1).max(16).nullish(),
  seed: z.number().int().min(0).nullish(),
  stream: z.boolean().nullish(),
  stop: unsupported('"stop"'),
  logprobs: unsupported('"logprobs"', false),
});
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;

/** What the worker is asked for one request; requests with equal settings can share a generate call. */
export type SamplingSettings = { temperature: number; top_p: number; max_new_tokens: number; n: number; seed?: number };

export type PolicyChat = { tools: OpenAITool[]; messages: ChatMessage[] };

export type Converted = { ok: true; prompt: PolicyChat; settings: SamplingSettings } | { ok: false; issues: ErrorIssue[] };

function text(c: Content | null | undefined): string {
  if (c == null) return '';
  return typeof c === 'string' ? c : c.map((p) => p.text).join('');
}

/**
 * A validated request -> the worker's prompt and sampling settings. OpenAI sends a call's
 * arguments as a JSON string and names a tool result only by its call id; the worker wants
 * the arguments as an object and the tool's name, so both are recovered here.
 */
export function toPolicyChat(req: ChatCompletionRequest, defaults: { maxTokens: number }): Converted {
  const issues: ErrorIssue[] = [];
  const names = new Map<string, string>();
  const messages: ChatMessage[] = req.messages.map((m: WireMessage, i): ChatMessage => {
    const at = `messages.${i}`;
    switch (m.role) {
      case 'system':
      case 'developer':
        return { role: 'system', content: text(m.content) };
      case 'user':
        return { role: 'user', content: text(m.content) };
      case 'assistant': {
        const calls: ToolCall[] = [];
        (m.tool_calls ?? []).forEach((tc, j) => {
          const parsed = parseOpenAIToolCalls([tc]);
          if (!parsed.ok) issues.push({ path: `${at}.tool_calls.${j}.function.arguments`, message: parsed.error.message });
          else calls.push(...parsed.calls);
          if (tc.id) names.set(tc.id, tc.function.name);
        });
        return { role: 'assistant', content: text(m.content), tool_calls: calls };
      }
      case 'tool': {
        const name = m.name ?? (m.tool_call_id ? names.get(m.tool_call_id) : undefined);
        if (!name)
          issues.push({
            path: `${at}.tool_call_id`,
            message: m.tool_call_id ? `no earlier assistant tool call has the id "${m.tool_call_id}"` : 'a tool message needs the tool_call_id of the call it answers',
          });
        return { role: 'tool', tool_call_id: m.tool_call_id, name: name ?? 'unknown', content: text(m.content) };
      }
    }
  });
  if (issues.length) return { ok: false, issues };
  const temperature = req.temperature ?? 1;
  const settings: SamplingSettings = {
    temperature,
    top_p: req.top_p ?? 1,
    max_new_tokens: req.max_completion_tokens ?? req.max_tokens ?? defaults.maxTokens,
    n: req.n ?? 1,
    // Greedy decoding draws no random numbers, so a seed changes nothing there.
    ...(req.seed != null && temperature > 0 ? { seed: req.seed } : {}),
  };
  const tools = req.tool_choice === 'none' ? [] : (req.tools ?? []);
  return { ok: true, prompt: { tools, messages }, settings };
}

/** The key under which requests may share one generate call: every setting the worker takes per call. */
export function settingsKey(s: SamplingSettings): string {
  return JSON.stringify([s.temperature, s.top_p, s.max_new_tokens, s.n, s.seed ?? null]);
}

export type ReplyMessage = { role: 'assistant'; content: string | null; tool_calls?: OpenAIToolCallOut[] };
export type FinishReason = 'stop' | 'length' | 'tool_calls';
export type Choice = { index: number; message: ReplyMessage; finish_reason: FinishReason; logprobs: null };

/**
 * One generated sample -> an OpenAI choice. Text that parses as Hermes `<tool_call>` blocks
 * with at least one call becomes `tool_calls` (the remaining prose is the content); any
 * other text, malformed blocks included, is returned as plain content so the client sees
 * what the model wrote. A call cut off by max_tokens never parses, so "tool_calls" always
 * means complete calls.
 */
export function toChoice(sample: { text: string; finish_reason: SampleFinish }, index: number, callIdPrefix: string): Choice {
  const parsed = parseHermes(sample.text);
  if (parsed.ok && parsed.calls.length > 0) {
    const calls = parsed.calls.map((c, i) => ({ ...c, id: `${callIdPrefix}_${index}_${i}` }));
    return {
      index,
      message: { role: 'assistant', content: parsed.content || null, tool_calls: formatOpenAIToolCalls(calls) },
      finish_reason: 'tool_calls',
      logprobs: null,
    };
  }
  return { index, message: { role: 'assistant', content: sample.text }, finish_reason: sample.finish_reason, logprobs: null };
}

export type ChatCompletion = {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Choice[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
};

export function chatCompletion(
  id: string,
  model: string,
  created: number,
  result: { prompt_tokens: number; samples: { text: string; finish_reason: SampleFinish; token_ids: number[] }[] },
): ChatCompletion {
  const completion = result.samples.reduce((s, x) => s + x.token_ids.length, 0);
  return {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: result.samples.map((s, i) => toChoice(s, i, id.replace(/^chatcmpl/, 'call'))),
    usage: { prompt_tokens: result.prompt_tokens, completion_tokens: completion, total_tokens: result.prompt_tokens + completion },
  };
}

/**
 * The same reply as server-sent chunks: per choice one chunk with the whole message (the
 * worker returns finished samples, so there is nothing finer to stream), then one with its
 * finish reason; usage rides on the last chunk. The caller writes `data: [DONE]` after them.
 */
export function completionChunks(c: ChatCompletion): object[] {
  const base = { id: c.id, object: 'chat.completion.chunk', created: c.created, model: c.model };
  const chunks: object[] = [];
  for (const ch of c.choices) {
    const delta: Record<string, unknown> = { role: 'assistant', content: ch.message.content ?? '' };
    if (ch.message.tool_calls) delta.tool_calls = ch.message.tool_calls.map((tc, index) => ({ index, ...tc }));
    chunks.push({ ...base, choices: [{ index: ch.index, delta, finish_reason: null, logprobs: null }] });
    chunks.push({ ...base, choices: [{ index: ch.index, delta: {}, finish_reason: ch.finish_reason, logprobs: null }] });
  }
  (chunks[chunks.length - 1] as Record<string, unknown>).usage = c.usage;
  return chunks;
}

/** OpenAI's error body. */
export type OpenAIErrorBody = { error: { message: string; type: string; param: string | null; code: string | null } };

export function openAIError(message: string, type: string, param: string | null = null, code: string | null = null): OpenAIErrorBody {
  return { error: { message, type, param, code } };
}

/** Issues -> a 400 body whose `param` names the first offending field. */
export function invalidRequest(issues: ErrorIssue[]): OpenAIErrorBody {
  const message = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  return openAIError(message, 'invalid_request_error', issues[0]?.path ?? null, 'invalid_value');
}
