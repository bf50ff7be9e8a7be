/**
 * API synthesis (simulated API designer): samples a root-to-leaf path of the
 * constraint tree for a function intent of the context tree and merges them into a
 * ToolSpec: name and parameter names in the chosen style, the chosen number and
 * types of parameters, the result shape, descriptions in the chosen style, and a
 * `meta` block with the per-parameter semantics the simulator needs. Pure and seeded.
 */
import type { ParamSchema, ToolSpec } from '../../protocols/toolspec.ts';
import type { ParamMeta, ToolMeta } from '../../protocols/tool-meta.ts';
import type { ConstraintChoice } from '../../protocols/roles/api-designer.ts';
import { toStyle, type NamingStyle } from '../../protocols/toolspec-rules.ts';
import { kindDef } from '../../protocols/truth/kinds.ts';
import type { Rng } from '../../protocols/rng.ts';
import { CONSTRAINT_LEVELS, type EntityField, type Intent, type IntentParam, type ConstraintLevelId } from './trees.ts';

export type ConstraintPath = {
  naming: NamingStyle;
  paramCount: 'zero' | 'few' | 'many';
  paramTypes: 'simple' | 'enum' | 'date' | 'array' | 'nested';
  output: 'bare' | 'envelope' | 'paged';
  description: 'concise' | 'detailed' | 'imperative';
};

const DATEISH = new Set(['date', 'time', 'datetime']);
const required = (i: Intent) => i.params.filter((p) => p.required);
const optional = (i: Intent) => i.params.filter((p) => !p.required);

/** Whether `option` of `level` can follow the choices made so far for this intent. */
export function optionFits(intent: Intent, level: ConstraintLevelId, option: string, so: Partial<ConstraintPath>): boolean {
  const req = required(intent);
  const opt = optional(intent);
  switch (level) {
    case 'naming':
      return true;
    case 'paramCount':
      if (option === 'zero') return req.length === 0;
      if (option === 'few') return req.length <= 3 && intent.params.length >= 1;
      return intent.params.length >= 4;
    case 'paramTypes': {
      const count = so.paramCount;
      if (count === 'zero') return option === 'simple';
      // room for optional parameters besides the required ones
      const room = count === 'few' ? 3 - req.length : opt.length;
      const has = (pred: (p: IntentParam) => boolean) => req.some(pred) || (room > 0 && opt.some(pred));
      if (option === 'simple') return !req.some((p) => p.array);
      if (option === 'enum') return has((p) => p.kind === 'enum');
      if (option === 'date') return has((p) => DATEISH.has(p.kind));
      if (option === 'array') return has((p) => p.array);
      return Math.min(room, opt.length) >= 2; // nested: two optional parameters to group
    }
    case 'output':
      return option !== 'paged' || intent.returns.shape === 'list';
    case 'description':
      return true;
  }
}

/** Samples one option per level, in order, among the options that fit; fixed choices must fit. */
export function sampleConstraintPath(intent: Intent, r: Rng, fixed: ConstraintChoice = {}): ConstraintPath | undefined {
  const so: Partial<ConstraintPath> = {};
  for (const level of CONSTRAINT_LEVELS) {
    const want = fixed[level.level as keyof ConstraintChoice];
    if (want !== undefined) {
      if (!optionFits(intent, level.level, want, so)) return undefined;
      (so as Record<string, string>)[level.level] = want;
      continue;
    }
    const weights: Record<string, number> = {};
    for (const o of level.options) if (optionFits(intent, level.level, o.id, so)) weights[o.id] = o.weight;
    const pick = r.weighted(weights);
    if (!pick) return undefined;
    (so as Record<string, string>)[level.level] = pick;
  }
  return so as ConstraintPath;
}

function selectParams(intent: Intent, path: ConstraintPath, r: Rng): IntentParam[] {
  if (path.paramCount === 'zero') return [];
  const req = required(intent);
  let opt = optional(intent);
  if (path.paramTypes === 'simple') opt = opt.filter((p) => !p.array);
  if (path.paramCount === 'many') return intent.params.filter((p) => p.required || opt.includes(p));
  const room = 3 - req.length;
  const feature = (p: IntentParam) =>
    path.paramTypes === 'enum' ? p.kind === 'enum' : path.paramTypes === 'date' ? DATEISH.has(p.kind) : path.paramTypes === 'array' ? p.array : false;
  const needsFeature = path.paramTypes !== 'simple' && path.paramTypes !== 'nested' && !req.some(feature);
  let pool = r.shuffle(opt);
  if (needsFeature) pool = [...pool.filter(feature), ...pool.filter((p) => !feature(p))];
  const min = path.paramTypes === 'nested' ? 2 : needsFeature || req.length === 0 ? 1 : 0;
  const take = Math.min(pool.length, Math.max(min, r.int(0, room)));
  const chosen = new Set<IntentParam>([...req, ...pool.slice(0, take)]);
  // keep the intent's own order: it is the order a person would list them in
  return intent.params.filter((p) => chosen.has(p));
}

function words(name: string): string {
  return name.replace(/_/g, ' ');
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

function scalarType(kind: string, options?: string[]): ParamSchema['type'] {
  if (options && options.length) return 'string';
  return kindDef(kind).type;
}

function paramDescription(p: IntentParam, path: ConstraintPath, isOptional: boolean): string {
  const def = kindDef(p.kind);
  const label = words(p.name);
  const hint = def.hint && p.kind !== 'enum' ? def.hint : undefined;
  const list = p.array ? 'list of ' : '';
  const opts = p.options && path.paramTypes === 'simple' ? p.options.join(', ') : undefined;
  switch (path.description) {
    case 'concise':
      return `${capitalize(list ? `${list}${label}` : label)}${hint ? ` (${hint})` : ''}${opts ? `: one of ${opts}` : ''}`;
    case 'detailed':
      return (
        `The ${list}${label}${hint ? `, as ${hint}` : ''}.` +
        (opts ? ` One of ${opts}.` : '') +
        (p.kind === 'flag' ? ' Set to true to enable.' : '') +
        (isOptional ? ' Optional.' : '')
      );
    case 'imperative':
      return `Give the ${list}${label}${hint ? ` as ${hint}` : ''}${opts ? ` (${opts})` : ''}${isOptional ? ', if the user mentions it' : ''}.`;
  }
}

function paramSchema(p: IntentParam, path: ConstraintPath, isOptional: boolean): ParamSchema {
  const def = kindDef(p.kind);
  const scalar: ParamSchema = { type: scalarType(p.kind, p.options) };
  if (p.options && path.paramTypes !== 'simple') scalar.enum = [...p.options];
  if (def.format && path.paramTypes !== 'simple' && (DATEISH.has(p.kind) || def.format === 'email')) scalar.format = def.format;
  const description = paramDescription(p, path, isOptional);
  if (p.array) return { type: 'array', description, items: scalar };
  return { ...scalar, description };
}

function fieldSchema(f: EntityField, style: NamingStyle): ParamSchema {
  const def = kindDef(f.kind);
  const s: ParamSchema = { type: f.options ? 'string' : def.type, description: capitalize(words(f.name)) };
  if (f.options) s.enum = [...f.options];
  if (def.format && DATEISH.has(f.kind)) s.format = def.format;
  void style;
  return s;
}

function returnsOf(intent: Intent, path: ConstraintPath): { schema: ParamSchema; meta: ToolMeta['returns'] } {
  const st = (n: string) => toStyle(n, path.naming);
  const props: Record<string, ParamSchema> = {};
  const fields: Record<string, string> = {};
  for (const f of intent.returns.fields) {
    props[st(f.name)] = fieldSchema(f, path.naming);
    fields[st(f.name)] = f.kind === 'enum' ? 'enum' : f.kind;
  }
  const record: ParamSchema = { type: 'object', description: `One ${words(intent.returns.entity)}`, properties: props, required: Object.keys(props) };
  const status: ParamSchema = { type: 'string', description: 'Outcome of the request', enum: ['ok'] };
  if (intent.returns.shape === 'list') {
    const list: ParamSchema = { type: 'array', description: `Matching ${words(intent.returns.entity)} records`, items: record };
    if (path.output === 'paged') {
      return {
        schema: {
          type: 'object',
          properties: { items: list, total: { type: 'integer', description: 'Number of matches' }, page: { type: 'integer', description: 'Page number, from 1' } },
          required: ['items', 'total', 'page'],
        },
        meta: { list: 'items', fields },
      };
    }
    const bare: ParamSchema = { type: 'object', description: 'The matches', properties: { results: list }, required: ['results'] };
    if (path.output === 'envelope')
      return { schema: { type: 'object', properties: { status, data: bare }, required: ['status', 'data'] }, meta: { list: 'data.results', fields } };
    return { schema: bare, meta: { list: 'results', fields } };
  }
  if (path.output === 'envelope')
    return { schema: { type: 'object', properties: { status, data: record }, required: ['status', 'data'] }, meta: { record: 'data', fields } };
  return { schema: record, meta: { record: '', fields } };
}

function toolDescription(intent: Intent, path: ConstraintPath): string {
  const fields = intent.returns.fields.slice(0, 4).map((f) => words(f.name)).join(', ');
  const what = intent.returns.shape === 'list' ? `a list of ${words(intent.returns.entity)} records` : `the ${words(intent.returns.entity)}`;
  switch (path.description) {
    case 'concise':
      return `${intent.desc}.`;
    case 'detailed':
      return `${intent.desc}. Returns ${what} (${fields}).`;
    case 'imperative':
      return `Use this tool to ${lowerFirst(intent.desc)}. Call it only with values the user gave.`;
  }
}

/** Merges an intent and a constraint path into a spec. */
export function buildToolSpec(intent: Intent, path: ConstraintPath, r: Rng): ToolSpec {
  const st = (n: string) => toStyle(n, path.naming);
  const params = selectParams(intent, path, r);
  const properties: Record<string, ParamSchema> = {};
  const requiredNames: string[] = [];
  const metaParams: ParamMeta[] = [];
  const nestable = path.paramTypes === 'nested' ? params.filter((p) => !p.required) : [];
  const groupName = st(intent.returns.shape === 'list' ? 'filters' : 'options');
  for (const p of params) {
    if (nestable.includes(p)) continue;
    properties[st(p.name)] = paramSchema(p, path, !p.required);
    if (p.required) requiredNames.push(st(p.name));
    metaParams.push({ path: st(p.name), label: words(p.name), kind: p.kind, required: p.required, array: p.array, options: p.options, phrases: p.phrases });
  }
  if (nestable.length) {
    const inner: Record<string, ParamSchema> = {};
    for (const p of nestable) {
      inner[st(p.name)] = paramSchema(p, path, true);
      metaParams.push({ path: `${groupName}.${st(p.name)}`, label: words(p.name), kind: p.kind, required: false, array: p.array, options: p.options, phrases: p.phrases });
    }
    properties[groupName] = {
      type: 'object',
      description: path.description === 'concise' ? `Optional ${intent.returns.shape === 'list' ? 'filters' : 'settings'}` : `Optional ${intent.returns.shape === 'list' ? 'filters that narrow the results' : 'settings'}; leave out what the user did not mention.`,
      properties: inner,
      required: [],
    };
  }
  const returns = returnsOf(intent, path);
  const meta: ToolMeta = {
    source: 'synth',
    path: { domain: intent.domain, subdomain: intent.subdomain, intent: intent.id },
    constraints: { ...path },
    verb: intent.verb,
    object: intent.object,
    family: `${intent.domain}/${intent.subdomain}`,
    params: metaParams,
    returns: returns.meta,
  };
  return {
    name: st(intent.id),
    description: toolDescription(intent, path),
    parameters: { type: 'object', properties, required: requiredNames },
    returns: returns.schema,
    meta,
  };
}

/** Samples a constraint path and builds the spec; undefined when the fixed choices do not fit the intent. */
export function synthesizeTool(intent: Intent, r: Rng, fixed: ConstraintChoice = {}): ToolSpec | undefined {
  const path = sampleConstraintPath(intent, r.fork('constraints'), fixed);
  return path ? buildToolSpec(intent, path, r.fork('params')) : undefined;
}
