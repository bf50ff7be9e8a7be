import type { z } from 'zod';
import { describeIssues, type ErrorIssue } from './errors.ts';

/**
 * Unknown keys in a config file are mistakes ("roundz", "frobnicate"): the config schemas
 * are strict, and this turns zod's `unrecognized_keys` issues into one issue per key, with
 * the full path and the nearest known key at that level ("did you mean …"), so a typo is
 * found without reading the schema.
 */

type Def = { type: string; shape?: Record<string, z.ZodType>; innerType?: z.ZodType; in?: z.ZodType; out?: z.ZodType; element?: z.ZodType; valueType?: z.ZodType; options?: z.ZodType[] };

const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The object schemas a value at `path` of `schema` may be (several through a union). */
function objectsAt(schema: z.ZodType, path: readonly PropertyKey[]): Def[] {
  const d = defOf(schema);
  switch (d.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'catch':
    case 'readonly':
    case 'nonoptional':
      return objectsAt(d.innerType!, path);
    case 'pipe':
      return [...objectsAt(d.in!, path), ...objectsAt(d.out!, path)];
    case 'union':
      return d.options!.flatMap((o) => objectsAt(o, path));
  }
  if (path.length === 0) return d.type === 'object' ? [d] : [];
  const [head, ...rest] = path;
  if (d.type === 'object') {
    const field = d.shape![String(head)];
    return field ? objectsAt(field, rest) : [];
  }
  if (d.type === 'array') return objectsAt(d.element!, rest);
  if (d.type === 'record') return objectsAt(d.valueType!, rest);
  return [];
}

/** The keys an object at `path` of `schema` knows (empty when the path leads to no object). */
export function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  return [...new Set(objectsAt(schema, path).flatMap((d) => Object.keys(d.shape ?? {})))];
}

/**
 * Edit distance with swapped neighbours as one edit ("modle" → "model"), case-insensitive
 * (a key differing only in case is a typo too).
 */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let before: number[] = [];
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) cur[j] = Math.min(cur[j]!, before[j - 2]! + 1);
    }
    [before, prev] = [prev, cur];
  }
  return prev[y.length]!;
}

/** The known key nearest to `word`, when it is near enough to be the one meant. */
export function nearestKey(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(word, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  // about a third of the word may be wrong: "roundz" → "rounds", "frobnicate" → nothing
  return best !== undefined && bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

/**
 * Zod issues of a config, rooted at `root`, with one issue per unknown key saying what
 * the key might have meant and which keys that level knows.
 */
export function describeConfigIssues(error: z.ZodError, schema: z.ZodType, root = 'config'): ErrorIssue[] {
  const out: ErrorIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code !== 'unrecognized_keys') {
      out.push(...describeIssues({ issues: [issue] } as z.ZodError, root));
      continue;
    }
    const known = knownKeys(schema, issue.path);
    for (const key of issue.keys) {
      const path = [root, ...issue.path.map(String), key].filter((p) => p !== '').join('.');
      const near = nearestKey(key, known);
      const message = near ? `unknown key, did you mean "${near}"?` : known.length ? `unknown key (known here: ${known.join(', ')})` : 'unknown key';
      out.push({ path, message });
    }
  }
  return out;
}
