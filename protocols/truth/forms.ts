/**
 * How hard a value is to read, by skill level (the truth model shares it with the simulator).
 *
 * Each skill that lives in one argument's wording (number words, dates and formats,
 * enum mapping, identifiers) has graded surface forms: level 1 is the easy way people
 * write a value, level 3 the hard one (sim-config.ts, SkillDifficulty, says what each
 * level means). The user simulator writes a planned value at its level; the tagger
 * reads the user's actual words back to find which skills a sample exercises and at
 * what level; and the teacher's systematic mistakes per skill (a misread number, day
 * and month swapped) are made here, so every part of the world agrees on them.
 */
import type { JsonValue } from '../json.ts';
import type { ParamMeta } from '../tool-meta.ts';
import { genValue, idPrefix, numberWords } from './kinds.ts';
import type { Rng } from '../rng.ts';

export type Level = 1 | 2 | 3;
export type Form = { text: string; level: Level };

const ONES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const pad = (n: number) => String(n).padStart(2, '0');

/** Words for 0..9999: "two hundred and fifty", "one thousand five hundred". */
export function bigNumberWords(n: number): string {
  if (n < 100) return numberWords(n);
  if (n < 1000) {
    const rest = n % 100;
    return `${ONES[Math.floor(n / 100)]} hundred${rest ? ` and ${numberWords(rest)}` : ''}`;
  }
  const rest = n % 1000;
  return `${numberWords(Math.floor(n / 1000))} thousand${rest ? `${rest < 100 ? ' and ' : ' '}${bigNumberWords(rest)}` : ''}`;
}

// ---------------------------------------------------------------- kinds of arguments

const DATE_KINDS = new Set(['date', 'time', 'datetime', 'month']);
/** Values users name in words but calls carry as codes. */
const CODE_KINDS = new Set(['currency', 'language', 'country_code', 'symbol']);
const IDENT_KINDS = new Set(['email', 'phone', 'plate', 'url', 'username', 'zip', 'seat', 'gate', 'file']);
/** Integer kinds where "a dozen" is a natural way to say the number. */
const COUNTABLE = new Set(['count', 'quantity', 'integer', 'number']);
const MONEY = new Set(['amount', 'price']);

export type ValueClass = 'number' | 'date' | 'enum' | 'ident' | 'plain' | 'other';

/** What reading this argument takes; `type` is the schema type of one value. */
export function valueClass(p: ParamMeta, type: string | undefined): ValueClass {
  if (p.kind === 'flag' || type === 'boolean') return 'other';
  if (DATE_KINDS.has(p.kind)) return 'date';
  if ((p.options?.length ?? 0) > 1 || p.kind === 'enum' || CODE_KINDS.has(p.kind)) return 'enum';
  if ((type === 'integer' || type === 'number') && p.kind !== 'year') return 'number';
  if (p.kind.startsWith('id.') || IDENT_KINDS.has(p.kind)) return 'ident';
  return type === 'string' || type === undefined ? 'plain' : 'other';
}

// ---------------------------------------------------------------- numbers

const UNITS: Record<string, [string, string]> = {
  nights: [' night', ' nights'], minutes: [' minute', ' minutes'], rating: [' star', ' stars'], percent: [' percent', ' percent'],
  temperature: [' degree', ' degrees'], km: [' kilometer', ' kilometers'], kg: [' kilo', ' kilos'], age: [' year old', ' years old'],
  amount: [' dollar', ' dollars'], price: [' dollar', ' dollars'],
};
const unit = (kind: string, v: number) => (UNITS[kind] ? UNITS[kind]![v === 1 ? 0 : 1] : '');
const DOZENS: Record<number, string> = { 6: 'half a dozen', 12: 'a dozen', 24: 'two dozen', 36: 'three dozen' };
const MINUTE_WORDS: Record<number, string> = { 15: 'a quarter of an hour', 30: 'half an hour', 45: 'three quarters of an hour', 60: 'an hour', 90: 'an hour and a half', 120: 'two hours' };

/** Ways to write a whole number other than its digits, graded. */
export function numberForms(kind: string, v: JsonValue): Form[] {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 9999) return [];
  const u = unit(kind, v);
  const out: Form[] = [{ text: `${bigNumberWords(v)}${u}`, level: v <= 19 ? 1 : v <= 99 ? 2 : 3 }];
  if (COUNTABLE.has(kind) && DOZENS[v]) out.push({ text: DOZENS[v]!, level: 3 });
  if (kind === 'minutes' && MINUTE_WORDS[v]) out.push({ text: MINUTE_WORDS[v]!, level: 3 });
  if (MONEY.has(kind) && v >= 1000) {
    out.push({ text: `$${v.toLocaleString('en-US')}`, level: 1 });
    if (v % 100 === 0) out.push({ text: `$${v / 1000}k`, level: 3 });
    if (v % 1000 !== 0 && v % 100 === 0 && v < 10000) out.push({ text: `${bigNumberWords(v / 100)} hundred dollars`, level: 3 });
  }
  return out;
}

/** Plausible values per kind: "twenty-five stars" is not a rating. */
const RANGE: Record<string, [number, number]> = {
  count: [1, 40], quantity: [1, 500], integer: [1, 99], number: [1, 2500], amount: [10, 5000], price: [10, 5000], percent: [5, 100],
  temperature: [16, 30], rating: [1, 5], nights: [1, 30], age: [18, 90], km: [1, 100], kg: [1, 100], minutes: [15, 120],
};
const L3_CANDIDATES = [6, 12, 24, 36, 100, 150, 200, 250, 300, 450, 600, 750, 1000, 1500, 2000, 2500, 3500, 5000];

/** A value of `kind` that has a level-`level` word form, or undefined when the kind's range has none. */
export function numberAt(kind: string, level: Level, r: Rng): number | undefined {
  const [lo, hi] = RANGE[kind] ?? [1, 99];
  const pool =
    level === 1 ? range(Math.max(lo, 2), Math.min(hi, 19)) : level === 2 ? range(Math.max(lo, 21), Math.min(hi, 99)) : [...L3_CANDIDATES, ...Object.keys(MINUTE_WORDS).map(Number)].filter((v) => v >= lo && v <= hi);
  const fit = pool.filter((v) => numberForms(kind, v).some((f) => f.level === level));
  return fit.length ? r.pick(fit) : undefined;
}

function range(a: number, b: number): number[] {
  const out: number[] = [];
  for (let i = a; i <= b; i++) out.push(i);
  return out;
}

// ---------------------------------------------------------------- dates and times

function ordinal(d: number): string {
  const teen = d % 100 >= 11 && d % 100 <= 13;
  return `${d}${teen ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[d % 10] ?? 'th'}`;
}

function dateOnly(v: string): Form[] {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  if (!m) return [];
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const month = MONTHS[mo - 1]!;
  const mon = month.slice(0, 3);
  const out: Form[] = [
    { text: `${month} ${ordinal(d)} ${y}`, level: 1 },
    { text: `${month} ${d}, ${y}`, level: 1 },
    { text: `${d} ${month} ${y}`, level: 2 },
    { text: `the ${ordinal(d)} of ${month} ${y}`, level: 2 },
    { text: `${mon} ${d} '${String(y).slice(2)}`, level: 3 },
    { text: `${d}-${mon}-${y}`, level: 3 },
  ];
  // numeric only where it cannot be read the other way round
  if (d > 12) out.push({ text: `${mo}/${d}/${y}`, level: 3 });
  return out;
}

function timeOnly(v: string): Form[] {
  const m = /^(\d{2}):(\d{2})$/.exec(v);
  if (!m) return [];
  const h = Number(m[1]);
  const min = Number(m[2]);
  const h12 = h % 12 === 0 ? 12 : h % 12;
  const ap = h < 12 ? 'am' : 'pm';
  const part = h < 12 ? 'in the morning' : h < 18 ? 'in the afternoon' : 'in the evening';
  const out: Form[] = [];
  if (min === 0) out.push({ text: `${h12} ${ap}`, level: 1 }, { text: `${h12}${ap}`, level: 2 }, { text: `${h12}:00 ${ap.toUpperCase()}`, level: 2 });
  else out.push({ text: `${h12}:${pad(min)} ${ap}`, level: 1 }, { text: `${h12}:${pad(min)} ${ap.toUpperCase()}`, level: 2 });
  if (h === 12 && min === 0) out.push({ text: 'noon', level: 3 });
  else if (min === 0) out.push({ text: `${numberWords(h12)} o'clock ${part}`, level: 3 });
  else if (min === 30) out.push({ text: `half past ${numberWords(h12)} ${part}`, level: 3 });
  else if (min === 15) out.push({ text: `a quarter past ${numberWords(h12)} ${part}`, level: 3 });
  else if (min === 45 && h12 !== 12) out.push({ text: `a quarter to ${numberWords(h12 + 1)} ${part}`, level: 3 });
  return out;
}

/** Ways to write a date, time, date-time or month other than its ISO form, graded. */
export function dateForms(kind: string, v: JsonValue): Form[] {
  if (typeof v !== 'string') return [];
  if (kind === 'time') return timeOnly(v);
  if (kind === 'month') {
    const m = /^(\d{4})-(\d{2})$/.exec(v);
    if (!m) return [];
    const month = MONTHS[Number(m[2]) - 1]!;
    return [
      { text: `${month} ${m[1]}`, level: 1 },
      { text: `${month.slice(0, 3)} ${m[1]}`, level: 2 },
      { text: `${month} of '${m[1]!.slice(2)}`, level: 3 },
    ];
  }
  if (kind === 'datetime' || v.includes('T')) {
    const [d, t] = v.split('T') as [string, string | undefined];
    if (!t) return dateOnly(d);
    const ds = dateOnly(d);
    const ts = timeOnly(t);
    const out: Form[] = [];
    for (const level of [1, 2, 3] as Level[]) {
      const a = ds.find((f) => f.level === level);
      const b = ts.find((f) => f.level === level) ?? ts.find((f) => f.level < level);
      if (a && b) out.push({ text: `${a.text} at ${b.text}`, level });
    }
    return out;
  }
  return dateOnly(v);
}

// ---------------------------------------------------------------- options and codes

/** Everyday words for option values: what a user says instead of the member. */
const SYNONYMS: Record<string, string[]> = {
  cheap: ['inexpensive', 'budget-friendly'], moderate: ['mid-range'], expensive: ['pricey', 'upscale'], economy: ['coach'],
  business: ['executive'], premium_economy: ['premium coach'], express: ['expedited'], overnight: ['next-day'],
  standard: ['regular'], premium: ['top-tier'], xl: ['extra large'], shared: ['pooled'],
  low: ['gentle'], high: ['strong'], medium: ['middle'], delayed: ['running late'], cancelled: ['called off'], on_time: ['on schedule'],
  metric: ['kilometers and kilograms'], imperial: ['miles and pounds'],
  daily: ['every day'], weekly: ['every week'], monthly: ['every month'], yearly: ['every year'], never: ['not at all'],
  vegetarian: ['meat-free'], gluten_free: ['wheat-free'],
  heat: ['warming'], cool: ['cooling'], house: ['detached home'], apartment: ['flat'], sick: ['ill'], vacation: ['holiday'],
  newest: ['most recent'], rating: ['best rated'], on: ['switched on'], off: ['switched off'], locked: ['secured'], quiet: ['silent'], turbo: ['maximum power'],
};
const CODE_NAMES: Record<string, Record<string, string>> = {
  currency: { USD: 'US dollars', EUR: 'euros', GBP: 'British pounds', JPY: 'Japanese yen', CHF: 'Swiss francs', CAD: 'Canadian dollars', AUD: 'Australian dollars', INR: 'Indian rupees', MXN: 'Mexican pesos' },
  language: { en: 'English', fr: 'French', es: 'Spanish', de: 'German', it: 'Italian', pt: 'Portuguese', ja: 'Japanese', ko: 'Korean', zh: 'Chinese', ar: 'Arabic', hi: 'Hindi', nl: 'Dutch' },
  country_code: { FR: 'France', DE: 'Germany', IT: 'Italy', ES: 'Spain', PT: 'Portugal', JP: 'Japan', CA: 'Canada', MX: 'Mexico', BR: 'Brazil', IN: 'India', AU: 'Australia', EG: 'Egypt', KE: 'Kenya', NO: 'Norway', SE: 'Sweden', GR: 'Greece', TR: 'Turkey', TH: 'Thailand', US: 'the United States', GB: 'the United Kingdom' },
  symbol: { AAPL: 'Apple', MSFT: 'Microsoft', AMZN: 'Amazon', GOOGL: 'Google', TSLA: 'Tesla', NVDA: 'Nvidia', NFLX: 'Netflix', META: 'Meta', INTC: 'Intel', DIS: 'Disney', NKE: 'Nike', KO: 'Coca-Cola' },
};

/** Ways to say an option or code other than itself, graded. */
export function enumForms(kind: string, v: JsonValue): Form[] {
  if (typeof v !== 'string') return [];
  const name = CODE_NAMES[kind]?.[v];
  if (name) return [{ text: name, level: 3 }];
  const spoken = v.replace(/_+/g, ' ');
  const out: Form[] = [];
  const cased = spoken.charAt(0).toUpperCase() + spoken.slice(1);
  if (cased !== v) out.push({ text: cased, level: 1 });
  if (spoken !== v && spoken !== cased) out.push({ text: spoken, level: 1 });
  for (const s of SYNONYMS[v] ?? []) out.push({ text: s, level: 2 });
  return out;
}

/** Options of `options` that have a form at `level`. */
export function optionsAt(kind: string, options: readonly JsonValue[], level: Level): JsonValue[] {
  return options.filter((o) => enumForms(kind, o).some((f) => f.level === level));
}

// ---------------------------------------------------------------- identifiers

const ALNUM = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** An identifier of `kind` ("id.flight") with the length and shape of `level`. */
export function identifierAt(kind: string, level: Level, r: Rng): string {
  if (!kind.startsWith('id.')) return String(genValue(kind, r));
  const prefix = idPrefix(kind.slice(3));
  if (level === 1) return `${prefix}-${r.int(100, 999)}`;
  if (level === 2) return `${prefix}-${r.int(10000, 99999)}`;
  let mid = '';
  while (!/[A-Z]/.test(mid) || !/\d/.test(mid)) mid = Array.from({ length: 4 }, () => r.pick([...ALNUM])).join('');
  return `${prefix}-${mid}-${r.int(10000, 99999)}`;
}

/** How hard an identifier is to copy: by length, and a segment that mixes letters and digits. */
export function identifierLevel(v: JsonValue): Level {
  const s = String(v);
  const mixed = s.split(/[-_.@/]/).some((seg) => /[A-Za-z]/.test(seg) && /\d/.test(seg));
  if (s.length >= 12 || mixed) return 3;
  return s.length <= 7 ? 1 : 2;
}

// ---------------------------------------------------------------- forms by class

export function formsOf(cls: ValueClass, kind: string, v: JsonValue): Form[] {
  switch (cls) {
    case 'number':
      return numberForms(kind, v);
    case 'date':
      return dateForms(kind, v);
    case 'enum':
      return enumForms(kind, v);
    default:
      return [];
  }
}

/** Forms that still hold the canonical text ("12:45 PM" for 12:45) need no converting: they are not the skill. */
export function convertingForms(cls: ValueClass, kind: string, v: JsonValue): Form[] {
  const canon = String(v);
  return formsOf(cls, kind, v).filter((f) => !mentions(f.text, canon, true));
}

/** The form to write at `level`: that level if the value has one, else the nearest lower, else any. */
export function formAt(forms: Form[], level: Level, r: Rng): Form | undefined {
  for (let l = level; l >= 1; l--) {
    const at = forms.filter((f) => f.level === l);
    if (at.length) return r.pick(at);
  }
  return forms.length ? r.pick(forms) : undefined;
}

const norm = (s: string) => s.toLowerCase();

/** Whether `text` holds `needle` as a whole token (not inside a longer word or number). */
export function mentions(text: string, needle: string, caseSensitive = false): boolean {
  const t = caseSensitive ? text : norm(text);
  const n = caseSensitive ? needle : norm(needle);
  if (!n) return false;
  let at = t.indexOf(n);
  while (at >= 0) {
    const before = t[at - 1];
    const after = t[at + n.length];
    const edge = (c: string | undefined) => c === undefined || !/[\p{L}\p{N}]/u.test(c);
    if (edge(before) && edge(after)) return true;
    at = t.indexOf(n, at + 1);
  }
  return false;
}

/** The hardest form of the value the text uses, if it uses one. */
export function formUsed(forms: Form[], text: string): Form | undefined {
  const used = forms.filter((f) => mentions(text, f.text)).map((f) => ({ f, exact: mentions(text, f.text, true) }));
  // the exact spelling wins ("6:30 PM" over "6:30 pm"), then the longest ("two hundred and fifty" over a stray "two")
  return used.sort((a, b) => Number(b.exact) - Number(a.exact) || b.f.text.length - a.f.text.length)[0]?.f;
}

// ---------------------------------------------------------------- systematic mistakes

/**
 * The mistake a teacher makes reading this value, always the same way: "fifteen" heard
 * as 50, day and month swapped, 3 pm taken as 3 am, a neighbouring option, two digits
 * of an identifier swapped. Still a valid value, so no schema check can catch it.
 */
export function misread(cls: ValueClass, p: ParamMeta, v: JsonValue, options: readonly JsonValue[] | undefined): JsonValue | undefined {
  if (cls === 'number' && typeof v === 'number') {
    let w: number;
    if (v >= 13 && v <= 19) w = (v - 10) * 10;
    else if (v >= 20 && v <= 90 && v % 10 === 0) w = v / 10 + 10;
    else if (v >= 100) w = Math.round(v / 10);
    else w = v + 10;
    return w !== v ? w : undefined;
  }
  if (cls === 'date' && typeof v === 'string') {
    const d = /^(\d{4})-(\d{2})-(\d{2})(T.*)?$/.exec(v);
    if (d) {
      const [y, mo, day, rest] = [d[1]!, Number(d[2]), Number(d[3]), d[4] ?? ''];
      if (day <= 12 && day !== mo) return `${y}-${pad(day)}-${pad(mo)}${rest}`;
      return `${y}-${d[2]}-${pad(day >= 28 ? day - 1 : day + 1)}${rest}`;
    }
    const t = /^(\d{2}):(\d{2})$/.exec(v);
    if (t) {
      const h = Number(t[1]);
      return `${pad(h >= 12 ? h - 12 : h + 12)}:${t[2]}`;
    }
    const m = /^(\d{4})-(\d{2})$/.exec(v);
    if (m) return `${m[1]}-${pad((Number(m[2]) % 12) + 1)}`;
    return undefined;
  }
  if (cls === 'enum') {
    const opts = options?.length ? options : Object.keys(CODE_NAMES[p.kind] ?? {});
    const i = opts.findIndex((o) => o === v);
    if (opts.length < 2) return undefined;
    return opts[(i + 1) % opts.length];
  }
  if (cls === 'ident' && typeof v === 'string') {
    const chars = [...v];
    for (let i = chars.length - 2; i >= 0; i--) {
      if (/\d/.test(chars[i]!) && /\d/.test(chars[i + 1]!) && chars[i] !== chars[i + 1]) {
        [chars[i], chars[i + 1]] = [chars[i + 1]!, chars[i]!];
        return chars.join('');
      }
    }
    const last = chars.length - 1;
    if (last >= 0 && /\d/.test(chars[last]!)) {
      chars[last] = String((Number(chars[last]) + 1) % 10);
      return chars.join('');
    }
    return `${v}1`;
  }
  return undefined;
}
