import { z } from 'zod';
import { LooptoolError } from '../../protocols/errors.ts';
import { DEFAULT_SIM_CONFIG, type SimConfig } from '../../protocols/sim-config.ts';
import type { ParamMeta, ToolMeta } from '../../protocols/tool-meta.ts';
import { ParamSchema, ToolSpec } from '../../protocols/toolspec.ts';
import { checkToolSet, checkToolSpec, errorsOnly, toStyle, type NamingStyle } from '../../protocols/toolspec-rules.ts';
import type { DesignInput, DesignOutput } from '../../protocols/roles/api-designer.ts';
import { callOptions, withChecks, type Check, type LlmDeps } from '../common/llm/brain.ts';
import { rng, type Rng } from '../../protocols/rng.ts';
import { DESIGN_EXAMPLE, designPrompt } from './prompts.ts';
import { sampleConstraintPath, type ConstraintPath } from './synth.ts';
import { allIntents, CONSTRAINT_LEVELS, DOMAINS, findDomain, type Intent } from './trees.ts';

export type DesignerLlmDeps = LlmDeps & { config?: SimConfig };

// What the model writes: a spec without `meta` (that is ours to fill).
const ModelSpec = ToolSpec.omit({ meta: true }).strict();
type ModelSpec = z.infer<typeof ModelSpec>;

function walk(props: Record<string, ParamSchema>, prefix: string, visit: (path: string, s: ParamSchema) => void): void {
  for (const [k, s] of Object.entries(props)) {
    visit(prefix ? `${prefix}.${k}` : k, s);
    if (s.type === 'object' && s.properties) walk(s.properties, prefix ? `${prefix}.${k}` : k, visit);
    if (s.type === 'array' && s.items?.type === 'object' && s.items.properties) walk(s.items.properties, `${prefix ? `${prefix}.` : ''}${k}[]`, visit);
  }
}

/** The constraint path as checks: rule-check errors plus what each chosen option demands. */
export function specChecks(spec: ModelSpec, path: ConstraintPath): Check[] {
  const out: Check[] = errorsOnly(checkToolSpec(spec, { naming: path.naming })).map((i) => ({ path: i.path.split('.'), message: `${i.code}: ${i.message}` }));
  const top = Object.values(spec.parameters.properties);
  const n = top.length;
  if (path.paramCount === 'zero' && n !== 0) out.push({ path: ['parameters', 'properties'], message: `the constraint is zero parameters, got ${n}` });
  if (path.paramCount === 'few' && (n < 1 || n > 3)) out.push({ path: ['parameters', 'properties'], message: `the constraint is one to three parameters, got ${n}` });
  if (path.paramCount === 'many' && n < 4) out.push({ path: ['parameters', 'properties'], message: `the constraint is four or more parameters, got ${n}` });
  const all: ParamSchema[] = [];
  walk(spec.parameters.properties, '', (_p, s) => all.push(s));
  const need = (ok: boolean, what: string) => void (ok || out.push({ path: ['parameters'], message: `the parameter types constraint "${path.paramTypes}" needs ${what}` }));
  if (path.paramTypes === 'simple') need(!all.some((s) => s.type === 'array' || s.type === 'object'), 'no array or object parameters');
  if (path.paramTypes === 'enum') need(all.some((s) => s.enum), 'at least one parameter with "enum"');
  if (path.paramTypes === 'date') need(all.some((s) => s.format === 'date' || s.format === 'time' || s.format === 'date-time'), 'a parameter with format date, time or date-time');
  if (path.paramTypes === 'array') need(all.some((s) => s.type === 'array'), 'an array parameter with typed items');
  if (path.paramTypes === 'nested') need(top.some((s) => s.type === 'object' && s.properties), 'a nested object parameter with properties');
  if (!spec.returns) out.push({ path: ['returns'], message: 'the result schema is missing' });
  else if (path.output === 'envelope' && !(spec.returns.properties && 'status' in spec.returns.properties))
    out.push({ path: ['returns'], message: 'the output format "envelope" is an object with "status" and "data"' });
  else if (path.output === 'paged' && !(spec.returns.properties && Object.keys(spec.returns.properties).some((k) => /items/i.test(k))))
    out.push({ path: ['returns'], message: 'the output format "paged" is an object with "items", "total" and "page"' });
  return out;
}

/** Per-parameter semantics for the simulator, matched by name to the intent's parameters. */
function metaOf(spec: ModelSpec, intent: Intent, path: ConstraintPath): ToolMeta {
  const bySnake = new Map(intent.params.map((p) => [p.name, p]));
  const required = new Set(spec.parameters.required);
  const params: ParamMeta[] = [];
  walk(spec.parameters.properties, '', (p, s) => {
    if (p.includes('[]') || s.type === 'object') return;
    const leaf = p.split('.').at(-1)!;
    const ip = bySnake.get(toStyle(leaf, 'snake'));
    if (!ip) return;
    params.push({
      path: p,
      label: ip.name.replace(/_/g, ' '),
      kind: ip.kind,
      required: !p.includes('.') && required.has(p),
      array: s.type === 'array',
      ...(s.enum ? { options: s.enum } : ip.options ? { options: ip.options } : {}),
      phrases: ip.phrases.length ? ip.phrases : ['{v}'],
    });
  });
  return {
    source: 'synth',
    path: { domain: intent.domain, subdomain: intent.subdomain, intent: intent.id },
    constraints: { ...path, writer: 'llm' },
    verb: intent.verb,
    object: intent.object,
    family: `${intent.domain}/${intent.subdomain}`,
    params,
  };
}

function intentText(intent: Intent): string {
  const params = intent.params.map((p) => {
    const type = p.kind === 'enum' ? `one of ${p.options!.join(', ')}` : p.kind;
    return `- ${p.name}: ${p.array ? `list of ${type}` : type}${p.required ? ' (required)' : ' (optional)'}`;
  });
  const fields = intent.returns.fields.map((f) => `${f.name} (${f.kind === 'enum' ? `one of ${f.options!.join(', ')}` : f.kind})`).join(', ');
  return [
    `${intent.desc} (action: ${intent.verb}; about: ${intent.object})`,
    `Parameters:\n${params.join('\n') || '(none)'}`,
    `Result: ${intent.returns.shape === 'list' ? 'a list of' : 'one'} ${intent.returns.entity} record${intent.returns.shape === 'list' ? 's' : ''} with ${fields}`,
  ].join('\n');
}

function constraintsText(path: ConstraintPath): string {
  return CONSTRAINT_LEVELS.map((level) => {
    const chosen = path[level.level as keyof ConstraintPath];
    const about = level.options.find((o) => o.id === chosen)?.about ?? '';
    return `- ${level.level} (${level.about}): ${chosen} — ${about}`;
  }).join('\n');
}

function badInput(path: string, message: string): LooptoolError {
  return new LooptoolError({ code: 'invalid_input', message: 'cannot design this tool set', issues: [{ path, message }] });
}

/** Which intents to write, in order: near-duplicates of one sub-domain, or one per sub-domain. */
function pickIntents(r: Rng, domainId: string, subId: string, similar: boolean): Intent[] {
  const domain = findDomain(domainId)!;
  const sub = domain.subdomains.find((s) => s.id === subId)!;
  const core = r.shuffle(sub.intents);
  const sameDomain = r.shuffle(domain.subdomains.filter((s) => s !== sub).flatMap((s) => s.intents));
  const elsewhere = r.shuffle(allIntents().filter((i) => i.domain !== domain.id));
  if (similar) return [...core, ...sameDomain, ...elsewhere];
  const bySub = new Map<string, Intent>();
  for (const i of [core[0]!, ...sameDomain, ...elsewhere]) if (!bySub.has(`${i.domain}/${i.subdomain}`)) bySub.set(`${i.domain}/${i.subdomain}`, i);
  return [...bySub.values()];
}

/**
 * The llm API designer: samples context-tree and constraint-tree paths with the
 * request's seed (as the sim does), and has the model write each spec. Specs are
 * checked by zod, the rule checks and the constraint path; problems go back to the
 * model as repair turns. A tool the model cannot get right is left out; a set
 * with no tool at all is an error.
 */
export async function designLlm(input: z.output<typeof DesignInput>, deps: DesignerLlmDeps): Promise<z.output<typeof DesignOutput>> {
  const config = deps.config ?? DEFAULT_SIM_CONFIG;
  const r = rng(input.seed, 'llm-design');
  const count = input.count ?? config.designer.toolsPerSet;
  const similar = input.similar ?? r.chance(config.designer.similarRate);
  const domain = input.domain ? findDomain(input.domain) : r.pick(DOMAINS);
  if (!domain) throw badInput('domain', `unknown domain "${input.domain}"; known: ${DOMAINS.map((d) => d.id).join(', ')}`);
  const sub = input.subdomain ? domain.subdomains.find((s) => s.id === input.subdomain) : r.pick(domain.subdomains);
  if (!sub) throw badInput('subdomain', `unknown sub-domain "${input.subdomain}" of ${domain.id}; known: ${domain.subdomains.map((s) => s.id).join(', ')}`);
  const naming: NamingStyle =
    input.constraints?.naming ?? ((r.weighted(Object.fromEntries(CONSTRAINT_LEVELS.find((l) => l.level === 'naming')!.options.map((o) => [o.id, o.weight]))) ?? 'snake') as NamingStyle);

  const jobs: { intent: Intent; path: ConstraintPath }[] = [];
  for (const intent of pickIntents(r, domain.id, sub.id, similar)) {
    if (jobs.length >= count) break;
    const path = sampleConstraintPath(intent, r.fork('tool', intent.id), { ...input.constraints, naming });
    if (path) jobs.push({ intent, path });
  }
  if (jobs.length === 0) throw badInput('constraints', `no intent of the context tree fits the constraints ${JSON.stringify(input.constraints ?? {})}`);

  const results = await Promise.allSettled(
    jobs.map(async ({ intent, path }, i) => {
      const schema = withChecks(ModelSpec, (s) => specChecks(s, path));
      const spec = await deps.client.structured(
        designPrompt,
        {
          context: `${domain.label} → ${domain.subdomains.find((s) => s.id === intent.subdomain)?.label ?? intent.subdomain} → ${intent.id}`,
          intent: intentText(intent),
          constraints: constraintsText(path),
          example: DESIGN_EXAMPLE,
        },
        schema,
        callOptions(deps, 'api-designer.design', `${input.seed}/tool/${i}`, { temperature: 0.7, maxTokens: 1536 }),
      );
      return ToolSpec.parse({ ...spec, meta: metaOf(spec, intent, path) });
    }),
  );
  const tools: ToolSpec[] = [];
  const seen = new Set<string>();
  for (const res of results) if (res.status === 'fulfilled' && !seen.has(res.value.name)) (seen.add(res.value.name), tools.push(res.value));
  if (tools.length === 0) throw (results.find((x) => x.status === 'rejected') as PromiseRejectedResult).reason;
  const set = r.shuffle(tools);
  const errors = errorsOnly(checkToolSet(set));
  if (errors.length)
    throw new LooptoolError({ code: 'invalid_output', message: 'the designed tool set broke the rules', issues: errors.map((e) => ({ path: e.path, message: `${e.code}: ${e.message}` })) });
  return { tools: set };
}
