import type { ToolCall } from '../toolcall.ts';
import { exactToToolCall } from './convert.ts';
import { ParseFail, toParseError, type ParseErrorInfo } from './errors.ts';
import { parseJsonExact, readJsonExactAt } from './json-exact.ts';
import { decodePythonCalls } from './python-calls.ts';
import { PyDict, type PyVal, pyType } from './pyvalue.ts';

/**
 * Model output -> tool calls, for every format the field uses. No function here throws:
 * malformed input is `{ok: false, error: {message, pos}}` with `pos` a character offset.
 */
export type ParseResult = { ok: true; calls: ToolCall[]; content: string } | { ok: false; error: ParseErrorInfo };

export type ToolCallFormat = 'hermes' | 'openai' | 'python' | 'json';

const THINK_OPEN = '<think>';
const THINK_CLOSE = '</think>';
const CALL_OPEN = '<tool_call>';
const CALL_CLOSE = '</tool_call>';

function failed(err: unknown, pos = 0): ParseResult {
  return { ok: false, error: toParseError(err, pos) };
}

/** The arguments object of a call: a PyDict with string keys -> JSON (+ integral-float pointers). */
function callFromParts(name: PyVal | undefined, args: PyVal | undefined, pos: number, what: string, id?: string): ToolCall {
  if (typeof name !== 'string' || name.length === 0) {
    throw new ParseFail(`${what}: "name" must be a non-empty string at ${pos}`, pos);
  }
  if (!(args instanceof PyDict)) {
    throw new ParseFail(
      `${what}: "arguments" must be a JSON object${args === undefined ? ' (missing)' : `, got ${pyType(args)}`} at ${pos}`,
      pos,
    );
  }
  return exactToToolCall({ name, args }, pos, id);
}

/**
 * Hermes / Qwen: `<tool_call>{"name": ..., "arguments": {...}}</tool_call>`, one block per call.
 * Text inside `<think>...</think>` is ignored (a leading `</think>` without its opening tag
 * closes a thought the prompt opened). Anything else is content.
 */
export function parseHermes(text: string): ParseResult {
  try {
    const calls: ToolCall[] = [];
    let content = '';
    let i = 0;
    let sawTag = false;
    const n = text.length;
    while (i < n) {
      const lt = text.indexOf('<', i);
      if (lt < 0) {
        content += text.slice(i);
        break;
      }
      if (text.startsWith(THINK_OPEN, lt)) {
        content += text.slice(i, lt);
        const close = text.indexOf(THINK_CLOSE, lt + THINK_OPEN.length);
        if (close < 0) throw new ParseFail(`unterminated <think> at ${lt}`, lt);
        i = close + THINK_CLOSE.length;
        sawTag = true;
      } else if (text.startsWith(THINK_CLOSE, lt)) {
        if (sawTag) throw new ParseFail(`</think> without <think> at ${lt}`, lt);
        // The prompt opened the thought: everything so far was thinking.
        content = '';
        i = lt + THINK_CLOSE.length;
        sawTag = true;
      } else if (text.startsWith(CALL_OPEN, lt)) {
        content += text.slice(i, lt);
        sawTag = true;
        const at = lt + CALL_OPEN.length;
        let j = skipWs(text, at);
        if (j >= n) throw new ParseFail(`unterminated <tool_call> at ${lt}`, lt);
        if (text.startsWith(CALL_CLOSE, j)) throw new ParseFail(`empty <tool_call> block at ${lt}`, lt);
        if (text.charCodeAt(j) !== 123) throw new ParseFail(`expected a JSON object after <tool_call> at ${j}`, j);
        const { value, end } = readJsonExactAt(text, j);
        j = skipWs(text, end);
        if (!text.startsWith(CALL_CLOSE, j)) {
          if (j >= n) throw new ParseFail(`unterminated <tool_call> at ${lt}`, lt);
          throw new ParseFail(`expected </tool_call> after the call's JSON at ${j}`, j);
        }
        calls.push(hermesCall(value, at));
        i = j + CALL_CLOSE.length;
      } else if (text.startsWith(CALL_CLOSE, lt)) {
        throw new ParseFail(`</tool_call> without <tool_call> at ${lt}`, lt);
      } else {
        content += text.slice(i, lt + 1);
        i = lt + 1;
      }
    }
    return { ok: true, calls, content: content.trim() };
  } catch (err) {
    return failed(err);
  }
}

function skipWs(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 10 || c === 13 || c === 9) i++;
    else return i;
  }
}

function hermesCall(v: PyVal, pos: number): ToolCall {
  if (!(v instanceof PyDict)) throw new ParseFail(`<tool_call> must hold a JSON object at ${pos}`, pos);
  for (const k of v.keys) {
    if (k !== 'name' && k !== 'arguments') {
      throw new ParseFail(`<tool_call>: unexpected key ${JSON.stringify(k)} (expected "name" and "arguments") at ${pos}`, pos);
    }
  }
  return callFromParts(v.get('name'), v.get('arguments'), pos, '<tool_call>');
}

/** Does the visible text (outside <think>) contain a tool-call tag? Used by the reward. */
export function hasToolCallTag(text: string): boolean {
  let i = 0;
  for (;;) {
    const lt = text.indexOf('<', i);
    if (lt < 0) return false;
    if (text.startsWith(THINK_OPEN, lt)) {
      const close = text.indexOf(THINK_CLOSE, lt);
      if (close < 0) return false;
      i = close + THINK_CLOSE.length;
    } else if (text.startsWith(CALL_OPEN, lt) || text.startsWith(CALL_CLOSE, lt)) return true;
    else i = lt + 1;
  }
}

// ---------------------------------------------------------------------------------------
// OpenAI tool_calls

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A PyVal tree (from the exact reader) as a plain JS value, keeping PyDicts for arguments. */
function pyToPlain(v: PyVal): unknown {
  if (v instanceof PyDict) {
    const o: Record<string, unknown> = {};
    v.keys.forEach((k, i) => {
      o[String(k)] = pyToPlainKeepArgs(String(k), v.vals[i]);
    });
    return o;
  }
  if (Array.isArray(v)) return v.map(pyToPlain);
  return v;
}
function pyToPlainKeepArgs(key: string, v: PyVal): unknown {
  // `arguments` keeps its exact form so that integral floats are not lost.
  return key === 'arguments' && v instanceof PyDict ? v : pyToPlain(v);
}

function plainToPy(v: unknown, pos: number): PyVal {
  if (v instanceof PyDict) return v;
  if (v === null || typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') return v;
  if (Array.isArray(v)) return v.map((x) => plainToPy(x, pos));
  if (isRecord(v)) {
    const d = new PyDict();
    for (const k of Object.keys(v)) d.set(k, plainToPy(v[k], pos));
    return d;
  }
  throw new ParseFail(`unsupported value in arguments at ${pos}`, pos);
}

/**
 * OpenAI `tool_calls`: an array of `{id, type: "function", function: {name, arguments}}`
 * where `arguments` is a JSON string (an object is accepted too; an empty string means {}),
 * or an assistant message `{content, tool_calls}`, or the JSON text of either.
 */
export function parseOpenAIToolCalls(input: unknown): ParseResult {
  try {
    let v: unknown = input;
    if (typeof input === 'string') {
      const start = skipWs(input, 0);
      if (start >= input.length) throw new ParseFail('empty input', 0);
      v = pyToPlain(parseJsonExact(input));
    }
    let content = '';
    let list: unknown = v;
    if (isRecord(v) && ('tool_calls' in v || 'content' in v || 'role' in v)) {
      if (typeof v.content === 'string') content = v.content;
      else if (v.content !== undefined && v.content !== null) throw new ParseFail('message "content" must be a string or null at 0', 0);
      list = v.tool_calls ?? [];
    } else if (isRecord(v) && 'function' in v) list = [v];
    if (!Array.isArray(list)) throw new ParseFail('"tool_calls" must be an array at 0', 0);
    const calls = list.map((tc, i) => openAICall(tc, i));
    return { ok: true, calls, content: content.trim() };
  } catch (err) {
    return failed(err);
  }
}

function openAICall(tc: unknown, i: number): ToolCall {
  const what = `tool_calls[${i}]`;
  if (!isRecord(tc)) throw new ParseFail(`${what} must be an object at 0`, 0);
  if (tc.type !== undefined && tc.type !== 'function') throw new ParseFail(`${what}.type must be "function" at 0`, 0);
  const fn = tc.function;
  if (!isRecord(fn)) throw new ParseFail(`${what}.function must be an object at 0`, 0);
  const id = typeof tc.id === 'string' ? tc.id : undefined;
  let args: PyVal | undefined;
  const raw = fn.arguments;
  if (typeof raw === 'string') {
    if (raw.trim() === '') args = new PyDict();
    else {
      try {
        args = parseJsonExact(raw);
      } catch (err) {
        const e = toParseError(err);
        throw new ParseFail(`${what}.function.arguments is not valid JSON: ${e.message}`, e.pos);
      }
    }
  } else if (raw === undefined) args = undefined;
  else args = plainToPy(raw, 0);
  return callFromParts(fn.name as PyVal, args, 0, `${what}.function`, id);
}

// ---------------------------------------------------------------------------------------
// Python-call syntax and plain JSON

/** BFCL's Python-call syntax `[f(a=1, b='x'), mod.g(c=[1, 2])]`, decoded as BFCL v3 does. */
export function parsePythonCalls(text: string): ParseResult {
  try {
    const exact = decodePythonCalls(text);
    return { ok: true, calls: exact.map((c) => exactToToolCall(c)), content: '' };
  } catch (err) {
    return failed(err);
  }
}

/**
 * Plain JSON: one call `{"name": ..., "arguments": {...}}` or an array of them
 * (`parameters` is accepted for `arguments`, and arguments may be a JSON string).
 */
export function parseJsonCalls(text: string): ParseResult {
  try {
    const v = parseJsonExact(text);
    const items = Array.isArray(v) ? v : [v];
    const calls = items.map((item, i) => {
      const what = Array.isArray(v) ? `[${i}]` : 'call';
      if (!(item instanceof PyDict)) throw new ParseFail(`${what} must be an object with "name" and "arguments" at 0`, 0);
      const hasArgs = item.has('arguments');
      let args = hasArgs ? item.get('arguments') : item.get('parameters');
      if (typeof args === 'string') {
        try {
          args = args.trim() === '' ? new PyDict() : parseJsonExact(args);
        } catch (err) {
          throw new ParseFail(`${what}.arguments is not valid JSON: ${toParseError(err).message}`, 0);
        }
      }
      const id = item.get('id');
      return callFromParts(item.get('name'), args, 0, what, typeof id === 'string' ? id : undefined);
    });
    return { ok: true, calls, content: '' };
  } catch (err) {
    return failed(err);
  }
}

/** Guesses the format when none is given: tags -> hermes, JSON -> openai/json, call syntax -> python. */
export function detectFormat(text: string): ToolCallFormat {
  if (text.includes(CALL_OPEN) || text.includes('</think>') || text.includes(THINK_OPEN)) return 'hermes';
  const t = text.trim();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      const v = parseJsonExact(t);
      const first = Array.isArray(v) ? v[0] : v;
      if (first instanceof PyDict && (first.has('function') || first.has('tool_calls'))) return 'openai';
      return 'json';
    } catch {
      return 'python';
    }
  }
  if (/^[A-Za-z_][\w.]*\s*\(/.test(t)) return 'python';
  return 'hermes';
}

export function parseToolCalls(text: string, format?: ToolCallFormat): ParseResult {
  switch (format ?? detectFormat(text)) {
    case 'hermes':
      return parseHermes(text);
    case 'openai':
      return parseOpenAIToolCalls(text);
    case 'python':
      return parsePythonCalls(text);
    case 'json':
      return parseJsonCalls(text);
  }
}
