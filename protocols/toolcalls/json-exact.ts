import { ParseFail } from './errors.ts';
import { PyDict, PyFloat, type PyVal } from './pyvalue.ts';

/**
 * A JSON reader that keeps int and float apart, like Python's json.loads: a number is a float
 * when its text has ".", "e" or "E" (`4.0` -> PyFloat(4), `4` -> 4). Objects become PyDicts
 * (duplicate keys: the last value wins, the first position stays), arrays become lists.
 *
 * Hand-written scanner (no regex) because it sits on the checker's hot path.
 */
export type ExactJsonOptions = {
  /** Accept NaN, Infinity and -Infinity as Python's json.loads does (BFCL FC arguments). */
  allowNonFinite?: boolean;
  /** Offset added to error positions (when the text is a slice of a larger input). */
  offset?: number;
};

const MAX_DEPTH = 1000;

export function parseJsonExact(text: string, opts: ExactJsonOptions = {}): PyVal {
  const r = new JsonReader(text, 0, opts);
  r.skipWs();
  const v = r.value(0);
  r.skipWs();
  if (r.pos < text.length) r.fail('unexpected text after the JSON value');
  return v;
}

/**
 * Reads one JSON value starting at `start` and returns it with the offset just past it
 * (whitespace after it is not consumed). Used to read JSON embedded in surrounding text.
 */
export function readJsonExactAt(text: string, start: number, opts: ExactJsonOptions = {}): { value: PyVal; end: number } {
  const r = new JsonReader(text, start, opts);
  r.skipWs();
  const value = r.value(0);
  return { value, end: r.pos };
}

class JsonReader {
  pos: number;
  constructor(
    readonly text: string,
    start: number,
    readonly opts: ExactJsonOptions,
  ) {
    this.pos = start;
  }

  fail(message: string, at = this.pos): never {
    throw new ParseFail(`${message} at ${at + (this.opts.offset ?? 0)}`, at + (this.opts.offset ?? 0));
  }

  skipWs(): void {
    const t = this.text;
    let p = this.pos;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 32 || c === 10 || c === 13 || c === 9) p++;
      else break;
    }
    this.pos = p;
  }

  value(depth: number): PyVal {
    const t = this.text;
    const c = t.charCodeAt(this.pos);
    switch (c) {
      case 34: // "
        return this.string();
      case 123: // {
        return this.object(depth + 1);
      case 91: // [
        return this.array(depth + 1);
      case 116: // t
        return this.word('true', true);
      case 102: // f
        return this.word('false', false);
      case 110: // n
        return this.word('null', null);
      case 78: // N
        if (this.opts.allowNonFinite) return this.word('NaN', new PyFloat(NaN));
        break;
      case 73: // I
        if (this.opts.allowNonFinite) return this.word('Infinity', new PyFloat(Infinity));
        break;
      default:
        if (c === 45 || (c >= 48 && c <= 57)) return this.number();
    }
    if (Number.isNaN(c)) this.fail('unexpected end of JSON input');
    this.fail(`unexpected character ${JSON.stringify(t[this.pos])} where a JSON value was expected`);
  }

  word<T extends PyVal>(w: string, v: T): T {
    if (this.text.startsWith(w, this.pos)) {
      this.pos += w.length;
      return v;
    }
    this.fail(`invalid literal (expected ${w})`);
  }

  number(): PyVal {
    const t = this.text;
    const start = this.pos;
    let p = start;
    if (t.charCodeAt(p) === 45) {
      p++;
      if (this.opts.allowNonFinite && t.startsWith('Infinity', p)) {
        this.pos = p + 8;
        return new PyFloat(-Infinity);
      }
    }
    let c = t.charCodeAt(p);
    if (c === 48) p++;
    else if (c >= 49 && c <= 57) {
      p++;
      while ((c = t.charCodeAt(p)) >= 48 && c <= 57) p++;
    } else this.fail('invalid number', start);
    let isFloat = false;
    if (t.charCodeAt(p) === 46) {
      const q = p + 1;
      p = q;
      while ((c = t.charCodeAt(p)) >= 48 && c <= 57) p++;
      if (p === q) this.fail('invalid number: digits expected after "."', start);
      isFloat = true;
    }
    c = t.charCodeAt(p);
    if (c === 101 || c === 69) {
      p++;
      c = t.charCodeAt(p);
      if (c === 43 || c === 45) p++;
      const q = p;
      while ((c = t.charCodeAt(p)) >= 48 && c <= 57) p++;
      if (p === q) this.fail('invalid number: digits expected in the exponent', start);
      isFloat = true;
    }
    this.pos = p;
    if (isFloat) return new PyFloat(Number(t.slice(start, p)));
    // Up to 15 digits always fit a double exactly; longer ones may need a bigint.
    if (p - start <= 15) {
      const n = Number(t.slice(start, p));
      return n === 0 ? 0 : n; // "-0" is the int 0
    }
    const big = BigInt(t.slice(start, p));
    return big >= -9007199254740991n && big <= 9007199254740991n ? Number(big) : big;
  }

  string(): string {
    const t = this.text;
    const start = this.pos + 1;
    let p = start;
    // fast path: no escapes
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 34) {
        this.pos = p + 1;
        return t.slice(start, p);
      }
      if (c === 92) break;
      if (c < 32 || Number.isNaN(c)) {
        if (Number.isNaN(c)) this.fail('unterminated string', start - 1);
        this.fail('invalid control character in string', p);
      }
      p++;
    }
    let out = t.slice(start, p);
    let chunk = p; // start of the run of plain characters not yet copied to `out`
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 34) {
        this.pos = p + 1;
        return chunk < p ? out + t.slice(chunk, p) : out;
      }
      if (Number.isNaN(c)) this.fail('unterminated string', start - 1);
      if (c < 32) this.fail('invalid control character in string', p);
      if (c !== 92) {
        p++;
        continue;
      }
      if (chunk < p) out += t.slice(chunk, p);
      const e = t.charCodeAt(p + 1);
      switch (e) {
        case 34:
          out += '"';
          break;
        case 92:
          out += '\\';
          break;
        case 47:
          out += '/';
          break;
        case 98:
          out += '\b';
          break;
        case 102:
          out += '\f';
          break;
        case 110:
          out += '\n';
          break;
        case 114:
          out += '\r';
          break;
        case 116:
          out += '\t';
          break;
        case 117: {
          let code = 0;
          for (let k = 2; k < 6; k++) {
            const h = t.charCodeAt(p + k);
            let d: number;
            if (h >= 48 && h <= 57) d = h - 48;
            else if (h >= 97 && h <= 102) d = h - 87;
            else if (h >= 65 && h <= 70) d = h - 55;
            else this.fail('invalid \\u escape', p);
            code = code * 16 + d;
          }
          out += String.fromCharCode(code);
          p += 6;
          chunk = p;
          continue;
        }
        default:
          this.fail('invalid escape in string', p);
      }
      p += 2;
      chunk = p;
    }
  }

  array(depth: number): PyVal[] {
    if (depth > MAX_DEPTH) this.fail('JSON nested too deeply');
    this.pos++;
    const out: PyVal[] = [];
    this.skipWs();
    if (this.text.charCodeAt(this.pos) === 93) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWs();
      out.push(this.value(depth));
      this.skipWs();
      const c = this.text.charCodeAt(this.pos);
      if (c === 44) {
        this.pos++;
        continue;
      }
      if (c === 93) {
        this.pos++;
        return out;
      }
      this.fail(Number.isNaN(c) ? 'unterminated array' : 'expected "," or "]" in array');
    }
  }

  object(depth: number): PyDict {
    if (depth > MAX_DEPTH) this.fail('JSON nested too deeply');
    this.pos++;
    const out = new PyDict();
    this.skipWs();
    if (this.text.charCodeAt(this.pos) === 125) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWs();
      if (this.text.charCodeAt(this.pos) !== 34) this.fail('expected a string key in object');
      const key = this.string();
      this.skipWs();
      if (this.text.charCodeAt(this.pos) !== 58) this.fail('expected ":" after object key');
      this.pos++;
      this.skipWs();
      out.set(key, this.value(depth));
      this.skipWs();
      const c = this.text.charCodeAt(this.pos);
      if (c === 44) {
        this.pos++;
        continue;
      }
      if (c === 125) {
        this.pos++;
        return out;
      }
      this.fail(Number.isNaN(c) ? 'unterminated object' : 'expected "," or "}" in object');
    }
  }
}
