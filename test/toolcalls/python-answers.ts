/** A seeded generator of prompting-mode answers in Python-call syntax, valid and broken, for differential tests. */

function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generator(seed: number): () => string {
  const rnd = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const num = () =>
    pick(['0', '1', '42', '3.5', '4.0', '1e3', '.5', '5.', '0x1F', '0o17', '0b101', '1_000', '1j', '12345678901234567890', '0.1', '2.5e-7', '1e16', '07', '1e', '1__0', '1e400', '00']);
  const str = () =>
    pick(["'a'", '"b"', "'it\\'s'", '"x y"', "'New York, NY'", "'\\n\\t\\x41\\101'", "u'u'", "'é'", "'\\U0001F600'", "'a' 'b'", "b'xy'", "'\\x00\\x7f\\xa0\\u2028'", "r'\\d+'", "'''tri\nple'''", "'unterminated", "'\\q'", "'a' b'b'"]);
  const ws = () => pick(['', '', '', '', ' ', ' ', '\n', '\t', ' \\\n']);
  const lit = (d: number): string => {
    switch (d > 3 ? Math.floor(rnd() * 3) : Math.floor(rnd() * 15)) {
      case 0:
        return num();
      case 1:
        return str();
      case 2:
        return pick(['True', 'False', 'None', '...', 'units', 'x', 'é']);
      case 3:
        return `[${Array.from({ length: Math.floor(rnd() * 4) }, () => lit(d + 1)).join(pick([', ', ',', ' ,\n']))}]`;
      case 4:
        return `(${Array.from({ length: Math.floor(rnd() * 4) }, () => lit(d + 1)).join(', ')}${rnd() < 0.3 ? ',' : ''})`;
      case 5:
        return `{${Array.from({ length: Math.floor(rnd() * 3) }, () => `${pick(["'k'", '"k2"', '1', '2.0', 'True', 'None', '(1, 2)', '[1]'])}: ${lit(d + 1)}`).join(', ')}}`;
      case 6:
        return `${pick(['-', '+', '~', 'not '])}${pick(['5', '2.5', 'True', '0', '1j', '(3)', "'s'", 'x', 'None', '(1+2)', '-1'])}`;
      case 7:
        return `${pick(['2', '3.5', "'ab'", '[1]', '(1,)', 'True', '-3', '2**3', '7', "'%s-%d'"])} ${pick(['+', '-', '*', '/', '//', '%', '**', '&', '|', '^', '<<', '>>'])} ${pick(['2', '0', '-1', '0.5', "'c'", '[2]', 'False', '3', '(2,)', '4.0', "('a', 2)"])}`;
      case 8:
        return `${pick(['g', 'np.array', 'h.k'])}(${Array.from({ length: Math.floor(rnd() * 3) }, () => lit(d + 1)).join(', ')})`;
      case 9:
        return `${pick(['g', 'mod.h'])}(${Array.from({ length: 1 + Math.floor(rnd() * 2) }, () => `${pick(['p', 'q'])}=${lit(d + 1)}`).join(', ')})`;
      case 10:
        return `${pick(['x', 'df', '(a+b)', 'd.e'])}[${pick(['0', "'k'", '1:2', '::2', '1, 2', 'a', '-1', '(1, 2)', 'f(x)', '*a', 'b:=1'])}]`;
      case 11:
        return `g(${lit(d + 1)}, k=${lit(d + 1)})`;
      case 12:
        return pick(['2*3+1', '(1+2)*3', "'a' * 3", '[0] * 2', '1/3', '7//-2', '-7 % 3', '2 ** -1', '10 ** 20', '1.5 // 0.4', '-1.5 % 0.4', 'True + True', '1 - 1.0', '0.1 + 0.2', '(1 + 2j) * 1j', '1 << 70', '1 if x else 2', 'a < b', 'x.y', "f'{x}'", '{1, 2}', '[x for x in y]', 'lambda x: x', '-x', '(a := 1)', 'g(*a, **k)', 'g(x for x in y)', 'g(a=1, 2)', '[] * 10**30', '(b := 2) ** 3']);
      default:
        return num();
    }
  };
  const call = () => {
    const args = Array.from({ length: Math.floor(rnd() * 4) }, () => `${pick(['a', 'b', 'c', 'unit'])}${ws()}=${ws()}${lit(0)}`);
    if (rnd() < 0.1) args.unshift(lit(1));
    if (rnd() < 0.05) args.push(`**${pick(['k', '{}', 'x'])}`);
    return `${pick(['f', 'mod.f', 'a.b.c', 'get_weather'])}(${ws()}${args.join(pick([', ', ',', ',\n']))}${ws()})`;
  };
  return () => {
    const body = Array.from({ length: 1 + Math.floor(rnd() * 3) }, call).join(pick([', ', ',', ',\n', '\n']));
    return pick(['', '', '', ' ', '`', '\n', '[ ', "'"]) + pick([`[${body}]`, `[${body}]`, body, `(${body})`, `{${body}}`]) + pick(['', '', '', ' ', '`', '\n', ']', "'", ' # c', ';']);
  };
}

