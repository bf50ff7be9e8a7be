/**
 * Tool-set design (simulated API designer): picks function intents from the context
 * tree and synthesizes one spec per intent. A set built around one sub-domain holds
 * near-duplicate tools (search_flights, book_flight, get_flight_status, ...) that a
 * caller must choose between, and makes multi-step chains possible (a search
 * result's id feeds a booking); the rest of the set are distractors from other
 * domains. One naming style per set, as a real API provider would use.
 */
import type { ToolSpec } from '../../protocols/toolspec.ts';
import type { ConstraintChoice } from '../../protocols/roles/api-designer.ts';
import { LooptoolError } from '../../protocols/errors.ts';
import { checkToolSet, errorsOnly, type NamingStyle } from '../../protocols/toolspec-rules.ts';
import type { SimConfig } from '../../protocols/sim-config.ts';
import { rng, type Rng } from '../../protocols/rng.ts';
import { allIntents, CONSTRAINT_LEVELS, DOMAINS, findDomain, type Intent } from './trees.ts';
import { synthesizeTool } from './synth.ts';

export type DesignRequest = {
  seed: string;
  count?: number;
  domain?: string;
  subdomain?: string;
  constraints?: ConstraintChoice;
  similar?: boolean;
};

function sampleNaming(r: Rng): NamingStyle {
  const level = CONSTRAINT_LEVELS.find((l) => l.level === 'naming')!;
  return r.weighted(Object.fromEntries(level.options.map((o) => [o.id, o.weight]))) as NamingStyle;
}

function badInput(path: string, message: string): LooptoolError {
  return new LooptoolError({ code: 'invalid_input', message: 'cannot design this tool set', issues: [{ path, message }] });
}

/** Synthesizes a coherent set of `count` tools; every spec passes the rule checks. */
export function designToolSet(req: DesignRequest, cfg: SimConfig): ToolSpec[] {
  const r = rng(req.seed, 'design');
  const count = req.count ?? cfg.designer.toolsPerSet;
  const similar = req.similar ?? r.chance(cfg.designer.similarRate);
  const domain = req.domain ? findDomain(req.domain) : r.pick(DOMAINS);
  if (!domain) throw badInput('domain', `unknown domain "${req.domain}"; known: ${DOMAINS.map((d) => d.id).join(', ')}`);
  const sub = req.subdomain ? domain.subdomains.find((s) => s.id === req.subdomain) : r.pick(domain.subdomains);
  if (!sub) throw badInput('subdomain', `unknown sub-domain "${req.subdomain}" of ${domain.id}; known: ${domain.subdomains.map((s) => s.id).join(', ')}`);

  // candidate intents in order of preference
  const core = r.shuffle(sub.intents);
  const sameDomain = r.shuffle(domain.subdomains.filter((s) => s !== sub).flatMap((s) => s.intents));
  const elsewhere = r.shuffle(allIntents().filter((i) => i.domain !== domain.id));
  let order: Intent[];
  if (similar) {
    order = [...core, ...sameDomain, ...elsewhere];
  } else {
    // one intent per sub-domain: related by domain at most, never near-duplicates
    const bySub = new Map<string, Intent>();
    for (const i of [core[0]!, ...sameDomain, ...elsewhere]) if (!bySub.has(`${i.domain}/${i.subdomain}`)) bySub.set(`${i.domain}/${i.subdomain}`, i);
    order = [...bySub.values()];
  }

  const naming = req.constraints?.naming ?? sampleNaming(r);
  const fixed: ConstraintChoice = { ...req.constraints, naming };
  const tools: ToolSpec[] = [];
  for (const intent of order) {
    if (tools.length >= count) break;
    const spec = synthesizeTool(intent, r.fork('tool', intent.id), fixed);
    if (spec) tools.push(spec);
  }
  if (tools.length === 0)
    throw badInput('constraints', `no intent of the context tree fits the constraints ${JSON.stringify(req.constraints ?? {})}`);
  // the set is shown to the planner in random order, so position gives nothing away
  const set = r.shuffle(tools);
  const errors = errorsOnly(checkToolSet(set));
  if (errors.length)
    throw new LooptoolError({ code: 'internal', message: 'a synthesized tool set broke the rules', issues: errors.map((e) => ({ path: e.path, message: `${e.code}: ${e.message}` })) });
  return set;
}
