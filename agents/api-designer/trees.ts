/**
 * API synthesis data: loads and validates the context tree (domain -> sub-domain ->
 * function intent) and the constraint tree (naming, parameter count, parameter
 * types, output format, description style) shipped in ./data, and expands the
 * compact parameter syntax of the context tree into structured intents.
 */
import { z } from 'zod';
import contextJson from './data/context-tree.json' with { type: 'json' };
import constraintJson from './data/constraint-tree.json' with { type: 'json' };
import { parseOrThrow } from '../../protocols/errors.ts';
import { isKnownKind } from '../../protocols/truth/kinds.ts';

export type IntentParam = {
  name: string; // snake_case base name
  kind: string; // semantic kind ("enum" when options are given)
  options?: string[];
  array: boolean;
  required: boolean;
  phrases: string[];
};

export type EntityField = { name: string; kind: string; options?: string[] };

export type Intent = {
  id: string;
  domain: string;
  subdomain: string;
  verb: string;
  object: string;
  desc: string;
  params: IntentParam[];
  returns: { shape: 'list' | 'one'; entity: string; fields: EntityField[] };
};

export type Subdomain = { id: string; label: string; intents: Intent[] };
export type Domain = { id: string; label: string; subdomains: Subdomain[] };

const RawIntent = z.object({
  id: z.string().regex(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/, 'intent ids are snake_case'),
  verb: z.string().min(1),
  object: z.string().min(1),
  desc: z.string().min(1),
  params: z.array(z.string()),
  returns: z.string().regex(/^(list|one) [a-z_]+$/, 'expected "list <entity>" or "one <entity>"'),
});
const RawContext = z.object({
  entities: z.record(z.string(), z.array(z.string()).min(1)),
  domains: z
    .array(
      z.object({
        id: z.string(),
        label: z.string(),
        subdomains: z.array(z.object({ id: z.string(), label: z.string(), intents: z.array(RawIntent).min(1) })).min(1),
      }),
    )
    .min(1),
});

export const ConstraintLevelId = z.enum(['naming', 'paramCount', 'paramTypes', 'output', 'description']);
export type ConstraintLevelId = z.infer<typeof ConstraintLevelId>;
const RawConstraints = z.object({
  levels: z
    .array(
      z.object({
        level: ConstraintLevelId,
        about: z.string(),
        options: z.array(z.object({ id: z.string(), weight: z.number().min(0), about: z.string() })).min(1),
      }),
    )
    .length(5),
});
export type ConstraintLevel = z.infer<typeof RawConstraints>['levels'][number];

/** "kind", "kind!", "kind[]", "enum(a,b)[]!" -> parts. */
function parseKind(spec: string, where: string): { kind: string; options?: string[]; array: boolean; required: boolean } {
  let s = spec.trim();
  const required = s.endsWith('!');
  if (required) s = s.slice(0, -1);
  const array = s.endsWith('[]');
  if (array) s = s.slice(0, -2);
  const m = /^enum\(([^)]*)\)$/.exec(s);
  if (m) {
    const options = m[1]!.split(',').map((o) => o.trim()).filter(Boolean);
    if (!options.length) throw new Error(`${where}: enum() lists no options`);
    return { kind: 'enum', options, array, required };
  }
  if (!isKnownKind(s)) throw new Error(`${where}: unknown value kind "${s}"`);
  return { kind: s, array, required };
}

/** "name:kind!|phrase;phrase" -> IntentParam. */
export function parseParam(spec: string, where = 'param'): IntentParam {
  const bar = spec.indexOf('|');
  const head = bar < 0 ? spec : spec.slice(0, bar);
  const phrases = bar < 0 ? [] : spec.slice(bar + 1).split(';').map((p) => p.trim()).filter(Boolean);
  const colon = head.indexOf(':');
  if (colon < 0) throw new Error(`${where}: expected "name:kind", got "${spec}"`);
  const name = head.slice(0, colon).trim();
  if (!/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/.test(name)) throw new Error(`${where}: parameter name "${name}" must be snake_case`);
  const k = parseKind(head.slice(colon + 1), `${where}.${name}`);
  return { name, ...k, phrases: phrases.length ? phrases : ['{v}'] };
}

function parseField(spec: string, where: string): EntityField {
  const colon = spec.indexOf(':');
  if (colon < 0) throw new Error(`${where}: expected "name:kind", got "${spec}"`);
  const k = parseKind(spec.slice(colon + 1), where);
  return { name: spec.slice(0, colon), kind: k.kind, options: k.options };
}

function load(): { domains: Domain[]; intents: Map<string, Intent>; levels: ConstraintLevel[] } {
  const raw = parseOrThrow(RawContext, contextJson, 'context tree', 'internal', 'context-tree.json');
  const cons = parseOrThrow(RawConstraints, constraintJson, 'constraint tree', 'internal', 'constraint-tree.json');
  const intents = new Map<string, Intent>();
  const entities = new Map<string, EntityField[]>();
  for (const [name, fields] of Object.entries(raw.entities))
    entities.set(name, fields.map((f, i) => parseField(f, `entities.${name}.${i}`)));
  const domains: Domain[] = raw.domains.map((d) => ({
    id: d.id,
    label: d.label,
    subdomains: d.subdomains.map((s) => ({
      id: s.id,
      label: s.label,
      intents: s.intents.map((it) => {
        const where = `${d.id}.${s.id}.${it.id}`;
        if (intents.has(it.id)) throw new Error(`${where}: intent id used twice`);
        const [shape, entity] = it.returns.split(' ') as ['list' | 'one', string];
        const fields = entities.get(entity);
        if (!fields) throw new Error(`${where}: unknown entity "${entity}"`);
        const params = it.params.map((p, i) => parseParam(p, `${where}.params.${i}`));
        if (new Set(params.map((p) => p.name)).size !== params.length) throw new Error(`${where}: a parameter name is used twice`);
        const intent: Intent = { id: it.id, domain: d.id, subdomain: s.id, verb: it.verb, object: it.object, desc: it.desc, params, returns: { shape, entity, fields } };
        intents.set(it.id, intent);
        return intent;
      }),
    })),
  }));
  return { domains, intents, levels: cons.levels };
}

const TREES = load();

export const DOMAINS: readonly Domain[] = TREES.domains;
export const INTENTS: ReadonlyMap<string, Intent> = TREES.intents;
export const CONSTRAINT_LEVELS: readonly ConstraintLevel[] = TREES.levels;

export function allIntents(): Intent[] {
  return [...INTENTS.values()];
}

export function findDomain(id: string): Domain | undefined {
  return DOMAINS.find((d) => d.id === id);
}
