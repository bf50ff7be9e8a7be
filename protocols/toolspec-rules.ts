import { ToolSpec } from './toolspec.ts';

/**
 * Rule checks for tool specs (round 0 API synthesis, imports, EDDE). Pure.
 * The rules walk the raw value, so that a broken spec gets every problem reported
 * with its own rule code and path; whatever else the ToolSpec schema rejects is
 * reported as `schema`. `error` issues make a spec unusable; `warning` issues are
 * style problems that real-world specs often have (mixed naming, undocumented
 * parameters) and do not keep a spec out of the pool.
 */

export type RuleSeverity = 'error' | 'warning';
export type RuleIssue = { path: string; code: string; severity: RuleSeverity; message: string };

export type NamingStyle = 'snake' | 'camel' | 'kebab';
export type DetectedStyle = NamingStyle | 'pascal' | 'single' | 'mixed';

const SNAKE = /^[a-z][a-z0-9]*(_[a-z0-9]+)+$/;
const CAMEL = /^[a-z][a-z0-9]*([A-Z][a-z0-9]*)+$/;
const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)+$/;
const PASCAL = /^[A-Z][a-z0-9]*([A-Z][a-z0-9]*)*$/;
const SINGLE = /^[a-z][a-z0-9]*$/;
const TOOL_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const PARAM_NAME = /^[A-Za-z_$][A-Za-z0-9_.$-]*$/;
const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'array', 'object', 'null']);
const KNOWN_FORMATS = new Set(['date', 'time', 'date-time', 'email', 'uri', 'uuid', 'ipv4', 'ipv6', 'hostname']);

/** Style of one name; dotted namespaces ("math.factorial") are judged on their last part. */
export function namingStyleOf(name: string): DetectedStyle {
  const last = name.includes('.') ? name.slice(name.lastIndexOf('.') + 1) : name;
  if (SINGLE.test(last)) return 'single';
  if (SNAKE.test(last)) return 'snake';
  if (CAMEL.test(last)) return 'camel';
  if (KEBAB.test(last)) return 'kebab';
  if (PASCAL.test(last)) return 'pascal';
  return 'mixed';
}

/** Splits a name in any style into lower-case words. */
export function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[\s_.\-]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

/** Writes words (or a name in any style) in the given style. */
export function toStyle(nameOrWords: string | string[], style: NamingStyle): string {
  const words = Array.isArray(nameOrWords) ? nameOrWords : nameWords(nameOrWords);
  if (style === 'snake') return words.join('_');
  if (style === 'kebab') return words.join('-');
  return words.map((w, i) => (i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1))).join('');
}

function compatible(found: DetectedStyle, wanted: NamingStyle): boolean {
  return found === 'single' || found === wanted;
}

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

function typeOfValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function valueFits(type: string, v: unknown): boolean {
  const t = typeOfValue(v);
  if (type === 'number') return t === 'number' || t === 'integer';
  return t === type;
}

/** `returns` is checked for structure only: result fields need no docs and may nest deeper. */
type Ctx = { issues: RuleIssue[]; names: { path: string; name: string }[]; returns?: boolean };

function push(ctx: Ctx, path: string, code: string, severity: RuleSeverity, message: string): void {
  ctx.issues.push({ path, code, severity, message });
}

function checkSchema(s: unknown, path: string, ctx: Ctx, depth: number, isParam: boolean): void {
  if (!isObj(s)) {
    push(ctx, path, 'param_schema', 'error', 'expected a schema object');
    return;
  }
  const type = s.type;
  if (typeof type !== 'string' || !TYPES.has(type)) {
    push(ctx, `${path}.type`, 'param_type', 'error', `unknown type ${JSON.stringify(type)}; expected one of ${[...TYPES].join(', ')}`);
    return;
  }
  if (isParam && !ctx.returns && (typeof s.description !== 'string' || !s.description.trim()))
    push(ctx, `${path}.description`, 'param_description', 'warning', 'parameter has no description');
  if (s.enum !== undefined) {
    if (!Array.isArray(s.enum)) push(ctx, `${path}.enum`, 'enum_type', 'error', 'enum must be a list');
    else {
      if (s.enum.length === 0) push(ctx, `${path}.enum`, 'enum_empty', 'error', 'enum lists no values');
      if (type === 'array' || type === 'object') push(ctx, `${path}.enum`, 'enum_type', 'error', `enum on a ${type}`);
      else
        s.enum.forEach((v, i) => {
          if (!valueFits(type, v)) push(ctx, `${path}.enum.${i}`, 'enum_type', 'error', `enum value ${JSON.stringify(v)} is not of type ${type}`);
        });
      if (new Set(s.enum.map((v) => JSON.stringify(v))).size !== s.enum.length)
        push(ctx, `${path}.enum`, 'enum_duplicate', 'error', 'enum lists a value twice');
    }
  }
  if (s.format !== undefined) {
    if (type !== 'string') push(ctx, `${path}.format`, 'format_type', 'error', `format ${JSON.stringify(s.format)} on a ${type}`);
    else if (typeof s.format !== 'string' || !KNOWN_FORMATS.has(s.format))
      push(ctx, `${path}.format`, 'format_unknown', 'warning', `unknown format ${JSON.stringify(s.format)}`);
  }
  if (s.default !== undefined && s.default !== null) {
    if (!valueFits(type, s.default))
      push(ctx, `${path}.default`, 'default_type', 'warning', `default ${JSON.stringify(s.default)} is not of type ${type}`);
    else if (Array.isArray(s.enum) && !s.enum.some((e) => e === s.default))
      push(ctx, `${path}.default`, 'default_enum', 'warning', `default ${JSON.stringify(s.default)} is not in the enum`);
  }
  if (type === 'array') {
    if (s.items === undefined) push(ctx, `${path}.items`, 'array_items', 'error', 'an array needs "items"');
    else checkSchema(s.items, `${path}.items`, ctx, depth + 1, false);
  } else if (s.items !== undefined) {
    push(ctx, `${path}.items`, 'items_on_scalar', 'warning', `"items" on a ${type} is ignored`);
  }
  if (type === 'object') checkObject(s.properties, s.required, path, ctx, depth + 1);
  else if (s.properties !== undefined) push(ctx, `${path}.properties`, 'properties_on_scalar', 'warning', `"properties" on a ${type} is ignored`);
  if (depth > 4 && !ctx.returns) push(ctx, path, 'too_deep', 'warning', 'parameters nested more than 4 levels deep');
}

function checkObject(properties: unknown, required: unknown, path: string, ctx: Ctx, depth: number): void {
  if (properties !== undefined && !isObj(properties)) {
    push(ctx, `${path}.properties`, 'properties_type', 'error', 'properties must be an object of schemas');
    return;
  }
  const props = properties ?? {};
  let req: string[] = [];
  if (required !== undefined) {
    if (!Array.isArray(required) || required.some((r) => typeof r !== 'string'))
      push(ctx, `${path}.required`, 'required_type', 'error', 'required must be a list of names');
    else req = required as string[];
  }
  req.forEach((r, i) => {
    if (!(r in props)) push(ctx, `${path}.required.${i}`, 'required_unknown', 'error', `required "${r}" is not a property`);
  });
  if (new Set(req).size !== req.length) push(ctx, `${path}.required`, 'required_duplicate', 'error', 'a name is required twice');
  for (const [name, schema] of Object.entries(props)) {
    const p = `${path}.properties.${name}`;
    if (!PARAM_NAME.test(name)) push(ctx, p, 'param_name', 'error', `"${name}" is not a valid parameter name`);
    ctx.names.push({ path: p, name });
    if (req.includes(name) && isObj(schema) && schema.default !== undefined && schema.default !== null)
      push(ctx, `${p}.default`, 'required_default', 'warning', 'a required parameter has a default');
    checkSchema(schema, p, ctx, depth, true);
  }
}

/**
 * Checks one spec. `naming` (or the spec's own `meta.constraints.naming`) makes the
 * style of every name an error to break; without it, mixed styles are a warning.
 */
export function checkToolSpec(spec: unknown, opts: { naming?: NamingStyle } = {}): RuleIssue[] {
  const ctx: Ctx = { issues: [], names: [] };
  if (!isObj(spec)) return [{ path: '(root)', code: 'schema', severity: 'error', message: 'expected a tool spec object' }];
  const name = spec.name;
  if (typeof name !== 'string' || !name) push(ctx, 'name', 'name', 'error', 'the tool has no name');
  else if (!TOOL_NAME.test(name) || name.length > 64)
    push(ctx, 'name', 'name', 'error', `"${name}" is not a valid function name (letters, digits, "_", "." or "-"; at most 64)`);
  if (typeof spec.description !== 'string' || !spec.description.trim()) push(ctx, 'description', 'description', 'error', 'the tool has no description');
  const params = spec.parameters;
  if (!isObj(params)) push(ctx, 'parameters', 'parameters', 'error', 'parameters must be an object schema');
  else {
    if (params.type !== 'object') push(ctx, 'parameters.type', 'parameters', 'error', 'parameters must have type "object"');
    checkObject(params.properties, params.required, 'parameters', ctx, 1);
  }
  if (spec.returns !== undefined) checkSchema(spec.returns, 'returns', { issues: ctx.issues, names: [], returns: true }, 1, false);

  // anything else the schema rejects, where no rule has spoken already
  const parsed = ToolSpec.safeParse(spec);
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      const path = i.path.map(String).join('.') || '(root)';
      if (!ctx.issues.some((x) => x.severity === 'error' && (path === x.path || path.startsWith(`${x.path}.`) || x.path.startsWith(`${path}.`))))
        push(ctx, path, 'schema', 'error', i.message);
    }
  }

  const meta = spec.meta as { constraints?: { naming?: unknown } } | undefined;
  const metaNaming = meta?.constraints?.naming;
  const declared = opts.naming ?? (metaNaming === 'snake' || metaNaming === 'camel' || metaNaming === 'kebab' ? metaNaming : undefined);
  if (typeof name === 'string' && name) {
    const toolStyle = namingStyleOf(name);
    if (declared) {
      if (!compatible(toolStyle, declared)) push(ctx, 'name', 'name_style', 'error', `"${name}" is not ${declared} case`);
      for (const n of ctx.names)
        if (!compatible(namingStyleOf(n.name), declared)) push(ctx, n.path, 'name_style', 'error', `"${n.name}" is not ${declared} case`);
    } else {
      const styles = new Set([toolStyle, ...ctx.names.map((n) => namingStyleOf(n.name))].filter((s) => s !== 'single'));
      if (styles.size > 1) push(ctx, 'name', 'name_style', 'warning', `names mix styles: ${[...styles].join(', ')}`);
    }
  }
  return ctx.issues;
}

/** Checks a tool set: every spec (paths prefixed by its index) and no name twice. */
export function checkToolSet(specs: unknown[]): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const seen = new Map<string, number>();
  specs.forEach((s, i) => {
    for (const issue of checkToolSpec(s)) issues.push({ ...issue, path: `${i}.${issue.path}` });
    const name = isObj(s) ? s.name : undefined;
    if (typeof name === 'string') {
      const first = seen.get(name);
      if (first !== undefined) issues.push({ path: `${i}.name`, code: 'duplicate_tool', severity: 'error', message: `"${name}" is also tool ${first}` });
      else seen.set(name, i);
    }
  });
  return issues;
}

export function hasErrors(issues: RuleIssue[]): boolean {
  return issues.some((i) => i.severity === 'error');
}

export function errorsOnly(issues: RuleIssue[]): RuleIssue[] {
  return issues.filter((i) => i.severity === 'error');
}
