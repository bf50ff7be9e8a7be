import { ParseFail } from './errors.ts';
import { evalConst } from './python-eval.ts';
import { type Node, parsePythonExpression } from './python-syntax.ts';
import { unparse } from './python-unparse.ts';
import { PyComplex, PyDict, PyFloat, PyTuple, type PyVal, isHashable, pyInt, pyType } from './pyvalue.ts';

/**
 * Decoding of BFCL's Python-call syntax `[f(a=1), mod.g(b='x')]` into calls, with the v3
 * leaderboard's decoder semantics (bfcl model_handler/utils.py: default_decode_ast_prompting,
 * ast_parse, resolve_ast_call, resolve_ast_by_type), quirks included:
 *  - the text is stripped of "`", "\n" and " " at both ends, then of "[", "]" and "'";
 *  - the rest must be one call or a tuple/list/set of calls;
 *  - positional arguments are dropped, `**x` becomes a key None;
 *  - `-x` and `+x` (any unary operator) negate a constant operand (`+5` -> -5), anything else fails;
 *  - binary operations are evaluated (`2*3` -> 6);
 *  - a bare name is its identifier as a string; a call without keyword arguments and a
 *    subscript become their source text (as ast.unparse prints it); a call with keyword
 *    arguments becomes {name: {kwargs}};
 *  - lambdas, comparisons, boolean operators, f-strings, sets, comprehensions, attributes... fail.
 */

export type ExactCall = { name: string; args: PyDict };

const STRIP1 = '`\n ';
const STRIP2 = "[]'";

/** Python's str.strip(chars), as offsets into `text`. */
function stripRange(text: string, start: number, end: number, chars: string): [number, number] {
  while (start < end && chars.includes(text[start])) start++;
  while (end > start && chars.includes(text[end - 1])) end--;
  return [start, end];
}

/** The part of a prompting-mode answer that BFCL hands to ast.parse, with its offset. */
export function bfclPromptingSlice(text: string): { src: string; offset: number } {
  let [s, e] = stripRange(text, 0, text.length, STRIP1);
  [s, e] = stripRange(text, s, e, STRIP2);
  return { src: text.slice(s, e), offset: s };
}

/** Decodes a prompting-mode answer into calls; throws ParseFail (positions in `text`). */
export function decodePythonCalls(text: string): ExactCall[] {
  const { src, offset } = bfclPromptingSlice(text);
  const body = parsePythonExpression(src, offset);
  if (body.k === 'call') return [resolveCall(body)];
  if (body.k === 'tuple' || body.k === 'list' || body.k === 'set') {
    return body.elts.map((e) => {
      if (e.k !== 'call') throw new ParseFail(`expected a function call at ${e.pos}`, e.pos);
      return resolveCall(e);
    });
  }
  throw new ParseFail(`expected a function call or a list of calls at ${body.pos}`, body.pos);
}

function callName(func: Node): string {
  const parts: string[] = [];
  let f = func;
  while (f.k === 'attr') {
    parts.push(f.attr);
    f = f.value;
  }
  if (f.k === 'name') parts.push(f.id);
  return parts.reverse().join('.');
}

function resolveCall(node: Extract<Node, { k: 'call' }>): ExactCall {
  const args = new PyDict();
  for (const kw of node.keywords) args.set(kw.arg, resolveValue(kw.value));
  return { name: callName(node.func), args };
}

function fail(message: string, pos: number): never {
  throw new ParseFail(`${message} at ${pos}`, pos);
}

function resolveValue(n: Node): PyVal {
  switch (n.k) {
    case 'const':
      return n.v;
    case 'ellipsis':
      return '...';
    case 'unary': {
      // BFCL: `-value.operand.value`, whatever the operator.
      const o = n.operand;
      if (o.k === 'const') {
        const v = o.v;
        if (typeof v === 'number') return v === 0 ? 0 : -v;
        if (typeof v === 'bigint') return pyInt(-v);
        if (typeof v === 'boolean') return v ? -1 : 0;
        if (v instanceof PyFloat) return new PyFloat(-v.v);
        if (v instanceof PyComplex) return new PyComplex(-v.re, -v.im);
        fail(`bad operand type for unary -: '${pyType(v)}'`, n.pos);
      }
      if (o.k === 'ellipsis') fail("bad operand type for unary -: 'ellipsis'", n.pos);
      fail('unsupported unary operand', n.pos);
      break;
    }
    case 'list':
      return n.elts.map(resolveValue);
    case 'dict': {
      const d = new PyDict();
      for (let i = 0; i < n.keys.length; i++) {
        const k = n.keys[i];
        if (k === null) fail('unsupported dict unpacking', n.pos);
        const kv = resolveValue(k);
        const vv = resolveValue(n.values[i]);
        if (!isHashable(kv)) fail(`unhashable type: '${pyType(kv)}'`, k.pos);
        d.set(kv, vv);
      }
      return d;
    }
    case 'bin':
      return evalConst(n);
    case 'name':
      return n.id;
    case 'call':
      return n.keywords.length === 0 ? unparse(n) : callAsDict(n);
    case 'tuple':
      return new PyTuple(n.elts.map(resolveValue));
    case 'lambda':
      // BFCL evaluates `value.body[0].value`, and a lambda's body is not subscriptable.
      fail("'lambda' is not supported", n.pos);
      break;
    case 'sub':
      return `${unparse(n.value)}[${unparse(n.slice)}]`;
  }
  fail(`unsupported expression (${n.k})`, n.pos);
}

function callAsDict(n: Extract<Node, { k: 'call' }>): PyDict {
  const c = resolveCall(n);
  const d = new PyDict();
  d.set(c.name, c.args);
  return d;
}
