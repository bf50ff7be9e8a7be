import { z } from 'zod';

/** Any value JSON can carry. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Deeper than this is treated as a cycle: no JSON a role sends nests this far. */
const MAX_JSON_DEPTH = 512;

type NonJson = { path: (string | number)[]; found: string };

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Where `value` stops being JSON (the first place found), or null when all of it is JSON.
 * Paths are built only when `withPath` is set: the check every bus payload takes skips
 * them, and only an error message needs one.
 */
function findNonJson(value: unknown, withPath: boolean): NonJson | null {
  // Explicit stacks rather than recursion: no allocation per level, and a cycle ends at
  // MAX_JSON_DEPTH instead of overflowing the call stack.
  const values: unknown[] = [value];
  const depths: number[] = [0];
  const paths: (string | number)[][] = [[]];
  while (values.length > 0) {
    const v = values.pop();
    const d = depths.pop()!;
    const path = withPath ? paths.pop()! : undefined;
    let found: string;
    switch (typeof v) {
      case 'string':
      case 'boolean':
        continue;
      case 'number':
        if (Number.isFinite(v)) continue;
        found = String(v);
        break;
      case 'object':
        if (v === null) continue;
        if (d >= MAX_JSON_DEPTH) {
          found = `nesting deeper than ${MAX_JSON_DEPTH} levels (a cycle?)`;
          break;
        }
        if (Array.isArray(v)) {
          for (let i = 0; i < v.length; i++) {
            values.push(v[i]);
            depths.push(d + 1);
            if (path) paths.push([...path, i]);
          }
          continue;
        }
        if (!isPlainObject(v)) {
          found = `an instance of ${v.constructor?.name ?? 'a class'}`;
          break;
        }
        for (const k of Object.keys(v)) {
          values.push((v as Record<string, unknown>)[k]);
          depths.push(d + 1);
          if (path) paths.push([...path, k]);
        }
        continue;
      default:
        found = typeof v;
    }
    return { path: path ?? [], found };
  }
  return null;
}

function describeNonJson(value: unknown): string {
  const bad = findNonJson(value, true);
  if (!bad) return 'expected a JSON value';
  const shown = bad.path.length > 12 ? [...bad.path.slice(0, 12), '…'] : bad.path;
  const at = shown.length ? ` at ${shown.join('.')}` : '';
  return `expected a JSON value (string, number, boolean, null, array or plain object), found ${bad.found}${at}`;
}

/**
 * Any JSON value, checked in one walk and passed through as it is (no copy).
 *
 * A leaf to zod rather than a recursive union: zod keeps per-parse cycle bookkeeping for
 * recursive schemas and cannot compile them, and JSON values ride in most payloads on the
 * bus (tool-call arguments, trace data). The message names where inside the value it
 * stops being JSON.
 */
export const JsonValue: z.ZodType<JsonValue> = z.custom<JsonValue>((v) => findNonJson(v, false) === null, { error: (issue) => describeNonJson(issue.input) });

export const JsonObject = z.record(z.string(), JsonValue);
export type JsonObject = z.infer<typeof JsonObject>;

/**
 * A canonical text per value: sorted keys, typed leaves, no whitespace. Equal text <=> equal
 * value, so it serves as a key (ToolMatch, dedup, seeds). `4` and `4.0` are one number and
 * -0 is 0, as JSON has them. A member whose value is undefined is left out, as
 * JSON.stringify leaves it: values built in memory carry optional fields set to undefined
 * (a call's `id`), and they must key like the same value read back from JSON; undefined
 * anywhere else (an array item, the whole value) reads as null, as JSON.stringify writes it.
 */
export function canonicalJson(v: JsonValue | undefined): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return v === 0 ? '0' : String(v);
    case 'boolean':
      return v ? 'true' : 'false';
  }
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) out += (i ? ',' : '') + canonicalJson(v[i]);
    return out + ']';
  }
  const keys = Object.keys(v).sort();
  let out = '{';
  let first = true;
  for (let i = 0; i < keys.length; i++) {
    const x = v[keys[i]!];
    if (x === undefined) continue;
    out += (first ? '' : ',') + JSON.stringify(keys[i]) + ':' + canonicalJson(x);
    first = false;
  }
  return out + '}';
}

export type LeafDifference = { path: string; values: (string | undefined)[] };

/**
 * The dotted paths whose leaf values differ between objects, each value as canonical text
 * (undefined where an object lacks the path); arrays are leaves. An ignored path hides
 * everything under it. Says in what two run configurations differ without printing either whole.
 */
export function leafDifferences(objects: readonly JsonObject[], ignore: readonly string[] = []): LeafDifference[] {
  const leaves = objects.map((o) => leafMap(o));
  const hidden = (p: string) => ignore.some((i) => p === i || p.startsWith(`${i}.`));
  const paths = [...new Set(leaves.flatMap((m) => [...m.keys()]))].filter((p) => !hidden(p)).sort();
  return paths.map((path) => ({ path, values: leaves.map((m) => m.get(path)) })).filter((d) => new Set(d.values).size > 1);
}

function leafMap(v: JsonValue, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) if (x !== undefined) leafMap(x, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, canonicalJson(v));
  return out;
}
