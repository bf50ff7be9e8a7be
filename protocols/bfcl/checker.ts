import { toParseError } from '../toolcalls/errors.ts';
import { parseJsonExact } from '../toolcalls/json-exact.ts';
import { decodePythonCalls } from '../toolcalls/python-calls.ts';
import { PyDict, PyFloat, PyTuple, type PyTypeName, type PyVal, pyIn, pyEq, pyRepr, pyType } from '../toolcalls/pyvalue.ts';
import { checkKind } from './categories.ts';
import type { BfclEntry, FuncDoc, GtCall } from './dataset.ts';

/**
 * The BFCL v3 AST checker with the leaderboard's exact semantics (shared/bfcl/v3/README.md
 * §2-§3, Python only): decoding, the format gate, simple / multiple / parallel (greedy)
 * checking, type rules (int -> float at the top level only, bool is not int), string
 * normalisation, optional parameters through "", list and dict rules, irrelevance and
 * relevance. Verdicts carry the leaderboard's error_type strings. Where the official checker
 * would crash (a malformed doc or answer), the verdict is invalid with error_type
 * "looptool:checker_exception" instead.
 */

export type CheckMode = 'prompt' | 'fc';

export type Verdict = { valid: boolean; error_type: string | null; error?: string };

/** A decoded call: function name and argument dict (keys may be None for `**x`). */
export type DecodedCall = { name: string; args: PyVal };

const VALID: Verdict = Object.freeze({ valid: true, error_type: null }) as Verdict;

function invalid(error_type: string, error: string): Verdict {
  return { valid: false, error_type, error };
}

/** Raised where the official checker raises (KeyError, AttributeError...): not a verdict of the model. */
class CheckerException extends Error {}

const PY_TYPE: Record<string, PyTypeName> = {
  string: 'str',
  integer: 'int',
  float: 'float',
  boolean: 'bool',
  array: 'list',
  tuple: 'list',
  dict: 'dict',
  any: 'str',
};

// ---------------------------------------------------------------------------------------
// Decoding

export type Decoded = { ok: true; calls: DecodedCall[] } | { ok: false; error_type: string; error: string };

/**
 * Decodes a result as the leaderboard's handlers do: prompting mode parses Python-call text;
 * FC mode reads `[{name: "<json arguments>"}, ...]` (an empty string or empty list is no call;
 * other text is a decode failure). Then the format gate: every call's arguments must be a dict.
 */
export function decodeResult(result: PyVal | undefined, mode: CheckMode): Decoded {
  let calls: DecodedCall[];
  if (mode === 'prompt') {
    if (typeof result !== 'string') {
      return { ok: false, error_type: 'ast_decoder:decoder_failed', error: `prompting-mode result must be a string, got ${result === undefined ? 'nothing' : pyType(result)}` };
    }
    try {
      calls = decodePythonCalls(result);
    } catch (err) {
      return { ok: false, error_type: 'ast_decoder:decoder_failed', error: `invalid syntax, failed to decode: ${toParseError(err).message}` };
    }
  } else {
    const d = decodeFc(result);
    if (typeof d === 'string') return { ok: false, error_type: 'ast_decoder:decoder_failed', error: d };
    calls = d;
  }
  for (const c of calls) {
    if (!(c.args instanceof PyDict)) {
      return { ok: false, error_type: 'ast_decoder:decoder_wrong_output_format', error: `the arguments of ${c.name} are not a dict (got ${pyType(c.args)})` };
    }
  }
  return { ok: true, calls };
}

function decodeFc(result: PyVal | undefined): DecodedCall[] | string {
  if (result === undefined) return 'no result';
  if (typeof result === 'string') return result.length === 0 ? [] : 'the result is text, not tool calls';
  if (result instanceof PyDict) return result.size === 0 ? [] : 'the result must be a list of {name: arguments}';
  if (!Array.isArray(result)) return `the result must be a list of {name: arguments}, got ${pyType(result)}`;
  const calls: DecodedCall[] = [];
  for (let i = 0; i < result.length; i++) {
    const item = result[i];
    if (!(item instanceof PyDict)) return `result[${i}] must be {name: "<json arguments>"}, got ${pyType(item)}`;
    if (item.size === 0) return `result[${i}] is empty`;
    const name = item.keys[0];
    const raw = item.vals[0];
    if (typeof raw !== 'string') return `result[${i}]: arguments must be a JSON string, got ${pyType(raw)}`;
    let args: PyVal;
    try {
      args = parseJsonExact(raw, { allowNonFinite: true });
    } catch (err) {
      return `result[${i}]: arguments are not valid JSON: ${toParseError(err).message}`;
    }
    calls.push({ name: String(name), args });
  }
  return calls;
}

// ---------------------------------------------------------------------------------------
// String normalisation

function needsStd(c: number): boolean {
  // space , . / - _ * ^ ' and upper-case ASCII
  return c === 32 || c === 44 || c === 46 || c === 47 || c === 45 || c === 95 || c === 42 || c === 94 || c === 39 || (c >= 65 && c <= 90);
}

/** Leaderboard's standardize_string: drop [ ,./-_*^] (ASCII space only), lower(), ' -> ". */
export function standardize(s: string): string {
  let i = 0;
  const n = s.length;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || needsStd(c)) break;
  }
  if (i === n) return s;
  let out = s.slice(0, i);
  let nonAscii = false;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 44 || c === 46 || c === 47 || c === 45 || c === 95 || c === 42 || c === 94) continue;
    if (c > 127) nonAscii = true;
    out += s[i];
  }
  // lower() first, then the quote swap (lower() never produces a quote)
  out = nonAscii ? out.toLowerCase() : asciiLower(out);
  return out.includes("'") ? out.replaceAll("'", '"') : out;
}

function asciiLower(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) return s.toLowerCase();
  }
  return s;
}

function stdItem(v: PyVal): PyVal {
  return typeof v === 'string' ? standardize(v) : v;
}

// ---------------------------------------------------------------------------------------
// type_checker

const T_VALID = 0;
const T_VALID_VAR = 1;
const T_SIMPLE = 2;
const T_NESTED = 3;

function firstNonEmptyType(alts: readonly PyVal[]): PyTypeName | null {
  for (let i = 0; i < alts.length; i++) if (alts[i] !== '') return pyType(alts[i]);
  return null;
}

function typeCheck(value: PyVal, alts: readonly PyVal[], expected: PyTypeName, nested: PyTypeName | null, paType: PyTypeName | null): number {
  const isVariable = paType !== null && paType !== expected;
  const vt = pyType(value);
  let nestedFailed = false;
  if (vt === expected) {
    if (nested === null) return isVariable ? T_VALID_VAR : T_VALID;
    const items = value as PyVal[];
    for (let a = 0; a < alts.length; a++) {
      const alt = alts[a];
      let flag = true;
      if (Array.isArray(alt)) {
        for (let i = 0; i < items.length; i++) {
          const r = typeCheck(items[i], alt, nested, null, firstNonEmptyType(alt));
          if (r >= T_SIMPLE) {
            flag = false;
            break;
          }
        }
      }
      if (flag) return isVariable ? T_VALID_VAR : T_VALID;
    }
    nestedFailed = true;
  }
  if (paType !== null && vt === paType) return nestedFailed ? T_NESTED : T_VALID_VAR;
  return T_SIMPLE;
}

// ---------------------------------------------------------------------------------------
// value checkers

function stringCheck(param: string, value: string, alts: readonly PyVal[]): Verdict {
  const sv = standardize(value);
  for (let i = 0; i < alts.length; i++) {
    const a = alts[i];
    if (typeof a === 'string' && standardize(a) === sv) return VALID;
  }
  return invalid('value_error:string', `invalid value for parameter ${pyRepr(param)}: ${pyRepr(value)}; expected one of ${pyRepr([...alts])} (case-insensitive, ignoring " ,./-_*^")`);
}

/** Elements of an alternative as Python's range(len(x)) / x[j] sees them. */
function altElements(alt: PyVal): readonly PyVal[] {
  if (Array.isArray(alt)) return alt;
  if (typeof alt === 'string') return [...alt];
  if (alt instanceof PyTuple) return alt.items;
  throw new CheckerException(`a list alternative of type ${pyType(alt)} cannot be compared element-wise`);
}

function listCheck(param: string, value: PyVal[], alts: readonly PyVal[]): Verdict {
  const sv = value.map(stdItem);
  for (let i = 0; i < alts.length; i++) {
    const sa = altElements(alts[i]).map(stdItem);
    if (pyEq(sv, sa)) return VALID;
  }
  return invalid('value_error:list/tuple', `invalid value for parameter ${pyRepr(param)}: ${pyRepr(value)}; expected one of ${pyRepr([...alts])}`);
}

function dictCheck(param: string, value: PyVal, alts: readonly PyVal[]): Verdict {
  let result: Verdict = invalid('dict_checker:unclear', `no alternative for dict parameter ${pyRepr(param)}`);
  if (!(value instanceof PyDict)) throw new CheckerException(`dict check on a ${pyType(value)}`);
  for (let a = 0; a < alts.length; a++) {
    const alt = alts[a];
    if (alt === '') continue;
    if (!(alt instanceof PyDict)) throw new CheckerException(`dict alternative of type ${pyType(alt)} for ${param}`);
    result = invalid('dict_checker:unclear', `no alternative for dict parameter ${pyRepr(param)}`);
    let flag = true;
    for (let i = 0; i < value.keys.length; i++) {
      const key = value.keys[i];
      const j = alt.indexOf(key);
      if (j < 0) {
        result = invalid('value_error:dict_key', `unexpected dict key ${pyRepr(key)} in ${pyRepr(param)}`);
        flag = false;
        break;
      }
      const v = value.vals[i];
      const sv = stdItem(v);
      const expected = alt.vals[j];
      if (!Array.isArray(expected)) throw new CheckerException(`alternatives of ${pyRepr(key)} in ${param} are not a list`);
      const std = expected.map(stdItem);
      if (!pyIn(sv, std)) {
        result = invalid('value_error:dict_value', `invalid value for ${pyRepr(key)} in ${pyRepr(param)}: ${pyRepr(v)}; expected one of ${pyRepr(std)}`);
        flag = false;
        break;
      }
    }
    // The leaderboard runs this loop even after a failure above (and may overwrite its error).
    for (let j = 0; j < alt.keys.length; j++) {
      const key = alt.keys[j];
      const expected = alt.vals[j];
      if (!value.has(key)) {
        if (!Array.isArray(expected)) throw new CheckerException(`alternatives of ${pyRepr(key)} in ${param} are not a list`);
        if (!pyIn('', expected)) {
          result = invalid('value_error:dict_key', `missing dict key ${pyRepr(key)} in ${pyRepr(param)}`);
          flag = false;
          break;
        }
      }
    }
    if (flag) return VALID;
  }
  return result;
}

function pyLen(v: PyVal): number {
  if (Array.isArray(v) || typeof v === 'string') return v.length;
  if (v instanceof PyTuple) return v.items.length;
  if (v instanceof PyDict) return v.size;
  throw new CheckerException(`object of type '${pyType(v)}' has no len()`);
}

function listDictCheck(param: string, value: PyVal[], alts: readonly PyVal[]): Verdict {
  let result: Verdict = invalid('list_dict_checker:unclear', `no alternative for list-of-dict parameter ${pyRepr(param)}`);
  for (let a = 0; a < alts.length; a++) {
    const alt = alts[a];
    let flag = true;
    if (value.length !== pyLen(alt)) {
      result = invalid('value_error:list_dict_count', `wrong number of dicts in ${pyRepr(param)}: ${value.length}`);
      continue;
    }
    const elems = altElements(alt);
    for (let i = 0; i < value.length; i++) {
      result = dictCheck(param, value[i], [elems[i]]);
      if (!result.valid) {
        flag = false;
        break;
      }
    }
    if (flag) return VALID;
  }
  return result;
}

// ---------------------------------------------------------------------------------------
// simple_function_checker

/**
 * What the checker needs per ground-truth parameter, worked out once per (expected call, doc)
 * pair: the doc's type word, the Python types, the first non-"" alternative's type, whether
 * "" is an alternative, and the normalised string alternatives. Problems the leaderboard
 * only meets when the model passes the parameter (unknown type, array without items) are
 * kept and raised at that point, as there.
 */
type ParamPlan = {
  documented: boolean;
  typeDesc: string;
  itemsType: string | undefined;
  expected: PyTypeName | undefined;
  nested: PyTypeName | null | undefined;
  alts: readonly PyVal[];
  paType: PyTypeName | null;
  optional: boolean;
  stdStrings: Set<string> | undefined;
  rawStrings: Set<string> | undefined;
};

type CallPlan = { doc: FuncDoc; fcName: string; params: Map<string, ParamPlan>; expectedOrder: [string, ParamPlan][] };

function planFor(gt: GtCall, doc: FuncDoc): CallPlan {
  // Cached on the expected call; its doc is always the same one (found by name or docs[0]).
  const cached = gt.plan as CallPlan | undefined;
  if (cached && cached.doc === doc) return cached;
  const params = new Map<string, ParamPlan>();
  for (const [name, alts] of gt.params) {
    const pd = doc.props.get(name);
    const typeDesc = pd?.type ?? '';
    const expected = PY_TYPE[typeDesc];
    let nested: PyTypeName | null | undefined = null;
    if (typeDesc === 'array' || typeDesc === 'tuple') nested = pd?.itemsType === undefined ? undefined : PY_TYPE[pd.itemsType];
    params.set(name, {
      documented: pd !== undefined,
      typeDesc,
      itemsType: pd?.itemsType,
      expected,
      nested,
      alts,
      paType: firstNonEmptyType(alts),
      optional: pyIn('', alts),
      stdStrings: undefined,
      rawStrings: undefined,
    });
  }
  // "." becomes "_" for FC models (the leaderboard's underscore_to_dot).
  const fcName = doc.name.includes('.') ? doc.name.replaceAll('.', '_') : doc.name;
  const plan: CallPlan = { doc, fcName, params, expectedOrder: [...params] };
  gt.plan = plan;
  return plan;
}

function stringCheckPlanned(param: string, value: string, pp: ParamPlan): Verdict {
  if (!pp.stdStrings) {
    pp.stdStrings = new Set();
    pp.rawStrings = new Set();
    for (const a of pp.alts) {
      if (typeof a === 'string') {
        pp.stdStrings.add(standardize(a));
        pp.rawStrings.add(a);
      }
    }
  }
  // An exact alternative normalises to itself: skip the normalisation then.
  if (pp.rawStrings!.has(value) || pp.stdStrings.has(standardize(value))) return VALID;
  return stringCheck(param, value, pp.alts);
}

function simpleCheck(doc: FuncDoc, call: DecodedCall, gt: GtCall, mode: CheckMode): Verdict {
  const plan = planFor(gt, doc);
  const fname = mode === 'fc' ? plan.fcName : doc.name;
  if (call.name !== fname) {
    return invalid('simple_function_checker:wrong_func_name', `function name ${pyRepr(fname)} not found in model output (got ${pyRepr(call.name)})`);
  }
  const params = call.args as PyDict;
  const required = doc.required;
  for (let i = 0; i < required.length; i++) {
    if (!params.has(required[i])) return invalid('simple_function_checker:missing_required', `missing required parameter: ${pyRepr(required[i])}`);
  }
  for (let i = 0; i < params.keys.length; i++) {
    const param = params.keys[i];
    let value = params.vals[i];
    const pp = typeof param === 'string' ? plan.params.get(param) : undefined;
    if (pp === undefined || !pp.documented) {
      return invalid('simple_function_checker:unexpected_param', `unexpected parameter: ${pyRepr(param)}`);
    }
    const typeDesc = pp.typeDesc;
    const expectedType = pp.expected;
    if (expectedType === undefined) throw new CheckerException(`unknown parameter type ${JSON.stringify(typeDesc)} in the function doc`);
    const nested = pp.nested;
    if (nested === undefined) {
      throw new CheckerException(
        pp.itemsType === undefined ? `array parameter ${param} has no "items" in the doc` : `unknown item type ${JSON.stringify(pp.itemsType)} in the function doc`,
      );
    }
    if (typeDesc === 'tuple' && value instanceof PyTuple) value = value.items.slice();
    // Python auto-conversion int -> float, top level only.
    if (typeDesc === 'float' && (typeof value === 'number' || typeof value === 'bigint')) value = new PyFloat(Number(value));
    const alts = pp.alts;
    const t = typeCheck(value, alts, expectedType, nested, pp.paType);
    if (t === T_SIMPLE) {
      return invalid('type_error:simple', `incorrect type for parameter ${pyRepr(param)}: expected ${typeDesc}, got ${pyType(value)} (${pyRepr(value)})`);
    }
    if (t === T_NESTED) {
      return invalid('type_error:nested', `nested type check failed for parameter ${pyRepr(param)}: expected ${typeDesc} of ${pp.itemsType}, got ${pyRepr(value)}`);
    }
    if (t === T_VALID) {
      let r: Verdict | null = null;
      if (expectedType === 'dict') r = dictCheck(param as string, value, alts);
      else if (expectedType === 'list' && nested === 'dict') r = listDictCheck(param as string, value as PyVal[], alts);
      else if (expectedType === 'str') r = stringCheckPlanned(param as string, value as string, pp);
      else if (expectedType === 'list') r = listCheck(param as string, value as PyVal[], alts);
      if (r) {
        if (!r.valid) return r;
        continue;
      }
    }
    if (!pyIn(value, alts)) {
      return invalid('value_error:others', `invalid value for parameter ${pyRepr(param)}: ${pyRepr(value)}; expected one of ${pyRepr([...alts])}`);
    }
  }
  const order = plan.expectedOrder;
  for (let i = 0; i < order.length; i++) {
    const [param, pp] = order[i];
    if (!pp.optional && !params.has(param)) {
      return invalid('simple_function_checker:missing_optional', `optional parameter ${pyRepr(param)} not provided and not marked as optional`);
    }
  }
  return VALID;
}

function findDoc(docs: FuncDoc[], name: string): FuncDoc {
  for (const d of docs) if (d.name === name) return d;
  throw new CheckerException(`no function doc named ${JSON.stringify(name)} (the ground truth names it)`);
}

/** The AST checker proper, on decoded calls (after the gate). */
export function astCheck(entry: BfclEntry, calls: DecodedCall[], mode: CheckMode): Verdict {
  const gt = entry.gt!;
  const kind = checkKind(entry.category);
  if (kind === 'parallel') {
    if (calls.length !== gt.length) {
      return invalid('parallel_function_checker_no_order:wrong_count', `wrong number of functions: ${calls.length}, expected ${gt.length}`);
    }
    const matched = new Uint8Array(calls.length);
    for (let i = 0; i < gt.length; i++) {
      const doc = findDoc(entry.docs, gt[i].name);
      let found = false;
      for (let j = 0; j < calls.length; j++) {
        if (matched[j]) continue;
        if (simpleCheck(doc, calls[j], gt[i], mode).valid) {
          matched[j] = 1;
          found = true;
          break;
        }
      }
      if (!found) {
        return invalid('parallel_function_checker_no_order:cannot_find_match', `no model call matches expected call ${i} (${gt[i].name})`);
      }
    }
    return VALID;
  }
  if (kind === 'multiple') {
    if (calls.length !== gt.length) {
      return invalid('multiple_function_checker:wrong_count', `wrong number of functions: ${calls.length}, expected ${gt.length}`);
    }
    return simpleCheck(findDoc(entry.docs, gt[0].name), calls[0], gt[0], mode);
  }
  if (calls.length !== 1) return invalid('simple_function_checker:wrong_count', `wrong number of functions: ${calls.length}, expected 1`);
  if (entry.docs.length === 0) throw new CheckerException('the entry has no function doc');
  return simpleCheck(entry.docs[0], calls[0], gt[0], mode);
}

/**
 * One entry, one raw result (the `result` field of a BFCL result line) -> the leaderboard's
 * verdict. Never throws.
 */
export function checkEntry(entry: BfclEntry, result: PyVal | undefined, mode: CheckMode): Verdict {
  if (entry.invalid) return invalid('looptool:invalid_entry', entry.invalid);
  const kind = checkKind(entry.category);
  try {
    const d = decodeResult(result, mode);
    if (kind === 'irrelevance' || kind === 'relevance') {
      const hasCall = d.ok && d.calls.length > 0;
      if (kind === 'irrelevance') {
        return hasCall ? invalid('irrelevance_error:decoder_success', 'valid syntax: decoded a function call when none was expected') : VALID;
      }
      return hasCall ? VALID : invalid('relevance_error:decoder_failed', `expected a function call${d.ok ? ', got none' : `: ${d.error}`}`);
    }
    if (!d.ok) return invalid(d.error_type, d.error);
    if (!entry.gt) return invalid('looptool:invalid_entry', `entry ${entry.id} has no ground truth`);
    return astCheck(entry, d.calls, mode);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return invalid('looptool:checker_exception', `the official checker would raise here: ${msg}`);
  }
}
