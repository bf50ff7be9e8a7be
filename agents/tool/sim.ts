/**
 * Simulated tool backend (the `sim` brain of the tool role).
 *
 * Models an API server: it validates the call against the spec the way a real
 * endpoint would (unknown tool or argument, missing required argument, wrong type,
 * value outside the enum -> an error result), fails now and then anyway (service
 * unavailable, rate limited, not found) at the configured rate, and otherwise
 * returns a result that follows the declared `returns` shape, with values of the
 * right semantic kind (ids, prices, times, ...) and the call's own values echoed
 * where a result field has the same name. Pure: the result depends on the input alone.
 */
import type { JsonValue } from '../../protocols/json.ts';
import type { ParamSchema, ToolSpec } from '../../protocols/toolspec.ts';
import type { ToolCall } from '../../protocols/toolcall.ts';
import type { SimConfig } from '../../protocols/sim-config.ts';
import { genValue } from '../../protocols/truth/kinds.ts';
import { rng, type Rng } from '../../protocols/rng.ts';
import { toolMetaOf } from '../../protocols/truth/infer.ts';
import { nameWords } from '../../protocols/toolspec-rules.ts';

export type ExecuteRequest = { seed: string; tool: ToolSpec; call: ToolCall };
export type ExecuteReply = { content: string; error: boolean };

const FAILURES = [
  'service temporarily unavailable, try again later',
  'rate limit exceeded',
  'upstream timeout',
  'no matching records found',
  'the request was rejected by the provider',
];

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function fits(s: ParamSchema, v: JsonValue): boolean {
  const t = typeName(v);
  if (s.type === 'number') return t === 'number' || t === 'integer';
  return t === s.type;
}

/** Problems with a call, in the words an API would use; empty when it is valid. */
export function validateCall(tool: ToolSpec, call: ToolCall): string[] {
  const problems: string[] = [];
  if (call.name !== tool.name) problems.push(`unknown function "${call.name}"`);
  const walk = (props: Record<string, ParamSchema>, required: string[], args: Record<string, JsonValue>, at: string) => {
    for (const r of required) if (args[r] === undefined) problems.push(`missing required parameter "${at}${r}"`);
    for (const [k, v] of Object.entries(args)) {
      const s = props[k];
      if (!s) {
        problems.push(`unexpected parameter "${at}${k}"`);
        continue;
      }
      check(s, v, `${at}${k}`);
    }
  };
  const check = (s: ParamSchema, v: JsonValue, path: string) => {
    if (!fits(s, v)) {
      problems.push(`parameter "${path}" must be of type ${s.type}, got ${typeName(v)}`);
      return;
    }
    if (s.enum && !s.enum.some((e) => e === v)) problems.push(`parameter "${path}" must be one of ${s.enum.join(', ')}`);
    if (s.type === 'array' && s.items && Array.isArray(v)) v.forEach((x, i) => check(s.items!, x, `${path}[${i}]`));
    if (s.type === 'object' && s.properties && v && typeof v === 'object' && !Array.isArray(v))
      walk(s.properties, s.required ?? [], v as Record<string, JsonValue>, `${path}.`);
  };
  walk(tool.parameters.properties, tool.parameters.required, call.arguments, '');
  return problems;
}

type GenCtx = { r: Rng; args: Map<string, JsonValue>; fields: Record<string, string>; maxItems: number };

function byType(s: ParamSchema, r: Rng): JsonValue {
  switch (s.type) {
    case 'integer':
      return r.int(1, 500);
    case 'number':
      return Math.round(r.next() * 100000) / 100;
    case 'boolean':
      return r.chance(0.5);
    case 'null':
      return null;
    default:
      return r.pick(['ok', 'available', 'standard', 'n/a']);
  }
}

function generate(s: ParamSchema, name: string, ctx: GenCtx): JsonValue {
  if (s.enum?.length) return ctx.r.pick(s.enum);
  if (s.type === 'object') {
    const out: Record<string, JsonValue> = {};
    for (const [k, p] of Object.entries(s.properties ?? {})) {
      if (k === 'total' || k === 'page') continue;
      out[k] = generate(p, k, ctx);
    }
    // paged results: the count and page follow the items
    if (s.properties?.total) out.total = Array.isArray(out.items) ? out.items.length : 0;
    if (s.properties?.page) out.page = 1;
    return out;
  }
  if (s.type === 'array') {
    const n = ctx.r.int(1, ctx.maxItems);
    return Array.from({ length: n }, () => generate(s.items ?? { type: 'string' }, name, ctx));
  }
  // a field named like an argument echoes it (a search for Paris returns Paris; "target" echoes "target_currency")
  const echoed = ctx.args.get(name) ?? echoByName(name, ctx.args);
  if (echoed !== undefined && fits(s, echoed)) return echoed;
  const kind = ctx.fields[name];
  if (kind && kind !== 'enum') {
    const v = genValue(kind, ctx.r);
    if (v !== null && fits(s, v)) return v;
  }
  return byType(s, ctx.r);
}

function echoByName(field: string, args: Map<string, JsonValue>): JsonValue | undefined {
  const f = nameWords(field).join('_');
  if (f.length < 3) return undefined;
  const hits = [...args.entries()].filter(([k]) => {
    const a = nameWords(k).join('_');
    return a.startsWith(`${f}_`) || a.endsWith(`_${f}`) || f.endsWith(`_${a}`);
  });
  return hits.length === 1 ? hits[0]![1] : undefined;
}

function flatArgs(args: Record<string, JsonValue>, out = new Map<string, JsonValue>()): Map<string, JsonValue> {
  for (const [k, v] of Object.entries(args)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) flatArgs(v as Record<string, JsonValue>, out);
    else out.set(k, v);
  }
  return out;
}

/** Runs one call against the simulated backend. */
export function simExecute(req: ExecuteRequest, cfg: SimConfig): ExecuteReply {
  const r = rng(req.seed, 'tool', req.call.name);
  const problems = validateCall(req.tool, req.call);
  if (problems.length) return { content: JSON.stringify({ error: problems.join('; ') }), error: true };
  if (r.chance(cfg.tool.errorRate)) return { content: JSON.stringify({ error: r.pick(FAILURES) }), error: true };
  const meta = toolMetaOf(req.tool);
  if (!req.tool.returns) return { content: JSON.stringify({ status: 'success' }), error: false };
  const result = generate(req.tool.returns, 'result', { r, args: flatArgs(req.call.arguments), fields: meta.returns?.fields ?? {}, maxItems: cfg.tool.maxItems });
  return { content: JSON.stringify(result), error: false };
}
