/**
 * BFCL and OpenAI parameter schemas -> our JSON-schema subset (ParamSchema). Pure: used by
 * the api-designer's importer (agents/api-designer/import.ts) and by `eval bfcl run`, which
 * sends BFCL function docs to a model as OpenAI `tools`. BFCL writes Python-flavoured types
 * (dict, float, tuple, any); they are mapped and every change is reported with its path.
 */
import type { ParamSchema } from './toolspec.ts';

/**
 * Something the conversion had to change. `unrepresentable`: a type the tool-spec schema
 * cannot express was replaced (a union such as ["string","null"], "any", an unknown
 * name): lenient callers (BFCL prompts) go on, `seed --tools` refuses. `tool` names the
 * function doc it came from when the importer knows it.
 */
export type ImportIssue = { path: string; message: string; unrepresentable?: boolean; tool?: string };

const TYPE_MAP: Record<string, ParamSchema['type']> = {
  string: 'string', str: 'string', integer: 'integer', int: 'integer', float: 'number', number: 'number', double: 'number',
  boolean: 'boolean', bool: 'boolean', array: 'array', list: 'array', tuple: 'array', dict: 'object', object: 'object',
  any: 'string', null: 'null',
};

type Raw = Record<string, unknown>;
export const isObj = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Converts one (BFCL or OpenAI) parameter schema; notes what it had to change. */
export function convertSchema(raw: unknown, path: string, issues: ImportIssue[]): ParamSchema {
  if (!isObj(raw)) {
    issues.push({ path, message: 'not a schema object; treated as a string' });
    return { type: 'string' };
  }
  const rawType = Array.isArray(raw.type) ? raw.type.find((t) => t !== 'null') : raw.type;
  let type = typeof rawType === 'string' ? TYPE_MAP[rawType.toLowerCase()] : undefined;
  if (!type) {
    issues.push({ path: `${path}.type`, message: `unknown type ${JSON.stringify(raw.type)}; treated as string`, unrepresentable: true });
    type = 'string';
  } else if (rawType === 'any') {
    issues.push({ path: `${path}.type`, message: '"any" has no JSON-schema equivalent here; treated as string', unrepresentable: true });
  } else if (Array.isArray(raw.type) && raw.type.length > 1) {
    // a parameter schema has one type: a union (a nullable value) would silently lose its other types
    issues.push({ path: `${path}.type`, message: `type ${JSON.stringify(raw.type)} is a union of types, which a tool spec cannot represent; taken as "${type}"`, unrepresentable: true });
  }
  const out: ParamSchema = { type };
  if (typeof raw.description === 'string') out.description = raw.description;
  if (typeof raw.format === 'string') out.format = raw.format;
  if ('default' in raw) out.default = raw.default;
  if (Array.isArray(raw.enum)) {
    const vals = raw.enum.filter((v) => ['string', 'number', 'boolean'].includes(typeof v)) as (string | number | boolean)[];
    if (vals.length !== raw.enum.length) issues.push({ path: `${path}.enum`, message: 'non-scalar enum values dropped' });
    if (vals.length && type !== 'array' && type !== 'object') {
      // BFCL sometimes writes numbers for a string enum and the reverse; the type wins
      out.enum = vals.map((v) => (type === 'string' ? String(v) : v)).filter((v) => (type === 'string' ? true : typeof v !== 'string'));
      if (!out.enum.length) delete out.enum;
    } else if (vals.length && type === 'array') {
      // an enum on an array constrains its items
      issues.push({ path: `${path}.enum`, message: 'enum on an array moved to its items' });
    } else if (!vals.length) issues.push({ path: `${path}.enum`, message: 'empty enum dropped' });
  }
  if (type === 'array') {
    if (isObj(raw.items)) out.items = convertSchema(raw.items, `${path}.items`, issues);
    else {
      issues.push({ path: `${path}.items`, message: 'array without items; items taken as strings' });
      out.items = { type: 'string' };
    }
    if (Array.isArray(raw.enum) && raw.enum.length && out.items && !out.items.enum && out.items.type !== 'object' && out.items.type !== 'array')
      out.items.enum = (raw.enum as (string | number | boolean)[]).filter((v) => ['string', 'number', 'boolean'].includes(typeof v));
  }
  if (type === 'object') {
    if (isObj(raw.properties)) {
      out.properties = {};
      for (const [k, v] of Object.entries(raw.properties)) out.properties[k] = convertSchema(v, `${path}.properties.${k}`, issues);
      if (Array.isArray(raw.required)) {
        const req = raw.required.filter((r): r is string => typeof r === 'string');
        const known = req.filter((r) => r in out.properties!);
        if (known.length !== req.length) issues.push({ path: `${path}.required`, message: `required names not in properties dropped: ${req.filter((r) => !known.includes(r)).join(', ')}` });
        out.required = known;
      }
    }
  }
  return out;
}
