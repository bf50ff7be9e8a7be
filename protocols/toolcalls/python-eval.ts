import { ParseFail } from './errors.ts';
import type { Node } from './python-syntax.ts';
import {
  PyBytes,
  PyComplex,
  PyDict,
  PyFloat,
  PySet,
  PyTuple,
  type PyVal,
  isHashable,
  pyEq,
  pyIn,
  pyInt,
  pyRepr,
  pyType,
} from './pyvalue.ts';

/**
 * Evaluates a constant expression the way Python's eval() would, for BFCL's decoder, which
 * eval()s binary operations found in arguments (`2*3` -> 6, `10/4` -> 2.5, `'a'+'b'`).
 * Names and calls are not evaluated: in BFCL's eval they would hit a NameError (or, for a few
 * builtins, run); here they are always an error. Anything Python would raise on is an error.
 */
export function evalConst(n: Node, env: Map<string, PyVal> = new Map()): PyVal {
  const ev = (x: Node) => evalConst(x, env);
  switch (n.k) {
    case 'const':
      return n.v;
    case 'unary':
      return unary(n.op, ev(n.operand), n.pos);
    case 'bin':
      return binary(n.op, ev(n.left), ev(n.right), n.pos);
    case 'boolop': {
      let v: PyVal = null;
      for (const x of n.values) {
        v = ev(x);
        if (n.op === 'and' ? !truthy(v) : truthy(v)) return v;
      }
      return v;
    }
    case 'cmp': {
      let left = ev(n.left);
      for (let i = 0; i < n.ops.length; i++) {
        const right = ev(n.comparators[i]);
        if (!compare(n.ops[i], left, right, n.pos)) return false;
        left = right;
      }
      return true;
    }
    case 'ifexp':
      return truthy(ev(n.test)) ? ev(n.body) : ev(n.orelse);
    case 'list':
      return n.elts.map(ev);
    case 'tuple':
      return new PyTuple(n.elts.map(ev));
    case 'set': {
      const items: PyVal[] = [];
      for (const e of n.elts) {
        const v = ev(e);
        if (!isHashable(v)) fail(`unhashable type: '${pyType(v)}'`, e.pos);
        if (!pyIn(v, items)) items.push(v);
      }
      return new PySet(items);
    }
    case 'dict': {
      const d = new PyDict();
      n.keys.forEach((k, i) => {
        if (k === null) fail('dict unpacking is not supported in constant expressions', n.pos);
        const kv = ev(k);
        if (!isHashable(kv)) fail(`unhashable type: '${pyType(kv)}'`, k.pos);
        d.set(kv, ev(n.values[i]));
      });
      return d;
    }
    case 'ellipsis':
      fail('Ellipsis is not supported in constant expressions', n.pos);
      break;
    case 'name': {
      const bound = env.get(n.id);
      if (bound === undefined) fail(`name '${n.id}' is not defined`, n.pos);
      return bound;
    }
    case 'walrus': {
      const v = ev(n.value);
      env.set(n.target, v);
      return v;
    }
    default:
      fail(`cannot evaluate ${n.k} expression`, n.pos);
  }
}

function fail(message: string, pos: number): never {
  throw new ParseFail(`${message} at ${pos}`, pos);
}

export function truthy(v: PyVal): boolean {
  switch (typeof v) {
    case 'string':
      return v.length > 0;
    case 'number':
      return v !== 0;
    case 'bigint':
      return v !== 0n;
    case 'boolean':
      return v;
  }
  if (v === null) return false;
  if (v instanceof PyFloat) return v.v !== 0;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof PyTuple || v instanceof PySet) return v.items.length > 0;
  if (v instanceof PyDict) return v.size > 0;
  if (v instanceof PyComplex) return v.re !== 0 || v.im !== 0;
  return (v as PyBytes).latin1.length > 0;
}

/** int-like (int or bool) as bigint, else undefined */
function asBig(v: PyVal): bigint | undefined {
  if (typeof v === 'number') return BigInt(v);
  if (typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  return undefined;
}

function asFloat(v: PyVal): number | undefined {
  if (v instanceof PyFloat) return v.v;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return undefined;
}

function asComplex(v: PyVal): PyComplex | undefined {
  if (v instanceof PyComplex) return v;
  const f = asFloat(v);
  return f === undefined ? undefined : new PyComplex(f, 0);
}

function unary(op: string, v: PyVal, pos: number): PyVal {
  if (op === 'not') return !truthy(v);
  const b = asBig(v);
  if (b !== undefined) {
    if (op === '-') return pyInt(-b);
    if (op === '+') return pyInt(b);
    return pyInt(~b);
  }
  if (v instanceof PyFloat && op !== '~') return new PyFloat(op === '-' ? -v.v : v.v);
  if (v instanceof PyComplex && op !== '~') return op === '-' ? new PyComplex(-v.re, -v.im) : v;
  fail(`bad operand type for unary ${op}: '${pyType(v)}'`, pos);
}

const MAX_SEQ = 1_000_000; // longer results are refused (Python would build them; no model output needs that)

function repeat(seq: PyVal, count: bigint, pos: number): PyVal {
  const len = typeof seq === 'string' ? seq.length : seq instanceof PyBytes ? seq.latin1.length : Array.isArray(seq) ? seq.length : (seq as PyTuple).items.length;
  if (count > 9223372036854775807n || count < -9223372036854775808n) fail("cannot fit 'int' into an index-sized integer", pos);
  // An empty sequence stays empty however large the count (Python does not mind either).
  const n = count <= 0n || len === 0 ? 0 : count > BigInt(MAX_SEQ) ? MAX_SEQ + 1 : Number(count);
  if (typeof seq === 'string') {
    if (seq.length * n > MAX_SEQ) fail('repetition too large', pos);
    return seq.repeat(n);
  }
  if (seq instanceof PyBytes) {
    if (seq.latin1.length * n > MAX_SEQ) fail('repetition too large', pos);
    return new PyBytes(seq.latin1.repeat(n));
  }
  const items = Array.isArray(seq) ? seq : (seq as PyTuple).items;
  if (items.length * n > MAX_SEQ) fail('repetition too large', pos);
  const out: PyVal[] = [];
  for (let i = 0; i < n; i++) out.push(...items);
  return Array.isArray(seq) ? out : new PyTuple(out);
}

function isSeq(v: PyVal): boolean {
  return typeof v === 'string' || Array.isArray(v) || v instanceof PyTuple || v instanceof PyBytes;
}

function floorDivBig(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

function pyFloatMod(x: number, y: number): number {
  let mod = x % y;
  if (mod) {
    if ((y < 0) !== (mod < 0)) mod += y;
  } else mod = y < 0 ? -0 : 0;
  return mod;
}

function pyFloatFloorDiv(x: number, y: number): number {
  const mod = x % y;
  let div = (x - mod) / y;
  if (mod && (y < 0) !== (mod < 0)) div -= 1;
  if (div) {
    let fl = Math.floor(div);
    if (div - fl > 0.5) fl += 1;
    return fl;
  }
  return x / y < 0 ? -0 : 0;
}

function binary(op: string, a: PyVal, b: PyVal, pos: number): PyVal {
  const ia = asBig(a);
  const ib = asBig(b);
  const typeErr = (): never => fail(`unsupported operand type(s) for ${op}: '${pyType(a)}' and '${pyType(b)}'`, pos);
  if (ia !== undefined && ib !== undefined) {
    switch (op) {
      case '+':
        return pyInt(ia + ib);
      case '-':
        return pyInt(ia - ib);
      case '*':
        return pyInt(ia * ib);
      case '/':
        if (ib === 0n) fail('division by zero', pos);
        return new PyFloat(typeof a === 'bigint' || typeof b === 'bigint' ? Number(ia) / Number(ib) : Number(ia) / Number(ib));
      case '//':
        if (ib === 0n) fail('integer division or modulo by zero', pos);
        return pyInt(floorDivBig(ia, ib));
      case '%': {
        if (ib === 0n) fail('integer division or modulo by zero', pos);
        return pyInt(ia - floorDivBig(ia, ib) * ib);
      }
      case '**':
        if (ib < 0n) {
          if (ia === 0n) fail('0.0 cannot be raised to a negative power', pos);
          return new PyFloat(Math.pow(Number(ia), Number(ib)));
        }
        if (ib > 100_000n) fail('exponent too large', pos);
        return pyInt(ia ** ib);
      case '<<':
        if (ib < 0n) fail('negative shift count', pos);
        if (ib > 100_000n) fail('shift count too large', pos);
        return pyInt(ia << ib);
      case '>>':
        if (ib < 0n) fail('negative shift count', pos);
        return pyInt(ia >> ib);
      case '&':
      case '|':
      case '^': {
        const r = op === '&' ? ia & ib : op === '|' ? ia | ib : ia ^ ib;
        return typeof a === 'boolean' && typeof b === 'boolean' ? r !== 0n : pyInt(r);
      }
    }
    return typeErr();
  }
  const fa = asFloat(a);
  const fb = asFloat(b);
  if (fa !== undefined && fb !== undefined) {
    switch (op) {
      case '+':
        return new PyFloat(fa + fb);
      case '-':
        return new PyFloat(fa - fb);
      case '*':
        return new PyFloat(fa * fb);
      case '/':
        if (fb === 0) fail('float division by zero', pos);
        return new PyFloat(fa / fb);
      case '//':
        if (fb === 0) fail('float floor division by zero', pos);
        return new PyFloat(pyFloatFloorDiv(fa, fb));
      case '%':
        if (fb === 0) fail('float modulo', pos);
        return new PyFloat(pyFloatMod(fa, fb));
      case '**': {
        if (fa === 0 && fb < 0) fail('0.0 cannot be raised to a negative power', pos);
        if (fa < 0 && !Number.isInteger(fb) && Number.isFinite(fb)) fail('negative number to a fractional power gives a complex result (not supported)', pos);
        const r = Math.pow(fa, fb);
        if (!Number.isFinite(r) && Number.isFinite(fa) && Number.isFinite(fb)) fail('numerical result out of range', pos);
        return new PyFloat(r);
      }
    }
    return typeErr();
  }
  if (a instanceof PyComplex || b instanceof PyComplex) {
    const ca = asComplex(a);
    const cb = asComplex(b);
    if (ca && cb) {
      if (op === '+') return new PyComplex(ca.re + cb.re, ca.im + cb.im);
      if (op === '-') return new PyComplex(ca.re - cb.re, ca.im - cb.im);
      if (op === '*') return new PyComplex(ca.re * cb.re - ca.im * cb.im, ca.re * cb.im + ca.im * cb.re);
      fail(`complex ${op} is not supported`, pos);
    }
    return typeErr();
  }
  if (op === '+') {
    if (typeof a === 'string' && typeof b === 'string') return a + b;
    if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
    if (a instanceof PyTuple && b instanceof PyTuple) return new PyTuple([...a.items, ...b.items]);
    if (a instanceof PyBytes && b instanceof PyBytes) return new PyBytes(a.latin1 + b.latin1);
    return typeErr();
  }
  if (op === '*') {
    if (isSeq(a) && ib !== undefined) return repeat(a, ib, pos);
    if (isSeq(b) && ia !== undefined) return repeat(b, ia, pos);
    return typeErr();
  }
  if (op === '|' && a instanceof PyDict && b instanceof PyDict) {
    const d = new PyDict();
    a.keys.forEach((k, i) => d.set(k, a.vals[i]));
    b.keys.forEach((k, i) => d.set(k, b.vals[i]));
    return d;
  }
  if (op === '%' && typeof a === 'string') return percentFormat(a, b, pos);
  return typeErr();
}

function pyStr(v: PyVal): string {
  return typeof v === 'string' ? v : pyRepr(v);
}

/**
 * printf-style `str % args` for the common conversions (%s %r %d %i %f %%, flags, width,
 * precision); `%(name)s` and the rarer conversions are reported as unsupported.
 */
function percentFormat(fmt: string, arg: PyVal, pos: number): string {
  const args = arg instanceof PyTuple ? arg.items : [arg];
  // A non-tuple with __getitem__ (dict, list, bytes) is a "mapping": unused is no error.
  const mapping = !(arg instanceof PyTuple) && typeof arg !== 'string' && (arg instanceof PyDict || Array.isArray(arg) || arg instanceof PyBytes);
  let out = '';
  let k = 0;
  let i = 0;
  while (i < fmt.length) {
    const p = fmt.indexOf('%', i);
    if (p < 0) {
      out += fmt.slice(i);
      break;
    }
    out += fmt.slice(i, p);
    const m = /^%([-+ 0#]*)(\d*)(?:\.(\d+))?([a-zA-Z%])/.exec(fmt.slice(p));
    if (!m) fail('unsupported format character', pos);
    const [all, flags, width, prec, conv] = m;
    i = p + all.length;
    if (conv === '%') {
      out += '%';
      continue;
    }
    if (k >= args.length) fail('not enough arguments for format string', pos);
    const v = args[k++];
    let text: string;
    if (conv === 's') text = pyStr(v);
    else if (conv === 'r') text = pyRepr(v);
    else if (conv === 'd' || conv === 'i' || conv === 'f') {
      const f = asFloat(v);
      if (f === undefined) fail(`%${conv} format: a real number is required, not ${pyType(v)}`, pos);
      if (conv === 'f') text = f.toFixed(prec === undefined ? 6 : Number(prec));
      else {
        const b = asBig(v);
        text = String(b !== undefined ? b : BigInt(Math.trunc(f)));
      }
      if (flags.includes('+') && !text.startsWith('-')) text = '+' + text;
      else if (flags.includes(' ') && !text.startsWith('-')) text = ' ' + text;
    } else fail(`unsupported format character '${conv}'`, pos);
    if (conv === 's' || conv === 'r') {
      if (prec !== undefined) text = text.slice(0, Number(prec));
    }
    const w = Number(width || 0);
    if (text.length < w) {
      if (flags.includes('-')) text = text.padEnd(w);
      else if (flags.includes('0') && conv !== 's' && conv !== 'r') {
        const sign = /^[-+ ]/.test(text) ? text[0] : '';
        text = sign + text.slice(sign.length).padStart(w - sign.length, '0');
      } else text = text.padStart(w);
    }
    out += text;
  }
  if (k < args.length && !mapping) fail('not all arguments converted during string formatting', pos);
  return out;
}

function compare(op: string, a: PyVal, b: PyVal, pos: number): boolean {
  switch (op) {
    case '==':
      return pyEq(a, b);
    case '!=':
      return !pyEq(a, b);
    case 'is':
    case 'is not': {
      // CPython folds equal immutable constants into one object; fresh containers are distinct.
      const same = pyType(a) === pyType(b) && !Array.isArray(a) && !(a instanceof PyDict) && !(a instanceof PySet) && pyEq(a, b);
      return op === 'is' ? same : !same;
    }
    case 'in':
    case 'not in': {
      let r: boolean;
      if (typeof b === 'string') {
        if (typeof a !== 'string') fail(`'in <string>' requires string as left operand, not ${pyType(a)}`, pos);
        r = b.includes(a);
      } else if (Array.isArray(b)) r = pyIn(a, b);
      else if (b instanceof PyTuple || b instanceof PySet) r = pyIn(a, b.items);
      else if (b instanceof PyDict) r = b.has(a);
      else fail(`argument of type '${pyType(b)}' is not iterable`, pos);
      return op === 'in' ? r : !r;
    }
  }
  const fa = asFloat(a);
  const fb = asFloat(b);
  let c: number;
  if (fa !== undefined && fb !== undefined) {
    const ia = asBig(a);
    const ib = asBig(b);
    if (ia !== undefined && ib !== undefined) c = ia < ib ? -1 : ia > ib ? 1 : 0;
    else if (Number.isNaN(fa) || Number.isNaN(fb)) return false;
    else c = fa < fb ? -1 : fa > fb ? 1 : 0;
  } else if (typeof a === 'string' && typeof b === 'string') {
    const x = [...a].map((ch) => ch.codePointAt(0)!);
    const y = [...b].map((ch) => ch.codePointAt(0)!);
    c = 0;
    for (let i = 0; i < Math.min(x.length, y.length) && c === 0; i++) c = x[i] - y[i];
    if (c === 0) c = x.length - y.length;
  } else fail(`'${op}' not supported between instances of '${pyType(a)}' and '${pyType(b)}'`, pos);
  switch (op) {
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
  }
  fail(`'${op}' comparisons are not supported in constant expressions`, pos);
}
