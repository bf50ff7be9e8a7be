/**
 * Getting one JSON value out of what a chat model wrote: reasoning blocks, code
 * fences and prose around the JSON are all common, and none of them should cost a
 * repair turn.
 */

/** Drops `<think>…</think>` reasoning (and an unterminated leading one). */
export function stripThink(text: string): string {
  let out = text.replace(/<think>[\s\S]*?<\/think>/gi, '');
  // Some servers strip the opening tag and leave "...reasoning</think>answer".
  const close = out.toLowerCase().lastIndexOf('</think>');
  if (close >= 0) out = out.slice(close + '</think>'.length);
  // A reply cut off inside its reasoning has no answer at all.
  const open = out.toLowerCase().indexOf('<think>');
  if (open >= 0) out = out.slice(0, open);
  return out.trim();
}

export type Extracted = { ok: true; value: unknown } | { ok: false; reason: string };

/** End index (exclusive) of the balanced JSON object/array starting at `start`, or -1. */
function balancedEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i + 1;
      if (depth < 0) return -1;
    }
  }
  return -1;
}

function tryParse(s: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(s) };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

/**
 * Finds the JSON value in a model reply. Tries, in order: the whole reply, each
 * fenced block (```json … ```), then every balanced {…} or […] span from left to
 * right. `want` says which top-level shape is expected so that a stray array in
 * prose does not win over the object we asked for.
 */
export function extractJson(text: string, want: 'object' | 'array' | 'any' = 'any'): Extracted {
  const body = stripThink(text);
  if (body === '') return { ok: false, reason: 'the reply was empty (no JSON after removing <think> reasoning)' };
  const fits = (v: unknown) =>
    want === 'any' || (want === 'array' ? Array.isArray(v) : v !== null && typeof v === 'object' && !Array.isArray(v));

  const candidates: string[] = [body];
  for (const m of body.matchAll(/```[a-zA-Z0-9_-]*[ \t]*\r?\n?([\s\S]*?)```/g)) candidates.push(m[1]!.trim());
  // An unclosed fence (reply cut off or sloppy): take everything after it.
  const lastFence = body.lastIndexOf('```');
  if (lastFence >= 0 && (body.match(/```/g)?.length ?? 0) % 2 === 1)
    candidates.push(body.slice(lastFence + 3).replace(/^[a-zA-Z0-9_-]*\s*/, ''));

  let firstError = '';
  for (const c of candidates) {
    const r = tryParse(c);
    if (r.ok && fits(r.value)) return r;
    if (!r.ok && !firstError) firstError = r.error;
  }
  const openers = want === 'array' ? '[' : want === 'object' ? '{' : '{[';
  for (let i = 0; i < body.length; i++) {
    if (!openers.includes(body[i]!)) continue;
    const end = balancedEnd(body, i);
    if (end < 0) continue;
    const r = tryParse(body.slice(i, end));
    if (r.ok && fits(r.value)) return r;
    if (!r.ok && !firstError) firstError = r.error;
  }
  const shape = want === 'any' ? 'a JSON value' : `a JSON ${want}`;
  return { ok: false, reason: `the reply does not contain ${shape}${firstError ? ` (${firstError})` : ''}` };
}
