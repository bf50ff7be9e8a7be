/**
 * Simulated API designer (the `sim` brain of the api-designer role).
 *
 * Models round-0 API synthesis: tool sets sampled from the context tree (domain ->
 * sub-domain -> intent) merged with constraint-tree paths (naming, parameter count
 * and types, output shape, description style), every spec checked by the rules;
 * plus the importers for OpenAI tools and BFCL function docs. Pure and seeded.
 */
import type { SimConfig } from '../../protocols/sim-config.ts';
import type { ToolSpec } from '../../protocols/toolspec.ts';
import type { ConstraintChoice } from '../../protocols/roles/api-designer.ts';
import { designToolSet } from './design.ts';
import { importSpecs, type ImportFormat, type ImportResult } from './import.ts';
import { CONSTRAINT_LEVELS, DOMAINS } from './trees.ts';

export type DesignRequest = { seed: string; count?: number; domain?: string; subdomain?: string; constraints?: ConstraintChoice; similar?: boolean };

export function simDesign(req: DesignRequest, cfg: SimConfig): { tools: ToolSpec[] } {
  return { tools: designToolSet(req, cfg) };
}

export function simImport(req: { format?: ImportFormat; source: unknown; origin?: string }): ImportResult {
  return importSpecs(req.source, req.format ?? 'auto', req.origin);
}

export function simTaxonomy(): {
  domains: { id: string; subdomains: { id: string; intents: string[] }[] }[];
  constraintLevels: { level: string; options: string[] }[];
} {
  return {
    domains: DOMAINS.map((d) => ({ id: d.id, subdomains: d.subdomains.map((s) => ({ id: s.id, intents: s.intents.map((i) => i.id) })) })),
    constraintLevels: CONSTRAINT_LEVELS.map((l) => ({ level: l.level, options: l.options.map((o) => o.id) })),
  };
}
