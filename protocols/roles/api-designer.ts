import { z } from 'zod';
import { defineContract } from '../role.ts';
import { ToolSpec } from '../toolspec.ts';
import { RngSeed } from '../rng.ts';

/** One choice per level of the constraint tree; any level left out is sampled. */
export const ConstraintChoice = z.strictObject({
  naming: z.enum(['snake', 'camel', 'kebab']).optional().describe('style of the tool name and parameter names'),
  paramCount: z.enum(['zero', 'few', 'many']).optional().describe('zero parameters, 1-3, or 4 and more'),
  paramTypes: z
    .enum(['simple', 'enum', 'date', 'array', 'nested'])
    .optional()
    .describe('simple scalars only, or one complex feature: enums, ISO dates, arrays, a nested object'),
  output: z.enum(['bare', 'envelope', 'paged']).optional().describe('shape of the result: the record itself, {status,data}, or {items,total,page}'),
  description: z.enum(['concise', 'detailed', 'imperative']).optional().describe('style of the tool and parameter descriptions'),
});
export type ConstraintChoice = z.infer<typeof ConstraintChoice>;

export const DesignInput = z.object({
  seed: RngSeed,
  count: z.number().int().min(1).max(32).default(4).describe('number of tools in the set'),
  domain: z.string().optional().describe('context-tree domain id to draw from (e.g. "travel"); sampled when absent'),
  subdomain: z.string().optional().describe('context-tree sub-domain id (e.g. "flights"); sampled when absent'),
  constraints: ConstraintChoice.optional().describe('fixed constraint-tree choices; the rest is sampled per tool'),
  similar: z
    .boolean()
    .optional()
    .describe('include near-duplicate tools (siblings of one sub-domain) so that the right one must be chosen; default from config'),
});
export const DesignOutput = z.object({
  tools: z.array(ToolSpec).min(1).describe('a coherent tool set; every spec passes protocols/toolspec-rules.ts'),
});

export const ImportFormat = z.enum(['openai', 'bfcl', 'auto']);
export const ImportInput = z.object({
  format: ImportFormat.default('auto').describe('openai: `tools` JSON ({type:"function",function}); bfcl: function docs or question lines'),
  source: z
    .unknown()
    .describe('the external spec: a JSON value (array or object) or text (JSON or JSON Lines)'),
  origin: z.string().optional().describe('where it came from (file name), kept in each spec\'s meta'),
});
export const ImportIssue = z.object({
  path: z.string(),
  message: z.string(),
  unrepresentable: z.boolean().optional().describe('a type the tool-spec schema cannot express was replaced (a union, "any", an unknown name)'),
  tool: z.string().optional().describe('the function doc the issue belongs to'),
});
export const ImportOutput = z.object({
  tools: z.array(ToolSpec).describe('converted specs that pass the rule checks, deduplicated by name'),
  issues: z.array(ImportIssue).default([]).describe('what was skipped or changed, with the path in the source'),
  sets: z
    .array(z.array(z.string()))
    .default([])
    .describe('tool names grouped as the source groups them (one BFCL question\'s function list; one OpenAI tools array)'),
});

export const TaxonomyOutput = z.object({
  domains: z.array(
    z.object({
      id: z.string(),
      subdomains: z.array(z.object({ id: z.string(), intents: z.array(z.string()) })),
    }),
  ),
  constraintLevels: z.array(z.object({ level: z.string(), options: z.array(z.string()) })),
});

export const ApiDesignerContract = defineContract({
  name: 'api-designer',
  description: 'Round 0 API synthesis: samples the context and constraint trees into tool specs; imports external specs.',
  verbs: {
    design: { input: DesignInput, output: DesignOutput, description: 'synthesize a tool set' },
    import: { input: ImportInput, output: ImportOutput, description: 'convert OpenAI tools / BFCL function docs' },
    taxonomy: { input: z.object({}).default({}), output: TaxonomyOutput, description: 'list the context and constraint trees' },
  },
});
export type ApiDesignerContract = typeof ApiDesignerContract;
