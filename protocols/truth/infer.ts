/**
 * Semantics for tools that come without our `meta` (imported
 * OpenAI / BFCL specs, specs written by an llm). Guesses each argument's value kind
 * from its name, type, format and enum, and the request verb and object from the
 * tool name, so that the simulated user, assistant and tool can work with any spec.
 */
import type { ParamSchema, ToolSpec } from '../toolspec.ts';
import { readToolMeta, type ParamMeta, type ToolMeta } from '../tool-meta.ts';
import { nameWords } from '../toolspec-rules.ts';
import { kindDef } from './kinds.ts';

const VERBS = new Set([
  'search', 'find', 'get', 'list', 'check', 'book', 'reserve', 'cancel', 'create', 'update', 'delete', 'send', 'schedule',
  'set', 'add', 'remove', 'calculate', 'convert', 'track', 'pay', 'transfer', 'order', 'play', 'buy', 'sell', 'estimate',
  'compare', 'recommend', 'translate', 'start', 'stop', 'lock', 'unlock', 'post', 'submit', 'apply', 'fetch', 'retrieve',
  'compute', 'query', 'lookup', 'show', 'display', 'open', 'close', 'move', 'copy', 'read', 'write', 'log', 'plan',
]);
const ALIASES: Record<string, string> = { fetch: 'get', retrieve: 'get', compute: 'calculate', query: 'search', lookup: 'find', display: 'show' };

/** [pattern on the parameter name, kind, applies to type] in order of precedence. */
const NAME_KINDS: [RegExp, string, ParamSchema['type'][]][] = [
  [/e-?mail/, 'email', ['string']],
  [/phone|mobile/, 'phone', ['string']],
  [/currency/, 'currency', ['string']],
  [/language|lang$/, 'language', ['string']],
  [/country_?code/, 'country_code', ['string']],
  [/country/, 'country', ['string']],
  [/city|location|destination|origin|place|town/, 'city', ['string']],
  [/address|street/, 'address', ['string']],
  [/zip|postal/, 'zip', ['string']],
  [/date_?time|datetime|timestamp/, 'datetime', ['string']],
  [/date|day$|birthday/, 'date', ['string']],
  [/time$|^time|hour/, 'time', ['string']],
  [/year/, 'year', ['integer', 'number']],
  [/month/, 'month', ['string']],
  [/symbol|ticker/, 'symbol', ['string']],
  [/price|amount|cost|budget|salary|income|fee|balance|payment|principal/, 'amount', ['number', 'integer']],
  [/percent|rate$|ratio/, 'percent', ['number']],
  [/temperature|temp$/, 'temperature', ['number', 'integer']],
  [/minutes|duration/, 'minutes', ['integer', 'number']],
  [/count|number_of|num_|quantity|passengers|guests|people|size$/, 'count', ['integer']],
  [/user_?name|username|handle/, 'username', ['string']],
  [/name$|person|author|director|recipient/, 'person', ['string']],
  [/url|link|website/, 'url', ['string']],
  [/title/, 'title', ['string']],
  [/message|body|text|content|note|comment/, 'message', ['string']],
  [/genre/, 'genre', ['string']],
  [/team/, 'team', ['string']],
  [/player/, 'player', ['string']],
  [/product|item/, 'product', ['string']],
  [/cuisine/, 'cuisine', ['string']],
  [/query|keyword|search|term/, 'query', ['string']],
  [/_id$|^id$|Id$/, 'id.item', ['string']],
];

/** The semantic kind of a parameter, guessed from its name and schema. */
export function inferKind(name: string, s: ParamSchema): string {
  if (s.enum && s.enum.length) return 'enum';
  if (s.type === 'boolean') return 'flag';
  if (s.format === 'date') return 'date';
  if (s.format === 'time') return 'time';
  if (s.format === 'date-time') return 'datetime';
  if (s.format === 'email') return 'email';
  const n = nameWords(name).join('_');
  const type = s.type === 'array' ? s.items?.type ?? 'string' : s.type;
  for (const [re, kind, types] of NAME_KINDS) if (re.test(n) && types.includes(type)) return kind;
  if (type === 'integer') return 'integer';
  if (type === 'number') return 'number';
  return 'word';
}

/** Example values a description gives ("such as villa, condo, apartment, etc."), for free-text parameters. */
export function examplesIn(description: string | undefined): string[] | undefined {
  const m = description && /(?:such as|e\.g\.,?|for example,?|like)\s+([^.;()]+)/i.exec(description);
  if (!m) return undefined;
  const items = m[1]!
    .split(/,|\bor\b|\band\b/)
    .map((x) => x.trim().replace(/^['"]|['"]$/g, ''))
    .filter((x) => x && x !== 'etc' && x.length <= 30 && !/\s{2}/.test(x));
  return items.length >= 2 ? items : undefined;
}

/** Collects one ParamMeta per leaf argument (nested objects are walked; their leaves get dotted paths). */
function paramMetas(props: Record<string, ParamSchema>, required: string[], prefix: string, parentRequired: boolean, out: ParamMeta[]): void {
  for (const [name, s] of Object.entries(props)) {
    const path = prefix ? `${prefix}.${name}` : name;
    const req = parentRequired && required.includes(name);
    if (s.type === 'object' && s.properties && Object.keys(s.properties).length) {
      paramMetas(s.properties, s.required ?? [], path, req, out);
      continue;
    }
    const kind = inferKind(name, s.type === 'array' && s.items ? s.items : s);
    const label = nameWords(name).join(' ');
    const options = s.enum ?? (s.type === 'array' ? s.items?.enum : undefined) ?? (kind === 'word' ? examplesIn(s.description) : undefined);
    const def = kindDef(kind);
    const phrases = kind === 'flag' ? [`with ${label}`] : [`with ${label} {v}`, ...def.phrases.filter((p) => p !== '{v}').map((p) => p)];
    out.push({ path, label, kind, required: req, array: s.type === 'array', options, phrases: phrases.slice(0, 2) });
  }
}

function returnsMeta(s: ParamSchema | undefined): ToolMeta['returns'] {
  if (!s) return undefined;
  const fieldsOf = (rec: ParamSchema | undefined) =>
    Object.fromEntries(Object.entries(rec?.properties ?? {}).map(([k, v]) => [k, inferKind(k, v)]));
  if (s.type === 'array') return { list: '', fields: fieldsOf(s.items) };
  if (s.type === 'object') {
    for (const [k, v] of Object.entries(s.properties ?? {}))
      if (v.type === 'array' && v.items?.type === 'object') return { list: k, fields: fieldsOf(v.items) };
    return { record: '', fields: fieldsOf(s) };
  }
  return undefined;
}

/** Meta guessed for a spec that has none. */
export function inferToolMeta(spec: ToolSpec, source: ToolMeta['source'] = 'openai', origin?: string): ToolMeta {
  const last = spec.name.includes('.') ? spec.name.slice(spec.name.lastIndexOf('.') + 1) : spec.name;
  const ws = nameWords(last);
  const first = ws[0] ?? 'use';
  const verb = VERBS.has(first) ? ALIASES[first] ?? first : 'use';
  const rest = VERBS.has(first) ? ws.slice(1) : ws;
  const ns = spec.name.includes('.') ? spec.name.slice(0, spec.name.lastIndexOf('.')) : '';
  // "property_valuation.get": the namespace names the object
  const object = rest.length ? `the ${rest.join(' ')}` : ns ? `the ${nameWords(ns).join(' ')}` : `the ${nameWords(spec.name).join(' ')} tool`;
  const params: ParamMeta[] = [];
  paramMetas(spec.parameters.properties, spec.parameters.required, '', true, params);
  return {
    source,
    origin,
    verb,
    object,
    // tools of one namespace, or about the same thing, are near-duplicates
    family: ns || rest.join('_') || spec.name,
    params,
    returns: returnsMeta(spec.returns),
  };
}

/** The spec's own meta when it has ours, otherwise a guessed one. */
export function toolMetaOf(spec: ToolSpec): ToolMeta {
  return readToolMeta(spec.meta) ?? inferToolMeta(spec, 'openai');
}
