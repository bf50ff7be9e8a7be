import { ParseFail } from './errors.ts';
import { PyBytes, PyComplex, PyFloat, type PyVal, pyInt } from './pyvalue.ts';

/**
 * A parser for Python 3 expressions (what `ast.parse(src, mode="eval")` accepts), written by
 * hand so that BFCL's prompting-mode decoding can be reproduced without Python: the same
 * inputs are accepted and rejected, and each node keeps enough to be resolved (literal
 * values with int/float kept apart) or printed back the way `ast.unparse` prints it.
 *
 * Covered: literals (all string prefixes and escapes but \N{...}, every number form,
 * implicit concatenation), names, attributes, calls (positional, keyword, *, **), subscripts
 * and slices, unary/binary/boolean operators, comparisons, conditional expressions, lambda,
 * walrus, starred items, list/tuple/set/dict displays and comprehensions, f-strings (kept as
 * source text), await. Not covered (rejected): `yield` inside parentheses and `\N{name}`
 * escapes, which need the Unicode name table.
 */

export type Node =
  | { k: 'const'; pos: number; v: PyVal; u?: boolean }
  | { k: 'ellipsis'; pos: number }
  | { k: 'name'; pos: number; id: string }
  | { k: 'unary'; pos: number; op: UnaryOp; operand: Node }
  | { k: 'bin'; pos: number; op: BinOp; left: Node; right: Node }
  | { k: 'boolop'; pos: number; op: 'and' | 'or'; values: Node[] }
  | { k: 'cmp'; pos: number; left: Node; ops: CmpOp[]; comparators: Node[] }
  | { k: 'ifexp'; pos: number; test: Node; body: Node; orelse: Node }
  | { k: 'lambda'; pos: number; params: LambdaParam[]; body: Node }
  | { k: 'walrus'; pos: number; target: string; value: Node }
  | { k: 'list' | 'tuple' | 'set'; pos: number; elts: Node[] }
  | { k: 'dict'; pos: number; keys: (Node | null)[]; values: Node[] }
  | { k: 'comp'; pos: number; kind: 'list' | 'set' | 'gen' | 'dict'; elt: Node; value?: Node; gens: Comprehension[] }
  | { k: 'call'; pos: number; func: Node; args: Node[]; keywords: Keyword[] }
  | { k: 'attr'; pos: number; value: Node; attr: string }
  | { k: 'sub'; pos: number; value: Node; slice: Node }
  | { k: 'slice'; pos: number; lower: Node | null; upper: Node | null; step: Node | null }
  | { k: 'starred'; pos: number; value: Node }
  | { k: 'fstr'; pos: number; src: string }
  | { k: 'await'; pos: number; value: Node };

export type UnaryOp = '-' | '+' | '~' | 'not';
export type BinOp = '+' | '-' | '*' | '/' | '//' | '%' | '**' | '@' | '<<' | '>>' | '&' | '|' | '^';
export type CmpOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not in' | 'is' | 'is not';
export type Keyword = { arg: string | null; value: Node; pos: number };
export type Comprehension = { target: Node; iter: Node; ifs: Node[]; isAsync: boolean };
export type LambdaParam = { kind: 'arg' | 'vararg' | 'kwarg' | 'star' | 'slash'; name: string; dflt: Node | null };

// ---------------------------------------------------------------------------------------
// Tokens

const T_NAME = 1;
const T_NUMBER = 2;
const T_STRING = 3;
const T_OP = 4;
const T_NEWLINE = 5;
const T_END = 6;

type StrTok = { value: string; bytes: boolean; f: boolean; u: boolean; src: string };
type Tok = { t: number; s: string; pos: number; num?: PyVal; str?: StrTok };

const KEYWORDS = new Set([
  'False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue', 'def', 'del',
  'elif', 'else', 'except', 'finally', 'for', 'from', 'global', 'if', 'import', 'in', 'is', 'lambda', 'nonlocal',
  'not', 'or', 'pass', 'raise', 'return', 'try', 'while', 'with', 'yield',
]);
// Keywords that may directly follow a number literal (Python's tokenizer allows `1if x else y`).
const AFTER_NUMBER_OK = new Set(['and', 'else', 'for', 'if', 'in', 'is', 'not', 'or']);

const OPS3 = new Set(['**=', '//=', '>>=', '<<=', '...']);
const OPS2 = new Set(['**', '//', '<<', '>>', '<=', '>=', '==', '!=', ':=', '->', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '@=']);
const OPS1 = new Set(['(', ')', '[', ']', '{', '}', ',', ':', '.', ';', '+', '-', '*', '/', '%', '@', '<', '>', '&', '|', '^', '~', '=']);

const ID_START = /[\p{ID_Start}_\u1885\u1886\u2118\u212e\u309b\u309c]/u;
const ID_CONTINUE = /[\p{ID_Continue}\u00b7\u0387\u1369-\u1371\u19da\u1885\u1886\u2118\u212e\u309b\u309c]/u;

function isAsciiIdStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}
function isAsciiIdCont(c: number): boolean {
  return isAsciiIdStart(c) || (c >= 48 && c <= 57);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

// Error reporters are made once per base offset (not per call: closures are costly here).
type Fail = (m: string, at: number) => never;
const failers = new Map<number, Fail>();
function failAt(base: number): Fail {
  let f = failers.get(base);
  if (!f) {
    f = function fail(msg: string, at: number): never {
      throw new ParseFail(`${msg} at ${at + base}`, at + base);
    };
    if (failers.size < 64) failers.set(base, f);
  }
  return f;
}

function codePointAt(s: string, i: number): string {
  const c = s.codePointAt(i)!;
  return String.fromCodePoint(c);
}

/** Tokenizes `src` as `mode="eval"` input; `base` is added to every reported position. */
export function tokenize(src: string, base = 0): Tok[] {
  const toks: Tok[] = [];
  const n = src.length;
  let i = 0;
  let depth = 0;
  let lineStart = true; // at the start of a logical line at depth 0
  let sawNewline = false; // a top-level NEWLINE was emitted: nothing but blank lines may follow
  const fail = failAt(base);

  while (i < n) {
    const c = src.charCodeAt(i);
    // Line starts at depth 0: blank and comment-only lines are skipped; indentation is an error.
    if (lineStart && depth === 0) {
      let j = i;
      while (j < n) {
        const d = src.charCodeAt(j);
        if (d === 32 || d === 9 || d === 12) j++;
        else break;
      }
      const d = src.charCodeAt(j);
      if (j >= n) {
        i = j;
        break;
      }
      if (d === 35) {
        while (j < n && src.charCodeAt(j) !== 10 && src.charCodeAt(j) !== 13) j++;
        i = j;
        continue;
      }
      if (d === 10 || d === 13) {
        i = d === 13 && src.charCodeAt(j + 1) === 10 ? j + 2 : j + 1;
        continue;
      }
      if (sawNewline) fail('invalid syntax: more input after the expression', j);
      if (j > i) fail('unexpected indent', i);
      i = j;
      lineStart = false;
      continue;
    }
    if (c === 32 || c === 9 || c === 12) {
      i++;
      continue;
    }
    if (c === 35) {
      while (i < n && src.charCodeAt(i) !== 10 && src.charCodeAt(i) !== 13) i++;
      continue;
    }
    if (c === 10 || c === 13) {
      const next = c === 13 && src.charCodeAt(i + 1) === 10 ? i + 2 : i + 1;
      if (depth === 0) {
        toks.push({ t: T_NEWLINE, s: '\n', pos: i + base });
        sawNewline = true;
        lineStart = true;
      }
      i = next;
      continue;
    }
    if (c === 92) {
      // explicit line joining
      const d = src.charCodeAt(i + 1);
      if (d === 10) i += 2;
      else if (d === 13) i += src.charCodeAt(i + 2) === 10 ? 3 : 2;
      else if (i + 1 >= n) fail('unexpected end of input after line continuation character', i);
      else fail('unexpected character after line continuation character', i);
      continue;
    }
    if (c === 0) fail('source code cannot contain null bytes', i);
    const start = i;
    // identifiers, keywords and string prefixes
    if (isAsciiIdStart(c) || (c > 127 && ID_START.test(codePointAt(src, i)))) {
      let j = i + 1;
      let nonAscii = c > 127;
      while (j < n) {
        const d = src.charCodeAt(j);
        if (isAsciiIdCont(d)) j++;
        else if (d > 127) {
          const cp = codePointAt(src, j);
          if (ID_CONTINUE.test(cp)) {
            j += cp.length;
            nonAscii = true;
          } else break;
        } else break;
      }
      const word = src.slice(i, j);
      const q = src.charCodeAt(j);
      if ((q === 39 || q === 34) && j - i <= 2 && /^(?:[rRuUfFbB]|[rR][bBfF]|[bBfF][rR])$/.test(word)) {
        const st = readString(src, j, word.toLowerCase(), base, fail);
        toks.push({ t: T_STRING, s: src.slice(start, st.end), pos: start + base, str: st.tok });
        i = st.end;
        continue;
      }
      const name = nonAscii ? word.normalize('NFKC') : word;
      toks.push({ t: T_NAME, s: name, pos: start + base });
      i = j;
      continue;
    }
    if (c === 39 || c === 34) {
      const st = readString(src, i, '', base, fail);
      toks.push({ t: T_STRING, s: src.slice(start, st.end), pos: start + base, str: st.tok });
      i = st.end;
      continue;
    }
    if (isDigit(c) || (c === 46 && isDigit(src.charCodeAt(i + 1)))) {
      const num = readNumber(src, i, base, fail);
      toks.push({ t: T_NUMBER, s: src.slice(i, num.end), pos: start + base, num: num.value });
      i = num.end;
      continue;
    }
    // operators: single characters first (the common case), then two- and three-character ones
    let op = '';
    const c2 = src.charCodeAt(i + 1);
    if (c2 === 61 || c2 === 62 || c2 === 42 || c2 === 47 || c2 === 60 || c2 === 46) {
      const three = src.slice(i, i + 3);
      const two = src.slice(i, i + 2);
      if (OPS3.has(three)) op = three;
      else if (OPS2.has(two)) op = two;
    }
    if (!op) {
      const one = src[i];
      if (OPS1.has(one)) op = one;
      else {
        const ch = codePointAt(src, i);
        if (ch.length === 1 && c >= 0xd800 && c <= 0xdfff) fail('invalid surrogate in source', i);
        fail(`invalid character ${JSON.stringify(ch)}`, i);
      }
    }
    if (op === '(' || op === '[' || op === '{') depth++;
    else if (op === ')' || op === ']' || op === '}') {
      if (depth === 0) fail(`unmatched '${op}'`, i);
      depth--;
    }
    toks.push({ t: T_OP, s: op, pos: start + base });
    i += op.length;
  }
  if (depth > 0) fail('unexpected end of input: unclosed bracket', n);
  toks.push({ t: T_END, s: '', pos: n + base });
  return toks;
}

const DIG_DEC = 0;
const DIG_HEX = 1;
const DIG_OCT = 2;
const DIG_BIN = 3;

function digitOk(c: number, kind: number): boolean {
  switch (kind) {
    case DIG_DEC:
      return c >= 48 && c <= 57;
    case DIG_HEX:
      return (c >= 48 && c <= 57) || ((c | 0x20) >= 97 && (c | 0x20) <= 102);
    case DIG_OCT:
      return c >= 48 && c <= 55;
    default:
      return c === 48 || c === 49;
  }
}

/** Digits with single underscores between them, d(_?d)*; returns the end offset. */
function digitsRun(src: string, j: number, kind: number, fail: Fail): number {
  if (!digitOk(src.charCodeAt(j), kind)) return j;
  j++;
  for (;;) {
    const c = src.charCodeAt(j);
    if (digitOk(c, kind)) j++;
    else if (c === 95 && digitOk(src.charCodeAt(j + 1), kind)) j += 2;
    else if (c === 95) fail('invalid decimal literal', j);
    else return j;
  }
}

function readNumber(src: string, i: number, base: number, fail: Fail): { value: PyVal; end: number } {
  const start = i;
  const n = src.length;
  let j = i;
  let isFloat = false;
  let value: PyVal;
  const c0 = src.charCodeAt(i);
  const c1 = src.charCodeAt(i + 1) | 0x20;
  if (c0 === 48 && (c1 === 120 || c1 === 111 || c1 === 98)) {
    const radix = c1 === 120 ? 16 : c1 === 111 ? 8 : 2;
    const kind = radix === 16 ? DIG_HEX : radix === 8 ? DIG_OCT : DIG_BIN;
    let k = i + 2;
    if (src.charCodeAt(k) === 95) k++;
    const e = digitsRun(src, k, kind, fail);
    if (e === k) fail(`invalid ${radix === 16 ? 'hexadecimal' : radix === 8 ? 'octal' : 'binary'} literal`, i);
    if (isDigit(src.charCodeAt(e))) fail('invalid digit in literal', e);
    const digits = src.slice(k, e).replaceAll('_', '');
    value = pyInt(BigInt((radix === 16 ? '0x' : radix === 8 ? '0o' : '0b') + digits));
    j = e;
  } else {
    j = c0 === 46 ? i : digitsRun(src, i, DIG_DEC, fail);
    if (src.charCodeAt(j) === 46) {
      isFloat = true;
      j = digitsRun(src, j + 1, DIG_DEC, fail);
    }
    const e = src.charCodeAt(j) | 0x20;
    if (e === 101) {
      let k = j + 1;
      const s = src.charCodeAt(k);
      if (s === 43 || s === 45) k++;
      const ke = digitsRun(src, k, DIG_DEC, fail);
      // "1else": no exponent digits, so the number ends before the "e" (checked below)
      if (ke > k) {
        j = ke;
        isFloat = true;
      } else if (s === 43 || s === 45) fail('invalid decimal literal', j);
    }
    const text = src.slice(i, j).replaceAll('_', '');
    const jc = src.charCodeAt(j) | 0x20;
    if (jc === 106) {
      // imaginary
      j++;
      value = new PyComplex(0, Number(text));
    } else if (isFloat) {
      value = new PyFloat(Number(text));
    } else {
      if (text.length > 1 && text[0] === '0' && /[1-9]/.test(text)) {
        fail('leading zeros in decimal integer literals are not permitted', i);
      }
      value = text.length <= 15 ? Number(text) : pyInt(BigInt(text));
    }
  }
  // A number may not run into a name, except the keywords Python's tokenizer tolerates.
  if (j < n) {
    const d = src.charCodeAt(j);
    if (isAsciiIdCont(d) || (d > 127 && ID_CONTINUE.test(codePointAt(src, j)))) {
      let k = j;
      while (k < n && isAsciiIdCont(src.charCodeAt(k))) k++;
      const word = src.slice(j, k);
      let ok = false;
      for (const kw of AFTER_NUMBER_OK) {
        if (word.startsWith(kw) && (word.length === kw.length || !isAsciiIdCont(src.charCodeAt(j + kw.length)))) ok = true;
      }
      if (!ok) fail('invalid decimal literal', start);
    }
  }
  return { value, end: j };
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

function readString(
  src: string,
  i: number,
  prefix: string,
  base: number,
  fail: Fail,
): { tok: StrTok; end: number } {
  const raw = prefix.includes('r');
  const bytes = prefix.includes('b');
  const f = prefix.includes('f');
  const u = prefix === 'u';
  const q = src[i];
  const triple = src[i + 1] === q && src[i + 2] === q;
  const open = i - prefix.length;
  let j = i + (triple ? 3 : 1);
  const n = src.length;
  let out = '';
  let chunk = j;
  for (;;) {
    if (j >= n) fail(triple ? 'unterminated triple-quoted string literal' : 'unterminated string literal', open);
    const c = src.charCodeAt(j);
    if (src[j] === q && (!triple || (src[j + 1] === q && src[j + 2] === q))) {
      if (j > chunk) out += src.slice(chunk, j);
      j += triple ? 3 : 1;
      break;
    }
    if ((c === 10 || c === 13) && !triple) fail('unterminated string literal', open);
    if (bytes && c > 127) fail('bytes can only contain ASCII literal characters', j);
    if (c >= 0xd800 && c <= 0xdfff) {
      // a pair is one astral character; a lone surrogate cannot be encoded as source
      const d = src.charCodeAt(j + 1);
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        j += 2;
        continue;
      }
      fail('invalid surrogate in source', j);
    }
    if (c === 0) fail('source code cannot contain null bytes', j);
    if (c !== 92) {
      j++;
      continue;
    }
    // backslash
    if (j + 1 >= n) fail('unterminated string literal', open);
    if (raw || f) {
      // raw: the backslash stays and protects the next character (also a quote);
      // f-strings are kept as source text, so only the extent matters here.
      const d = src.charCodeAt(j + 1);
      j += d === 13 && src.charCodeAt(j + 2) === 10 ? 3 : 2;
      continue;
    }
    if (j > chunk) out += src.slice(chunk, j);
    const e = src[j + 1];
    const ec = src.charCodeAt(j + 1);
    let adv = 2;
    switch (e) {
      case '\n':
        break;
      case '\r':
        if (src[j + 2] === '\n') adv = 3;
        break;
      case '\\':
        out += '\\';
        break;
      case "'":
        out += "'";
        break;
      case '"':
        out += '"';
        break;
      case 'a':
        out += '\x07';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case 'x': {
        const h1 = hexVal(src.charCodeAt(j + 2));
        const h2 = hexVal(src.charCodeAt(j + 3));
        if (h1 < 0 || h2 < 0) fail('truncated \\xXX escape', j);
        out += String.fromCharCode(h1 * 16 + h2);
        adv = 4;
        break;
      }
      case 'u':
      case 'U': {
        if (bytes) {
          out += '\\' + e;
          break;
        }
        const len = e === 'u' ? 4 : 8;
        let code = 0;
        for (let k = 0; k < len; k++) {
          const h = hexVal(src.charCodeAt(j + 2 + k));
          if (h < 0) fail(`truncated \\${e}${'X'.repeat(len)} escape`, j);
          code = code * 16 + h;
        }
        if (code > 0x10ffff) fail('illegal Unicode character', j);
        out += String.fromCodePoint(code);
        adv = 2 + len;
        break;
      }
      case 'N':
        if (bytes) {
          out += '\\N';
          break;
        }
        fail('\\N{...} escapes are not supported', j);
        break;
      default:
        if (ec >= 48 && ec <= 55) {
          let code = ec - 48;
          let k = j + 2;
          while (k < j + 4 && src.charCodeAt(k) >= 48 && src.charCodeAt(k) <= 55) {
            code = code * 8 + (src.charCodeAt(k) - 48);
            k++;
          }
          if (bytes && code > 255) fail('octal escape out of byte range', j);
          out += String.fromCharCode(code);
          adv = k - j;
        } else {
          out += '\\'; // unknown escapes keep their backslash
          adv = 1;
        }
    }
    j += adv;
    chunk = j;
  }
  if (raw || f) out = src.slice(i + (triple ? 3 : 1), j - (triple ? 3 : 1));
  if (f) checkFString(out, open, base, fail);
  return { tok: { value: out, bytes, f, u, src: src.slice(open, j) }, end: j };
}

/** An f-string's braces must pair up: `{{`/`}}` are literal, `{expr...}` nests. */
function checkFString(body: string, at: number, _base: number, fail: Fail): void {
  let depth = 0;
  for (let k = 0; k < body.length; k++) {
    const ch = body[k];
    if (depth === 0) {
      if (ch === '{') {
        if (body[k + 1] === '{') k++;
        else depth = 1;
      } else if (ch === '}') {
        if (body[k + 1] === '}') k++;
        else fail("f-string: single '}' is not allowed", at);
      }
    } else if (ch === '{' || ch === '[' || ch === '(') depth++;
    else if (ch === '}' || ch === ']' || ch === ')') depth--;
  }
  if (depth !== 0) fail("f-string: expecting '}'", at);
}

// ---------------------------------------------------------------------------------------
// Parser

function isLevelOp(s: string, level: number): boolean {
  switch (level) {
    case 0:
      return s === '|';
    case 1:
      return s === '^';
    case 2:
      return s === '&';
    case 3:
      return s === '<<' || s === '>>';
    case 4:
      return s === '+' || s === '-';
    default:
      return s === '*' || s === '/' || s === '//' || s === '%' || s === '@';
  }
}

class Parser {
  i = 0;
  constructor(readonly toks: Tok[]) {}

  get tok(): Tok {
    return this.toks[this.i];
  }
  peek(k = 1): Tok {
    return this.toks[Math.min(this.i + k, this.toks.length - 1)];
  }
  fail(msg: string, tok: Tok = this.tok): never {
    throw new ParseFail(`${msg} at ${tok.pos}`, tok.pos);
  }
  isOp(s: string, tok = this.tok): boolean {
    return tok.t === T_OP && tok.s === s;
  }
  isKw(s: string, tok = this.tok): boolean {
    return tok.t === T_NAME && tok.s === s;
  }
  eatOp(s: string): boolean {
    if (this.isOp(s)) {
      this.i++;
      return true;
    }
    return false;
  }
  expectOp(s: string): Tok {
    if (!this.isOp(s)) this.fail(this.tok.t === T_END ? `unexpected end of input, expected '${s}'` : `invalid syntax, expected '${s}'`);
    return this.toks[this.i++];
  }

  /** eval_input: expressions NEWLINE* ENDMARKER */
  evalInput(): Node {
    if (this.tok.t === T_END || this.tok.t === T_NEWLINE) this.fail('invalid syntax: empty expression');
    const e = this.expressions();
    while (this.tok.t === T_NEWLINE) this.i++;
    if (this.tok.t !== T_END) this.fail('invalid syntax');
    return e;
  }

  /** expression (',' expression)* [','] -> a tuple when there is a comma */
  expressions(): Node {
    const pos = this.tok.pos;
    const first = this.expression();
    if (!this.isOp(',')) return first;
    const elts = [first];
    while (this.eatOp(',')) {
      if (this.atExprEnd()) break;
      elts.push(this.expression());
    }
    return { k: 'tuple', pos, elts };
  }

  atExprEnd(): boolean {
    const t = this.tok;
    if (t.t === T_END || t.t === T_NEWLINE) return true;
    return t.t === T_OP && (t.s === ')' || t.s === ']' || t.s === '}' || t.s === '=' || t.s === ':' || t.s === ';');
  }

  expression(): Node {
    if (this.isKw('lambda')) return this.lambdef();
    const pos = this.tok.pos;
    const body = this.disjunction();
    if (this.isKw('if')) {
      this.i++;
      const test = this.disjunction();
      if (!this.isKw('else')) this.fail("expected 'else' after 'if' expression");
      this.i++;
      const orelse = this.expression();
      return { k: 'ifexp', pos, test, body, orelse };
    }
    return body;
  }

  namedExpression(): Node {
    if (this.tok.t === T_NAME && this.isOp(':=', this.peek()) && !KEYWORDS.has(this.tok.s)) {
      const pos = this.tok.pos;
      const target = this.tok.s;
      this.i += 2;
      return { k: 'walrus', pos, target, value: this.expression() };
    }
    const e = this.expression();
    if (this.isOp(':=')) this.fail('cannot use assignment expressions with this target');
    return e;
  }

  starNamedExpression(): Node {
    if (this.isOp('*')) {
      const pos = this.tok.pos;
      this.i++;
      return { k: 'starred', pos, value: this.bitwiseOr() };
    }
    return this.namedExpression();
  }

  lambdef(): Node {
    const pos = this.tok.pos;
    this.i++; // lambda
    const params: LambdaParam[] = [];
    // (Duplicate parameter names are a compile-time error in Python, not a parse error.)
    let seenDefault = false;
    let seenStar = false;
    let seenKw = false;
    while (!this.isOp(':')) {
      if (seenKw) this.fail('arguments cannot follow var-keyword argument');
      if (this.eatOp('**')) {
        const t = this.nameTok();
        params.push({ kind: 'kwarg', name: t, dflt: null });
        seenKw = true;
      } else if (this.eatOp('*')) {
        if (seenStar) this.fail('* argument may appear only once');
        seenStar = true;
        if (this.tok.t === T_NAME) {
          const t = this.nameTok();
            params.push({ kind: 'vararg', name: t, dflt: null });
        } else params.push({ kind: 'star', name: '', dflt: null });
      } else if (this.eatOp('/')) {
        if (seenStar || params.some((p) => p.kind === 'slash') || params.length === 0) this.fail('invalid syntax at /');
        params.push({ kind: 'slash', name: '', dflt: null });
      } else {
        const t = this.nameTok();
        let dflt: Node | null = null;
        if (this.eatOp('=')) {
          dflt = this.expression();
          seenDefault = true;
        } else if (seenDefault && !seenStar) this.fail('non-default argument follows default argument');
        params.push({ kind: 'arg', name: t, dflt });
      }
      if (!this.eatOp(',')) break;
    }
    this.expectOp(':');
    return { k: 'lambda', pos, params, body: this.expression() };
  }

  nameTok(): string {
    const t = this.tok;
    if (t.t !== T_NAME || KEYWORDS.has(t.s)) this.fail('invalid syntax: a name was expected');
    this.i++;
    return t.s;
  }

  disjunction(): Node {
    const pos = this.tok.pos;
    const first = this.conjunction();
    if (!this.isKw('or')) return first;
    const values = [first];
    while (this.isKw('or')) {
      this.i++;
      values.push(this.conjunction());
    }
    return { k: 'boolop', pos, op: 'or', values };
  }

  conjunction(): Node {
    const pos = this.tok.pos;
    const first = this.inversion();
    if (!this.isKw('and')) return first;
    const values = [first];
    while (this.isKw('and')) {
      this.i++;
      values.push(this.inversion());
    }
    return { k: 'boolop', pos, op: 'and', values };
  }

  inversion(): Node {
    if (this.isKw('not')) {
      const pos = this.tok.pos;
      this.i++;
      return { k: 'unary', pos, op: 'not', operand: this.inversion() };
    }
    return this.comparison();
  }

  comparison(): Node {
    const pos = this.tok.pos;
    const left = this.bitwiseOr();
    const ops: CmpOp[] = [];
    const comparators: Node[] = [];
    for (;;) {
      const t = this.tok;
      let op: CmpOp | null = null;
      if (t.t === T_OP && (t.s === '==' || t.s === '!=' || t.s === '<' || t.s === '<=' || t.s === '>' || t.s === '>=')) {
        op = t.s;
        this.i++;
      } else if (this.isKw('in')) {
        op = 'in';
        this.i++;
      } else if (this.isKw('not') && this.isKw('in', this.peek())) {
        op = 'not in';
        this.i += 2;
      } else if (this.isKw('is')) {
        this.i++;
        if (this.isKw('not')) {
          this.i++;
          op = 'is not';
        } else op = 'is';
      }
      if (!op) break;
      ops.push(op);
      comparators.push(this.bitwiseOr());
    }
    return ops.length ? { k: 'cmp', pos, left, ops, comparators } : left;
  }

  // Binary operator levels, loosest first: | ^ & (<< >>) (+ -) (* / // % @); then unary.
  binLevel(level: number): Node {
    if (level > 5) return this.factor();
    const pos = this.tok.pos;
    let left = this.binLevel(level + 1);
    for (;;) {
      const t = this.tok;
      if (t.t === T_OP && isLevelOp(t.s, level)) {
        this.i++;
        const right = this.binLevel(level + 1);
        left = { k: 'bin', pos, op: t.s as BinOp, left, right };
      } else return left;
    }
  }

  bitwiseOr(): Node {
    return this.binLevel(0);
  }

  factor(): Node {
    const t = this.tok;
    if (t.t === T_OP && (t.s === '-' || t.s === '+' || t.s === '~')) {
      this.i++;
      return { k: 'unary', pos: t.pos, op: t.s as UnaryOp, operand: this.factor() };
    }
    return this.power();
  }

  power(): Node {
    const pos = this.tok.pos;
    const base = this.awaitPrimary();
    if (this.isOp('**')) {
      this.i++;
      return { k: 'bin', pos, op: '**', left: base, right: this.factor() };
    }
    return base;
  }

  awaitPrimary(): Node {
    if (this.isKw('await')) {
      const pos = this.tok.pos;
      this.i++;
      return { k: 'await', pos, value: this.primary() };
    }
    return this.primary();
  }

  primary(): Node {
    let node = this.atom();
    for (;;) {
      const t = this.tok;
      if (t.t !== T_OP) return node;
      if (t.s === '.') {
        this.i++;
        const name = this.nameTok();
        node = { k: 'attr', pos: node.pos, value: node, attr: name };
      } else if (t.s === '(') {
        node = this.call(node);
      } else if (t.s === '[') {
        this.i++;
        const slice = this.slices();
        this.expectOp(']');
        node = { k: 'sub', pos: node.pos, value: node, slice };
      } else return node;
    }
  }

  call(func: Node): Node {
    this.i++; // (
    const args: Node[] = [];
    const keywords: Keyword[] = [];
    let seenKeyword = false;
    let seenDoubleStar = false;
    let genexp = false;
    let count = 0;
    while (!this.isOp(')')) {
      const t = this.tok;
      count++;
      if (this.isOp('**')) {
        this.i++;
        keywords.push({ arg: null, value: this.expression(), pos: t.pos });
        seenDoubleStar = true;
      } else if (this.isOp('*')) {
        if (seenDoubleStar) this.fail('iterable argument unpacking follows keyword argument unpacking');
        this.i++;
        args.push({ k: 'starred', pos: t.pos, value: this.expression() });
      } else if (t.t === T_NAME && this.isOp('=', this.peek())) {
        if (KEYWORDS.has(t.s)) this.fail(`cannot assign to ${t.s}`);
        this.i += 2;
        keywords.push({ arg: t.s, value: this.expression(), pos: t.pos });
        seenKeyword = true;
      } else {
        if (seenDoubleStar) this.fail('positional argument follows keyword argument unpacking');
        if (seenKeyword) this.fail('positional argument follows keyword argument');
        const e = this.namedExpression();
        if (this.isOp('=')) this.fail('expression cannot contain assignment, perhaps you meant "=="?');
        if (this.isKw('for') || this.isKw('async')) {
          args.push(this.comprehension('gen', e, undefined, t.pos));
          genexp = true;
        } else args.push(e);
      }
      if (!this.eatOp(',')) break;
      if (genexp) this.fail('Generator expression must be parenthesized');
    }
    if (genexp && count > 1) this.fail('Generator expression must be parenthesized');
    this.expectOp(')');
    return { k: 'call', pos: func.pos, func, args, keywords };
  }

  slices(): Node {
    const pos = this.tok.pos;
    const first = this.slice();
    // `a[*b]` is a one-element tuple, like `a[*b,]`
    if (!this.isOp(',')) return first.k === 'starred' ? { k: 'tuple', pos, elts: [first] } : first;
    const elts = [first];
    while (this.eatOp(',')) {
      if (this.isOp(']')) break;
      elts.push(this.slice());
    }
    return { k: 'tuple', pos, elts };
  }

  slice(): Node {
    const pos = this.tok.pos;
    if (this.isOp('*')) return this.starNamedExpression();
    let lower: Node | null = null;
    if (!this.isOp(':')) {
      lower = this.namedExpression();
      if (!this.isOp(':')) return lower;
    }
    this.i++; // :
    let upper: Node | null = null;
    let step: Node | null = null;
    if (!this.isOp(':') && !this.isOp(',') && !this.isOp(']')) upper = this.expression();
    if (this.eatOp(':')) {
      if (!this.isOp(',') && !this.isOp(']')) step = this.expression();
    }
    return { k: 'slice', pos, lower, upper, step };
  }

  comprehension(kind: 'list' | 'set' | 'gen' | 'dict', elt: Node, value: Node | undefined, pos: number): Node {
    const gens: Comprehension[] = [];
    while (this.isKw('for') || (this.isKw('async') && this.isKw('for', this.peek()))) {
      let isAsync = false;
      if (this.isKw('async')) {
        isAsync = true;
        this.i++;
      }
      this.i++; // for
      const target = this.targetList();
      if (!this.isKw('in')) this.fail("invalid syntax: expected 'in'");
      this.i++;
      const iter = this.disjunction();
      const ifs: Node[] = [];
      while (this.isKw('if')) {
        this.i++;
        ifs.push(this.disjunction());
      }
      gens.push({ target, iter, ifs, isAsync });
    }
    if (elt.k === 'starred') this.fail('iterable unpacking cannot be used in comprehension');
    return { k: 'comp', pos, kind, elt, value, gens };
  }

  /** star_targets for comprehensions: names, attributes, subscripts, starred, nested tuples/lists. */
  targetList(): Node {
    const pos = this.tok.pos;
    const one = (): Node => {
      if (this.isOp('*')) {
        const p = this.tok.pos;
        this.i++;
        return { k: 'starred', pos: p, value: one() };
      }
      const e = this.bitwiseOr();
      this.checkTarget(e);
      return e;
    };
    const first = one();
    if (!this.isOp(',')) return first;
    const elts = [first];
    while (this.eatOp(',')) {
      if (this.isKw('in')) break;
      elts.push(one());
    }
    return { k: 'tuple', pos, elts };
  }

  checkTarget(e: Node): void {
    switch (e.k) {
      case 'name':
        if (KEYWORDS.has(e.id)) this.fail(`cannot assign to ${e.id}`);
        return;
      case 'attr':
      case 'sub':
        return;
      case 'starred':
        return this.checkTarget(e.value);
      case 'tuple':
      case 'list':
        for (const x of e.elts) this.checkTarget(x);
        return;
      default:
        throw new ParseFail(`cannot assign to expression at ${e.pos}`, e.pos);
    }
  }

  atom(): Node {
    const t = this.tok;
    switch (t.t) {
      case T_NAME: {
        if (t.s === 'True' || t.s === 'False' || t.s === 'None') {
          this.i++;
          return { k: 'const', pos: t.pos, v: t.s === 'None' ? null : t.s === 'True' };
        }
        if (KEYWORDS.has(t.s)) this.fail(`invalid syntax at keyword '${t.s}'`);
        this.i++;
        return { k: 'name', pos: t.pos, id: t.s };
      }
      case T_NUMBER:
        this.i++;
        return { k: 'const', pos: t.pos, v: t.num as PyVal };
      case T_STRING:
        return this.strings();
      case T_OP:
        switch (t.s) {
          case '(':
            return this.parenthesized();
          case '[':
            return this.listDisplay();
          case '{':
            return this.braceDisplay();
          case '...':
            this.i++;
            return { k: 'ellipsis', pos: t.pos };
        }
        break;
      case T_END:
        this.fail('unexpected end of input');
    }
    this.fail(t.t === T_NEWLINE ? 'invalid syntax: unexpected end of line' : `invalid syntax at '${t.s}'`);
  }

  strings(): Node {
    const first = this.tok;
    let value = '';
    let isBytes: boolean | undefined;
    let isF = false;
    let src = '';
    while (this.tok.t === T_STRING) {
      const s = this.tok.str!;
      if (isBytes !== undefined && isBytes !== s.bytes) this.fail('cannot mix bytes and nonbytes literals');
      isBytes = s.bytes;
      if (s.f) isF = true;
      value += s.value;
      src += (src ? ' ' : '') + s.src;
      this.i++;
    }
    if (isF) return { k: 'fstr', pos: first.pos, src };
    if (isBytes) return { k: 'const', pos: first.pos, v: new PyBytes(value) };
    return first.str!.u ? { k: 'const', pos: first.pos, v: value, u: true } : { k: 'const', pos: first.pos, v: value };
  }

  parenthesized(): Node {
    const pos = this.tok.pos;
    this.i++; // (
    if (this.eatOp(')')) return { k: 'tuple', pos, elts: [] };
    if (this.isKw('yield')) this.fail("'yield' is not supported");
    const first = this.starNamedExpression();
    if (this.isKw('for') || this.isKw('async')) {
      const c = this.comprehension('gen', first, undefined, pos);
      this.expectOp(')');
      return c;
    }
    if (this.eatOp(')')) {
      if (first.k === 'starred') this.fail('cannot use starred expression here');
      return first;
    }
    const elts = [first];
    while (this.eatOp(',')) {
      if (this.isOp(')')) break;
      elts.push(this.starNamedExpression());
    }
    this.expectOp(')');
    return { k: 'tuple', pos, elts };
  }

  listDisplay(): Node {
    const pos = this.tok.pos;
    this.i++; // [
    if (this.eatOp(']')) return { k: 'list', pos, elts: [] };
    const first = this.starNamedExpression();
    if (this.isKw('for') || this.isKw('async')) {
      const c = this.comprehension('list', first, undefined, pos);
      this.expectOp(']');
      return c;
    }
    const elts = [first];
    while (this.eatOp(',')) {
      if (this.isOp(']')) break;
      elts.push(this.starNamedExpression());
    }
    this.expectOp(']');
    return { k: 'list', pos, elts };
  }

  braceDisplay(): Node {
    const pos = this.tok.pos;
    this.i++; // {
    if (this.eatOp('}')) return { k: 'dict', pos, keys: [], values: [] };
    // dict starting with **
    if (this.isOp('**')) return this.dictRest(pos, null, null);
    const first = this.starNamedExpression();
    if (this.isOp(':') && first.k !== 'starred') {
      this.i++;
      const v = this.expression();
      if (this.isKw('for') || this.isKw('async')) {
        const c = this.comprehension('dict', first, v, pos);
        this.expectOp('}');
        return c;
      }
      return this.dictRest(pos, first, v);
    }
    if (this.isKw('for') || this.isKw('async')) {
      const c = this.comprehension('set', first, undefined, pos);
      this.expectOp('}');
      return c;
    }
    const elts = [first];
    while (this.eatOp(',')) {
      if (this.isOp('}')) break;
      elts.push(this.starNamedExpression());
    }
    this.expectOp('}');
    return { k: 'set', pos, elts };
  }

  dictRest(pos: number, k0: Node | null, v0: Node | null): Node {
    const keys: (Node | null)[] = [];
    const values: Node[] = [];
    if (k0 && v0) {
      keys.push(k0);
      values.push(v0);
      if (!this.eatOp(',')) {
        this.expectOp('}');
        return { k: 'dict', pos, keys, values };
      }
    }
    while (!this.isOp('}')) {
      if (this.eatOp('**')) {
        keys.push(null);
        values.push(this.bitwiseOr());
      } else {
        keys.push(this.expression());
        this.expectOp(':');
        values.push(this.expression());
      }
      if (!this.eatOp(',')) break;
    }
    this.expectOp('}');
    return { k: 'dict', pos, keys, values };
  }}

/** Parses `src` as Python's `ast.parse(src, mode="eval")` does and returns the body. Throws ParseFail. */
export function parsePythonExpression(src: string, base = 0): Node {
  const toks = tokenize(src, base);
  return new Parser(toks).evalInput();
}
