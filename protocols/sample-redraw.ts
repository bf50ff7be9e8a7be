import type { JsonValue } from './json.ts';
import type { ChatMessage } from './messages.ts';
import type { Rng } from './rng.ts';
import type { Label, Sample } from './sample.ts';
import type { ToolCall } from './toolcall.ts';

/*
 * Re-drawing the values a sample copies (the nano base's pretraining, docs/loop.md, "Can
 * more pretraining teach the nano base to copy?"). A small model trained for many epochs
 * on one stream learns a few argument values by heart sooner than it learns to copy them
 * from the request: the loss falls either way. Giving every value the label takes from the
 * conversation a fresh draw each epoch, the same in the conversation and in the label,
 * leaves copying as the only way to lower the loss. Only values found verbatim in the
 * conversation are re-drawn: a value the request spells differently ("twenty-eight" -> 28,
 * "the 3rd of March" -> "2026-03-03") teaches a conversion, and stays as it is.
 */

/** Word values (no digit) seen under each argument name in a stream: what a word value is re-drawn from. */
export type WordPool = ReadonlyMap<string, readonly string[]>;

const WORD_VALUE = /^[\p{L}][\p{L} '.&-]*$/u;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The word values of every argument name in these samples' call labels, each listed once. */
export function wordPool(samples: readonly Pick<Sample, 'label'>[]): WordPool {
  const pool = new Map<string, Set<string>>();
  for (const s of samples) {
    for (const [key, value] of labelLeaves(s.label)) {
      if (typeof value !== 'string' || !WORD_VALUE.test(value)) continue;
      let set = pool.get(key);
      if (!set) pool.set(key, (set = new Set()));
      set.add(value);
    }
  }
  return new Map([...pool].map(([k, set]) => [k, [...set].sort()]));
}

/**
 * The sample with every label value that its conversation holds verbatim replaced by a
 * fresh one of the same shape: digits by random digits (an ISO date by another valid
 * date), a word value by another value of the same argument (another option of its
 * enum when the tool has one, else another value the pool holds under that name).
 * Replacement is consistent: every occurrence in the messages, earlier tool calls and
 * the label changes together. Tools, kind and skills are untouched.
 */
export function redrawCopiedValues<S extends Pick<Sample, 'tools' | 'context' | 'label'>>(s: S, r: Rng, pool: WordPool): S {
  const text = s.context.map(messageText).join('\n');
  const swaps = new Map<string, string>();
  for (const [key, value, tool] of labelLeaves(s.label)) {
    const old = typeof value === 'number' && Number.isInteger(value) && value >= 0 ? String(value) : typeof value === 'string' ? value : null;
    if (old === null || old.length === 0 || swaps.has(old) || !occursIn(text, old)) continue;
    const fresh = redrawValue(old, key, r, pool, enumOptions(s.tools, tool, key));
    if (fresh !== null && fresh !== old) swaps.set(old, fresh);
  }
  if (swaps.size === 0) return s;
  const swap = replacer(swaps);
  return { ...s, context: s.context.map((m) => swapMessage(m, swap)), label: swapLabel(s.label, swap) };
}

function redrawValue(old: string, key: string, r: Rng, pool: WordPool, options: readonly string[] | null): string | null {
  if (options) return options.length > 1 ? r.pick(options.filter((o) => o !== old)) : null;
  const date = ISO_DATE.exec(old);
  if (date) {
    const d = new Date(Date.UTC(Number(date[1]), 0, 1) + r.int(0, 364) * 86_400_000);
    return d.toISOString().slice(0, 10);
  }
  if (/\d/.test(old)) return old.replace(/\d+/g, (run) => randomDigits(run, r));
  if (!WORD_VALUE.test(old)) return null;
  const others = (pool.get(key) ?? []).filter((v) => v !== old);
  return others.length > 0 ? r.pick(others) : null;
}

/** Random digits of the same count; a run that did not start with 0 does not start with 0 now. */
function randomDigits(run: string, r: Rng): string {
  let out = '';
  for (let i = 0; i < run.length; i++) out += String(i === 0 && run[0] !== '0' && run.length > 1 ? r.int(1, 9) : r.int(0, 9));
  return out;
}

function enumOptions(tools: Sample['tools'], tool: string, key: string): string[] | null {
  const e = tools.find((t) => t.name === tool)?.parameters.properties[key]?.enum;
  return e ? e.filter((o): o is string => typeof o === 'string') : null;
}

/** [argument name, value, tool name] of every leaf of a call label's arguments (array items keep their argument's name). */
function labelLeaves(label: Label): [string, JsonValue, string][] {
  if (label.type !== 'calls') return [];
  const out: [string, JsonValue, string][] = [];
  const walk = (key: string, v: JsonValue, tool: string): void => {
    if (Array.isArray(v)) for (const x of v) walk(key, x, tool);
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(k, x, tool);
    else out.push([key, v, tool]);
  };
  for (const c of label.calls) for (const [k, v] of Object.entries(c.arguments)) walk(k, v, c.name);
  return out;
}

function messageText(m: ChatMessage): string {
  const calls = m.role === 'assistant' ? m.tool_calls.map((c) => JSON.stringify(c.arguments)) : [];
  return [m.content, ...calls].join('\n');
}

const bounded = (escaped: string): string => `(?<![\\p{L}\\p{N}])(?:${escaped})(?![\\p{L}\\p{N}])`;
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether `value` stands alone in `text` (not inside a longer word or number). */
function occursIn(text: string, value: string): boolean {
  return new RegExp(bounded(escape(value)), 'u').test(text);
}

/** One pass over a string, longest old value first, so a replacement is never replaced again. */
function replacer(swaps: ReadonlyMap<string, string>): (s: string) => string {
  const olds = [...swaps.keys()].sort((a, b) => b.length - a.length);
  const re = new RegExp(bounded(olds.map(escape).join('|')), 'gu');
  return (s) => s.replace(re, (m) => swaps.get(m) ?? m);
}

function swapJson(v: JsonValue, swap: (s: string) => string): JsonValue {
  if (typeof v === 'string') return swap(v);
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? numberSwap(v, swap) : v;
  if (Array.isArray(v)) return v.map((x) => swapJson(x, swap));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, swapJson(x, swap)]));
  return v;
}

/** An integer swapped as its decimal text is: a value the request spelled in digits. */
function numberSwap(n: number, swap: (s: string) => string): number {
  const s = swap(String(n));
  return /^\d+$/.test(s) ? Number(s) : n;
}

function swapCalls(calls: readonly ToolCall[], swap: (s: string) => string): ToolCall[] {
  return calls.map((c) => ({ ...c, arguments: swapJson(c.arguments, swap) as ToolCall['arguments'] }));
}

function swapMessage(m: ChatMessage, swap: (s: string) => string): ChatMessage {
  if (m.role === 'assistant') return { ...m, content: swap(m.content), tool_calls: swapCalls(m.tool_calls, swap) };
  return { ...m, content: swap(m.content) };
}

function swapLabel(label: Label, swap: (s: string) => string): Label {
  return label.type === 'calls' ? { ...label, calls: swapCalls(label.calls, swap) } : { ...label, text: swap(label.text) };
}
