import { PyDict, PyFloat, PyTuple, type PyVal, pyFloatRepr, pyRepr } from '../toolcalls/pyvalue.ts';
import type { ExactCall } from '../toolcalls/python-calls.ts';
import { checkKind } from './categories.ts';
import type { CheckMode } from './checker.ts';
import type { BfclEntry, FuncDoc, GtCall } from './dataset.ts';

/**
 * Reference answers: what a perfect model would output for an entry, built from the first
 * alternative of every ground-truth parameter ("" first means: leave the parameter out, unless
 * the doc requires it: then the first other alternative, or "" itself when there is none; a
 * parameter missing from the doc is left out when "" allows it, since giving it always fails).
 * Dict parameters (and lists of dicts) are in the ground truth's nested form
 * {key: [alternatives]} and are rebuilt the same way. Simple categories take the function
 * name from the doc, as the checker does (simple_363's answer names it differently).
 */

function firstAlt(alts: readonly PyVal[]): PyVal | undefined {
  if (alts.length === 0) return undefined;
  return alts[0] === '' ? undefined : alts[0];
}

/** A required parameter cannot be left out: its first non-"" alternative, else "" itself. */
function firstRequiredAlt(alts: readonly PyVal[]): PyVal | undefined {
  for (const a of alts) if (a !== '') return a;
  return alts.length ? '' : undefined;
}

function nestedDict(alt: PyVal): PyVal {
  if (!(alt instanceof PyDict)) return alt;
  const d = new PyDict();
  alt.keys.forEach((k, i) => {
    const inner = alt.vals[i];
    const v = Array.isArray(inner) ? firstAlt(inner) : inner;
    if (v !== undefined) d.set(k, v);
  });
  return d;
}

function referenceValue(doc: FuncDoc | undefined, param: string, alt: PyVal): PyVal {
  const pd = doc?.props.get(param);
  if (pd?.type === 'dict') return nestedDict(alt);
  if ((pd?.type === 'array' || pd?.type === 'tuple') && pd.itemsType === 'dict' && Array.isArray(alt)) return alt.map(nestedDict);
  return alt;
}

function referenceCall(entry: BfclEntry, gt: GtCall): ExactCall {
  const simple = checkKind(entry.category) === 'simple';
  const doc = simple ? entry.docs[0] : entry.docs.find((d) => d.name === gt.name);
  const args = new PyDict();
  for (const [param, alts] of gt.params) {
    // A parameter the doc does not document can only be rejected: leave it out when allowed.
    if (doc && !doc.props.has(param) && alts.includes('')) continue;
    const a = doc?.required.includes(param) ? firstRequiredAlt(alts) : firstAlt(alts);
    if (a !== undefined) args.set(param, referenceValue(doc, param, a));
  }
  return { name: simple && doc ? doc.name : gt.name, args };
}

/** The reference calls of an entry; irrelevance gives none, relevance one call to the first doc. */
export function referenceCalls(entry: BfclEntry): ExactCall[] {
  const kind = checkKind(entry.category);
  if (kind === 'irrelevance') return [];
  if (kind === 'relevance') return entry.docs.length ? [{ name: entry.docs[0].name, args: new PyDict() }] : [];
  return (entry.gt ?? []).map((g) => referenceCall(entry, g));
}

/** JSON text of an exact value the way Python's json.dumps writes it (floats keep ".0"). */
export function pyJsonText(v: PyVal): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
    case 'bigint':
      return String(v);
    case 'boolean':
      return v ? 'true' : 'false';
  }
  if (v === null) return 'null';
  if (v instanceof PyFloat) {
    if (Number.isNaN(v.v)) return 'NaN';
    if (!Number.isFinite(v.v)) return v.v > 0 ? 'Infinity' : '-Infinity';
    return pyFloatRepr(v.v);
  }
  if (Array.isArray(v)) return `[${v.map(pyJsonText).join(', ')}]`;
  if (v instanceof PyTuple) return `[${v.items.map(pyJsonText).join(', ')}]`;
  if (v instanceof PyDict) return `{${v.keys.map((k, i) => `${JSON.stringify(String(k))}: ${pyJsonText(v.vals[i])}`).join(', ')}}`;
  throw new Error(`cannot write ${pyRepr(v)} as JSON`);
}

/**
 * The reference answer as a BFCL `result` value: prompting mode, the Python-call text;
 * FC mode, the list of {name: "<json arguments>"} (names with "." written with "_").
 */
export function referenceResult(entry: BfclEntry, mode: CheckMode): PyVal {
  const calls = referenceCalls(entry);
  if (mode === 'prompt') {
    if (calls.length === 0) return 'I cannot answer this with the functions I have.';
    return `[${calls.map((c) => `${c.name}(${c.args.keys.map((k, i) => `${String(k)}=${pyRepr(c.args.vals[i])}`).join(', ')})`).join(', ')}]`;
  }
  if (calls.length === 0) return 'I cannot answer this with the functions I have.';
  return calls.map((c) => {
    const d = new PyDict();
    d.set(c.name.replaceAll('.', '_'), pyJsonText(c.args));
    return d;
  });
}
