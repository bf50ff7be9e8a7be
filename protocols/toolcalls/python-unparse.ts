import type { LambdaParam, Node } from './python-syntax.ts';
import { PyComplex, PyFloat, pyRepr, type PyVal } from './pyvalue.ts';

/**
 * Prints a parsed expression back as Python 3.11's `ast.unparse` does: canonical spacing,
 * parentheses only where precedence needs them, strings through repr(). BFCL turns calls
 * without keyword arguments and subscripts into this text, so it has to match.
 */

// ast._Precedence
const NAMED_EXPR = 1;
const TUPLE = 2;
const TEST = 4;
const OR = 5;
const AND = 6;
const NOT = 7;
const CMP = 8;
const EXPR = 9;
const BXOR = 10;
const BAND = 11;
const SHIFT = 12;
const ARITH = 13;
const TERM = 14;
const FACTOR = 15;
const POWER = 16;
const AWAIT = 17;
const ATOM = 18;

const BINOP_PREC: Record<string, number> = {
  '+': ARITH,
  '-': ARITH,
  '*': TERM,
  '@': TERM,
  '/': TERM,
  '%': TERM,
  '//': TERM,
  '<<': SHIFT,
  '>>': SHIFT,
  '|': EXPR,
  '^': BXOR,
  '&': BAND,
  '**': POWER,
};

const INFSTR = '1e309';

function constText(v: PyVal, u?: boolean): string {
  if (v instanceof PyFloat || v instanceof PyComplex) {
    return pyRepr(v).replaceAll('inf', INFSTR).replaceAll('nan', `(${INFSTR}-${INFSTR})`);
  }
  return (u ? 'u' : '') + pyRepr(v);
}

export function unparse(node: Node): string {
  return un(node, TEST);
}

function wrap(text: string, cond: boolean): string {
  return cond ? `(${text})` : text;
}

function un(n: Node, prec: number): string {
  switch (n.k) {
    case 'const':
      return constText(n.v, n.u);
    case 'ellipsis':
      return '...';
    case 'name':
      return n.id;
    case 'fstr':
      return n.src;
    case 'unary': {
      const p = n.op === 'not' ? NOT : FACTOR;
      const op = n.op === 'not' ? 'not ' : n.op;
      return wrap(op + un(n.operand, p), prec > p);
    }
    case 'bin': {
      const p = BINOP_PREC[n.op];
      const [lp, rp] = n.op === '**' ? [p + 1, p] : [p, p + 1];
      return wrap(`${un(n.left, lp)} ${n.op} ${un(n.right, rp)}`, prec > p);
    }
    case 'boolop': {
      let p = n.op === 'and' ? AND : OR;
      const base = p;
      const parts = n.values.map((v) => un(v, ++p));
      return wrap(parts.join(` ${n.op} `), prec > base);
    }
    case 'cmp': {
      let s = un(n.left, CMP + 1);
      n.ops.forEach((op, i) => {
        s += ` ${op} ${un(n.comparators[i], CMP + 1)}`;
      });
      return wrap(s, prec > CMP);
    }
    case 'ifexp':
      return wrap(`${un(n.body, TEST + 1)} if ${un(n.test, TEST + 1)} else ${un(n.orelse, TEST)}`, prec > TEST);
    case 'lambda': {
      const params = lambdaParams(n.params);
      return wrap(`lambda${params ? ' ' + params : ''}: ${un(n.body, TEST)}`, prec > TEST);
    }
    case 'walrus':
      return wrap(`${n.target} := ${un(n.value, ATOM)}`, prec > NAMED_EXPR);
    case 'await':
      return wrap(`await ${un(n.value, ATOM)}`, prec > AWAIT);
    case 'starred':
      return '*' + un(n.value, EXPR);
    case 'list':
      return `[${n.elts.map((e) => un(e, TEST)).join(', ')}]`;
    case 'set':
      return n.elts.length ? `{${n.elts.map((e) => un(e, TEST)).join(', ')}}` : '{*()}';
    case 'tuple': {
      const inner = n.elts.length === 1 ? `${un(n.elts[0], TEST)},` : n.elts.map((e) => un(e, TEST)).join(', ');
      return wrap(inner, n.elts.length === 0 || prec > TUPLE);
    }
    case 'dict':
      return `{${n.keys
        .map((k, i) => (k === null ? `**${un(n.values[i], EXPR)}` : `${un(k, TEST)}: ${un(n.values[i], TEST)}`))
        .join(', ')}}`;
    case 'comp': {
      const gens = n.gens
        .map(
          (g) =>
            `${g.isAsync ? ' async' : ''} for ${un(g.target, TUPLE)} in ${un(g.iter, TEST + 1)}${g.ifs.map((c) => ` if ${un(c, TEST + 1)}`).join('')}`,
        )
        .join('');
      switch (n.kind) {
        case 'list':
          return `[${un(n.elt, TEST)}${gens}]`;
        case 'set':
          return `{${un(n.elt, TEST)}${gens}}`;
        case 'gen':
          return `(${un(n.elt, TEST)}${gens})`;
        case 'dict':
          return `{${un(n.elt, TEST)}: ${un(n.value!, TEST)}${gens}}`;
      }
    }
    // falls through (unreachable)
    case 'call': {
      if (n.k !== 'call') return '';
      const parts = n.args.map((a) => un(a, TEST));
      for (const kw of n.keywords) parts.push(kw.arg === null ? `**${un(kw.value, TEST)}` : `${kw.arg}=${un(kw.value, TEST)}`);
      return `${un(n.func, ATOM)}(${parts.join(', ')})`;
    }
    case 'attr': {
      const v = un(n.value, ATOM);
      // `1 .real`: ast.unparse separates int constants (bool included) from the dot
      const gap = n.value.k === 'const' && (typeof n.value.v === 'number' || typeof n.value.v === 'bigint' || typeof n.value.v === 'boolean') ? ' ' : '';
      return `${v}${gap}.${n.attr}`;
    }
    case 'sub': {
      const s = n.slice;
      const inner = s.k === 'tuple' && s.elts.length > 0 ? (s.elts.length === 1 ? `${un(s.elts[0], TEST)},` : s.elts.map((e) => un(e, TEST)).join(', ')) : un(s, TEST);
      return `${un(n.value, ATOM)}[${inner}]`;
    }
    case 'slice': {
      let s = n.lower ? un(n.lower, TEST) : '';
      s += ':';
      if (n.upper) s += un(n.upper, TEST);
      if (n.step) s += ':' + un(n.step, TEST);
      return s;
    }
  }
}

function lambdaParams(params: LambdaParam[]): string {
  return params
    .map((p) => {
      switch (p.kind) {
        case 'arg':
          return p.dflt ? `${p.name}=${un(p.dflt, TEST)}` : p.name;
        case 'vararg':
          return `*${p.name}`;
        case 'kwarg':
          return `**${p.name}`;
        case 'star':
          return '*';
        case 'slash':
          return '/';
      }
    })
    .join(', ');
}
