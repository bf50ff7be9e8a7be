import type { JsonValue } from '../json.ts';
import type { ToolCall } from '../toolcall.ts';
import { ParseFail } from './errors.ts';
import type { ExactCall } from './python-calls.ts';
import { PyDict, PyFloat, PyTuple, type PyVal, pyFloatRepr, pyType } from './pyvalue.ts';

/**
 * Between exact Python values (PyVal) and the plain JSON a ToolCall carries.
 * The int/float identity survives through ToolCall.floats (see protocols/toolcall.ts).
 */

export function pointerSegment(key: string | number): string {
  return typeof key === 'number' ? String(key) : key.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** Sets a property even when the key is "__proto__". */
export function setOwn(obj: Record<string, JsonValue>, key: string, value: JsonValue): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** A dict key as json.dumps writes it (str stays, numbers/bools/None become text). */
function jsonKey(k: PyVal, pos: number): string {
  switch (typeof k) {
    case 'string':
      return k;
    case 'number':
    case 'bigint':
      return String(k);
    case 'boolean':
      return k ? 'true' : 'false';
  }
  if (k === null) return 'null';
  if (k instanceof PyFloat) return pyFloatRepr(k.v).replace('inf', 'Infinity').replace('nan', 'NaN');
  throw new ParseFail(`a ${pyType(k)} dict key cannot be a JSON object key at ${pos}`, pos);
}

/**
 * PyVal -> JSON; integral floats are recorded in `floats` (pointer paths).
 * Throws ParseFail for what JSON cannot carry (NaN, Infinity, huge ints, bytes, sets, complex).
 */
export function pyToJson(v: PyVal, path: string, floats: string[], pos = 0): JsonValue {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return v;
    case 'bigint':
      throw new ParseFail(`integer ${v} is too large for an exact JSON number at ${pos}`, pos);
  }
  if (v === null) return null;
  if (v instanceof PyFloat) {
    if (!Number.isFinite(v.v)) throw new ParseFail(`${pyFloatRepr(v.v)} cannot be written as JSON at ${pos}`, pos);
    if (Number.isInteger(v.v)) floats.push(path);
    return v.v === 0 ? 0 : v.v;
  }
  if (Array.isArray(v) || v instanceof PyTuple) {
    const items = Array.isArray(v) ? v : v.items;
    return items.map((x, i) => pyToJson(x, `${path}/${i}`, floats, pos));
  }
  if (v instanceof PyDict) {
    const out: Record<string, JsonValue> = {};
    for (let i = 0; i < v.keys.length; i++) {
      const key = jsonKey(v.keys[i], pos);
      setOwn(out, key, pyToJson(v.vals[i], `${path}/${pointerSegment(key)}`, floats, pos));
    }
    return out;
  }
  throw new ParseFail(`a ${pyType(v)} value cannot be written as JSON at ${pos}`, pos);
}

export function exactToToolCall(c: ExactCall, pos = 0, id?: string): ToolCall {
  const floats: string[] = [];
  const args: Record<string, JsonValue> = {};
  for (let i = 0; i < c.args.keys.length; i++) {
    const k = c.args.keys[i];
    if (typeof k !== 'string') {
      throw new ParseFail(
        k === null ? `"**" arguments are not named arguments at ${pos}` : `argument name must be a string, got ${pyType(k)} at ${pos}`,
        pos,
      );
    }
    setOwn(args, k, pyToJson(c.args.vals[i], `/${pointerSegment(k)}`, floats, pos));
  }
  if (!c.name) throw new ParseFail(`call without a function name at ${pos}`, pos);
  const call: ToolCall = { name: c.name, arguments: args };
  if (id !== undefined) call.id = id;
  if (floats.length) call.floats = floats;
  return call;
}

/** JSON -> PyVal: integral numbers are ints unless their pointer is in `floats`. */
export function jsonToPy(v: JsonValue, path: string, floats: ReadonlySet<string> | undefined): PyVal {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return new PyFloat(v);
    if (floats && floats.has(path)) return new PyFloat(v);
    return Number.isSafeInteger(v) ? v : BigInt(v);
  }
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x, i) => jsonToPy(x, `${path}/${i}`, floats));
  const d = new PyDict();
  for (const k of Object.keys(v)) d.set(k, jsonToPy(v[k], `${path}/${pointerSegment(k)}`, floats));
  return d;
}

export function toolCallToExact(c: ToolCall): ExactCall {
  const floats = c.floats && c.floats.length ? new Set(c.floats) : undefined;
  const args = new PyDict();
  for (const k of Object.keys(c.arguments)) args.set(k, jsonToPy(c.arguments[k], `/${pointerSegment(k)}`, floats));
  return { name: c.name, args };
}

/**
 * Compact JSON text of a value, writing the numbers at `floats` pointers as floats (`4.0`).
 * Key order is the object's own order; non-ASCII text stays as is.
 */
export function stringifyJson(v: JsonValue, floats?: ReadonlySet<string>, path = ''): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number': {
      if (!Number.isFinite(v)) throw new Error(`cannot write ${v} as JSON`);
      const s = String(v);
      if (floats && Number.isInteger(v) && floats.has(path) && !s.includes('e')) return s + '.0';
      return s;
    }
    case 'boolean':
      return v ? 'true' : 'false';
  }
  if (v === null) return 'null';
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) out += (i ? ',' : '') + stringifyJson(v[i], floats, floats ? `${path}/${i}` : '');
    return out + ']';
  }
  let out = '{';
  let first = true;
  for (const k of Object.keys(v)) {
    const x = v[k];
    if (x === undefined) continue;
    out += (first ? '' : ',') + JSON.stringify(k) + ':' + stringifyJson(x, floats, floats ? `${path}/${pointerSegment(k)}` : '');
    first = false;
  }
  return out + '}';
}

export function argumentsJson(call: ToolCall): string {
  return stringifyJson(call.arguments, call.floats && call.floats.length ? new Set(call.floats) : undefined);
}
