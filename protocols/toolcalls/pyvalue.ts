/**
 * Python values with their exact types, as the BFCL checker sees them.
 *
 * JSON numbers in JS lose the difference between `4` and `4.0`; Python (and the BFCL
 * checker) keeps it. Inside parsing and checking we therefore use this representation:
 *
 *   str -> string          int -> number (safe integers) or bigint (anything larger)
 *   bool -> boolean        float -> PyFloat (a boxed double, so `typeof` tells int from float)
 *   None -> null           list -> Array          tuple -> PyTuple
 *   dict -> PyDict (insertion-ordered, any hashable key, Python key equality)
 *   complex, bytes, set, Ellipsis-free leftovers -> PyComplex / PyBytes / PySet
 *
 * An int is canonical: a number when Number.isSafeInteger, a bigint otherwise, so two equal
 * ints always have the same JS representation and `===` compares them.
 */

export class PyFloat {
  constructor(readonly v: number) {}
}

export class PyTuple {
  constructor(readonly items: PyVal[]) {}
}

export class PyComplex {
  constructor(
    readonly re: number,
    readonly im: number,
  ) {}
}

export class PyBytes {
  /** One char per byte (code units 0..255). */
  constructor(readonly latin1: string) {}
}

export class PySet {
  constructor(readonly items: PyVal[]) {}
}

export type PyInt = number | bigint;
export type PyVal = string | PyInt | boolean | null | PyFloat | PyVal[] | PyTuple | PyDict | PyComplex | PyBytes | PySet;

/** Python type names as `type(x).__name__` prints them. */
export type PyTypeName = 'str' | 'int' | 'bool' | 'NoneType' | 'float' | 'list' | 'tuple' | 'dict' | 'complex' | 'bytes' | 'set';

/**
 * Insertion-ordered dict with Python key semantics: keys that compare equal (1, 1.0, True)
 * are one key; assigning an existing key keeps its position and replaces the value.
 * Linear lookup: the dicts we meet hold a handful of keys, and that beats hashing here.
 */
export class PyDict {
  readonly keys: PyVal[] = [];
  readonly vals: PyVal[] = [];

  get size(): number {
    return this.keys.length;
  }

  indexOf(key: PyVal): number {
    const keys = this.keys;
    if (typeof key === 'string') {
      for (let i = 0; i < keys.length; i++) if (keys[i] === key) return i;
      return -1;
    }
    for (let i = 0; i < keys.length; i++) if (pyEq(keys[i], key)) return i;
    return -1;
  }

  has(key: PyVal): boolean {
    return this.indexOf(key) >= 0;
  }

  get(key: PyVal): PyVal | undefined {
    const i = this.indexOf(key);
    return i < 0 ? undefined : this.vals[i];
  }

  set(key: PyVal, value: PyVal): void {
    const i = this.indexOf(key);
    if (i >= 0) this.vals[i] = value;
    else {
      this.keys.push(key);
      this.vals.push(value);
    }
  }

  static from(entries: [PyVal, PyVal][]): PyDict {
    const d = new PyDict();
    for (const [k, v] of entries) d.set(k, v);
    return d;
  }
}

/** Canonical int from a JS number or bigint (caller guarantees integrality). */
export function pyInt(n: number | bigint): PyInt {
  if (typeof n === 'bigint') {
    return n >= -9007199254740991n && n <= 9007199254740991n ? Number(n) : n;
  }
  return Number.isSafeInteger(n) ? (Object.is(n, -0) ? 0 : n) : BigInt(n);
}

export function pyType(v: PyVal): PyTypeName {
  switch (typeof v) {
    case 'string':
      return 'str';
    case 'number':
    case 'bigint':
      return 'int';
    case 'boolean':
      return 'bool';
  }
  if (v === null) return 'NoneType';
  if (v instanceof PyFloat) return 'float';
  if (Array.isArray(v)) return 'list';
  if (v instanceof PyDict) return 'dict';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof PyComplex) return 'complex';
  if (v instanceof PyBytes) return 'bytes';
  return 'set';
}

export function isHashable(v: PyVal): boolean {
  if (v === null || typeof v !== 'object') return true;
  if (v instanceof PyFloat || v instanceof PyComplex || v instanceof PyBytes) return true;
  if (v instanceof PyTuple) return v.items.every(isHashable);
  return false;
}

/** Numeric view for ==: ints, bools and floats compare by mathematical value. */
function numericOf(v: PyVal): number | bigint | undefined {
  switch (typeof v) {
    case 'number':
    case 'bigint':
      return v;
    case 'boolean':
      return v ? 1 : 0;
  }
  if (v instanceof PyFloat) return v.v;
  return undefined;
}

/**
 * Python `==`: 1 == 1.0 == True, list equality ordered, dict equality ignores order,
 * a tuple never equals a list, str never equals a number.
 */
export function pyEq(a: PyVal, b: PyVal): boolean {
  if (a === b) return typeof a !== 'object' || a === null || !(a instanceof PyFloat) || !Number.isNaN(a.v);
  const ta = typeof a;
  if (ta === 'string' || typeof b === 'string') return false;
  const na = numericOf(a);
  if (na !== undefined) {
    const nb = numericOf(b);
    // Loose == between bigint and number compares mathematical values exactly.
    if (nb !== undefined) return na == nb;
    if (b instanceof PyComplex) return b.im === 0 && b.re == na;
    return false;
  }
  if (a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!pyEq(a[i], b[i])) return false;
    return true;
  }
  if (a instanceof PyTuple) {
    if (!(b instanceof PyTuple) || a.items.length !== b.items.length) return false;
    for (let i = 0; i < a.items.length; i++) if (!pyEq(a.items[i], b.items[i])) return false;
    return true;
  }
  if (a instanceof PyDict) {
    if (!(b instanceof PyDict) || a.size !== b.size) return false;
    for (let i = 0; i < a.keys.length; i++) {
      const j = b.indexOf(a.keys[i]);
      if (j < 0 || !pyEq(a.vals[i], b.vals[j])) return false;
    }
    return true;
  }
  if (a instanceof PyComplex) {
    if (b instanceof PyComplex) return a.re === b.re && a.im === b.im;
    const nb = numericOf(b);
    return nb !== undefined && a.im === 0 && a.re == nb;
  }
  if (a instanceof PyBytes) return b instanceof PyBytes && a.latin1 === b.latin1;
  if (a instanceof PySet) {
    if (!(b instanceof PySet) || a.items.length !== b.items.length) return false;
    return a.items.every((x) => b.items.some((y) => pyEq(x, y)));
  }
  return false;
}

/** Python `x in list`. */
export function pyIn(x: PyVal, list: readonly PyVal[]): boolean {
  for (let i = 0; i < list.length; i++) if (pyEq(list[i], x)) return true;
  return false;
}

// ---------------------------------------------------------------------------------------
// repr

/** Python's repr(float): shortest round-trip digits, fixed for 1e-4 <= |x| < 1e16, else e±XX. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const e = Math.abs(x).toExponential(); // shortest digits that round-trip, e.g. "1.2345e+2"
  const ePos = e.indexOf('e');
  const digits = e.slice(0, ePos).replace('.', '');
  const exp = Number(e.slice(ePos + 1));
  if (exp >= -4 && exp < 16) {
    if (exp >= 0) {
      const intPart = digits.length > exp + 1 ? digits.slice(0, exp + 1) : digits + '0'.repeat(exp + 1 - digits.length);
      const frac = digits.length > exp + 1 ? digits.slice(exp + 1) : '0';
      return `${sign}${intPart}.${frac}`;
    }
    return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  }
  const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const ex = Math.abs(exp) < 10 ? `0${Math.abs(exp)}` : String(Math.abs(exp));
  return `${sign}${mant}e${exp < 0 ? '-' : '+'}${ex}`;
}

// Characters Python's str.isprintable() rejects beyond ASCII controls (approximation by
// Unicode general category: Other and Separator, the ASCII space excepted).
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** Python's repr(str): single quotes unless the text has ' and no ". */
export function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === quote || ch === '\\') out += '\\' + ch;
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + hex(c, 2);
    else if (c < 0x7f) out += ch;
    else if (ch.length === 1 && c >= 0xd800 && c <= 0xdfff) out += '\\u' + hex(c, 4);
    else if (c !== 0x20 && NON_PRINTABLE.test(ch)) {
      out += c < 0x100 ? '\\x' + hex(c, 2) : c < 0x10000 ? '\\u' + hex(c, 4) : '\\U' + hex(c, 8);
    } else out += ch;
  }
  return out + quote;
}

export function pyBytesRepr(b: PyBytes): string {
  const s = b.latin1;
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = 'b' + quote;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i];
    if (ch === quote || ch === '\\') out += '\\' + ch;
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c < 0x20 || c >= 0x7f) out += '\\x' + hex(c, 2);
    else out += ch;
  }
  return out + quote;
}

function complexPart(x: number): string {
  // repr(complex) prints integral parts without ".0"
  const r = pyFloatRepr(x);
  return r.endsWith('.0') ? r.slice(0, -2) : r;
}

export function pyComplexRepr(c: PyComplex): string {
  if (c.re === 0 && !Object.is(c.re, -0)) return `${complexPart(c.im)}j`;
  const im = complexPart(c.im);
  return `(${complexPart(c.re)}${im.startsWith('-') ? '' : '+'}${im}j)`;
}

/** Python repr() of a value (lists `[1, 2]`, dicts `{'a': 1}`, tuples `(1,)`). */
export function pyRepr(v: PyVal): string {
  switch (typeof v) {
    case 'string':
      return pyStrRepr(v);
    case 'number':
    case 'bigint':
      return String(v);
    case 'boolean':
      return v ? 'True' : 'False';
  }
  if (v === null) return 'None';
  if (v instanceof PyFloat) return pyFloatRepr(v.v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (v instanceof PyTuple) return v.items.length === 1 ? `(${pyRepr(v.items[0])},)` : `(${v.items.map(pyRepr).join(', ')})`;
  if (v instanceof PyDict) return `{${v.keys.map((k, i) => `${pyRepr(k)}: ${pyRepr(v.vals[i])}`).join(', ')}}`;
  if (v instanceof PyComplex) return pyComplexRepr(v);
  if (v instanceof PyBytes) return pyBytesRepr(v);
  return v.items.length === 0 ? 'set()' : `{${v.items.map(pyRepr).join(', ')}}`;
}
