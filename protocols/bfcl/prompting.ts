import { z } from 'zod';
import { type ImportIssue, convertSchema, isObj } from '../toolspec-import.ts';
import type { OpenAITool } from '../toolspec.ts';
import { argumentsJson, formatPythonCalls, parseHermes, parseOpenAIToolCalls } from '../toolcalls/index.ts';
import type { CheckMode } from './checker.ts';
import type { BfclFunctionDoc, BfclQuestion, QuestionMessage } from './questions.ts';

/**
 * What `eval bfcl run` sends a model for one BFCL question and how the model's raw output
 * becomes a BFCL result value. Pure.
 *
 * fc mode: the docs go as OpenAI `tools` (names with "." written "_", as BFCL's FC handlers
 * do, so the checker's FC name rule applies), the answer is `[{name: "<arguments JSON>"}]`.
 * prompt mode: a system prompt lists the docs and asks for BFCL's Python-call syntax; the
 * answer is the text, decoded later by the checker exactly as the leaderboard decodes it.
 */

/** A model's raw reply: the text and any native tool calls (arguments as the model wrote them). */
export const RawAnswer = z.object({
  content: z.string(),
  toolCalls: z.array(z.object({ name: z.string(), arguments: z.string() })),
});
export type RawAnswer = z.infer<typeof RawAnswer>;

/** BFCL's FC handlers rename `math.factorial` to `math_factorial`: OpenAI names cannot hold dots. */
export function fcToolName(name: string): string {
  return name.replaceAll('.', '_');
}

/** BFCL function docs as OpenAI tools; what the conversion changed is reported, not fatal. */
export function bfclTools(functions: BfclFunctionDoc[]): { tools: OpenAITool[]; issues: ImportIssue[] } {
  const issues: ImportIssue[] = [];
  const tools = functions.map((f, i): OpenAITool => {
    const params = convertSchema({ ...(isObj(f.parameters) ? f.parameters : {}), type: 'object' }, `function.${i}.parameters`, issues);
    return {
      type: 'function',
      function: {
        name: fcToolName(f.name),
        description: f.description ?? '',
        parameters: { type: 'object', properties: params.properties ?? {}, required: params.required ?? [] },
      },
    };
  });
  return { tools, issues };
}

/**
 * The prompt-mode instructions (our wording). Like BFCL's prompt-mode handlers it asks for
 * one bracketed list of keyword calls and nothing else, and lists the docs as given.
 */
export function promptModeSystem(functions: BfclFunctionDoc[]): string {
  return [
    'You are an expert at calling functions. You get a question and a set of functions.',
    'Decide which of the functions to call, and with which arguments, to answer the question.',
    'If you call functions, your whole reply is the calls in Python syntax inside one pair of square brackets, for example',
    '[func_a(param1=value1, param2=value2), func_b(param=value)]',
    'Use keyword arguments only, and Python literals for the values (quoted strings, numbers, True/False/None, lists, dicts).',
    'Write no other text when you call functions.',
    'If none of the functions fits the question, or the question lacks arguments that a function requires, say so in plain words and call nothing.',
    '',
    'The functions (JSON):',
    JSON.stringify(functions, null, 1),
  ].join('\n');
}

/**
 * The chat messages of one question. prompt mode puts the instructions first: into the
 * question's own system message when it starts with one (so there is one system turn), else
 * as a new system message.
 */
export function bfclMessages(q: BfclQuestion, mode: CheckMode): QuestionMessage[] {
  if (mode === 'fc') return q.messages;
  const system = promptModeSystem(q.functions);
  const [first, ...rest] = q.messages;
  if (first?.role === 'system') return [{ role: 'system', content: `${system}\n\n${first.content}` }, ...rest];
  return [{ role: 'system', content: system }, ...q.messages];
}

type ResultValue = string | Record<string, string>[];

/**
 * The BFCL `result` of a raw reply. fc: native tool calls as `{name: arguments}` (the
 * arguments string kept as written, so 4.0 stays a float); without them, Hermes
 * `<tool_call>` blocks in the text (how Qwen-style models and our policy write calls); else
 * the text, which the checker reads as "no call". prompt: the text (native calls, from a
 * server that parsed the text itself, are written back as Python calls).
 */
export function resultFromAnswer(mode: CheckMode, raw: RawAnswer): ResultValue {
  if (mode === 'prompt') {
    if (raw.content.trim() === '' && raw.toolCalls.length) {
      const r = parseOpenAIToolCalls(raw.toolCalls.map((c) => ({ type: 'function', function: c })));
      return r.ok ? formatPythonCalls(r.calls) : raw.content;
    }
    return raw.content;
  }
  if (raw.toolCalls.length) return raw.toolCalls.map((c) => ({ [c.name]: c.arguments.trim() === '' ? '{}' : c.arguments }));
  const h = parseHermes(raw.content);
  if (h.ok && h.calls.length) return h.calls.map((c) => ({ [c.name]: argumentsJson(c) }));
  return raw.content;
}

/** One line of a BFCL result file (without its newline). */
export function resultLine(id: string, result: ResultValue): string {
  return JSON.stringify({ id, result });
}
