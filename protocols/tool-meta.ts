import { z } from 'zod';

/**
 * What the simulator knows about a tool beyond its JSON schema: where it came from,
 * what each argument means (its semantic kind: city, date, amount, ...) and how a
 * user words it, and where the records sit in its result. Stored in `ToolSpec.meta`,
 * which is never shown to a policy or an llm brain (toOpenAITool drops it).
 */

export const ParamMeta = z.object({
  path: z.string().min(1).describe('dotted argument path with the tool\'s own names, e.g. "origin" or "options.cabinClass"'),
  label: z.string().min(1).describe('the parameter in plain words, e.g. "departure date"'),
  kind: z.string().min(1).describe('semantic kind of the value (city, date, time, count, amount, email, enum, flag, text, id.flight, ...)'),
  required: z.boolean().describe('a valid call must give it'),
  array: z.boolean().default(false).describe('the value is a list of values of `kind`'),
  options: z.array(z.union([z.string(), z.number(), z.boolean()])).optional().describe('allowed values (enums)'),
  phrases: z.array(z.string()).min(1).describe('how a user words it; "{v}" stands for the value, e.g. "from {v}"'),
});
export type ParamMeta = z.infer<typeof ParamMeta>;

export const ReturnsMeta = z.object({
  list: z.string().optional().describe('dotted path to the list of records in the result ("" = the result is the list)'),
  record: z.string().optional().describe('dotted path to the single record in the result ("" = the result itself)'),
  fields: z.record(z.string(), z.string()).default({}).describe('record field name -> semantic kind'),
});
export type ReturnsMeta = z.infer<typeof ReturnsMeta>;

export const ToolMeta = z.object({
  source: z.enum(['synth', 'openai', 'bfcl']),
  origin: z.string().optional().describe('file or question the spec was imported from'),
  path: z
    .object({ domain: z.string(), subdomain: z.string(), intent: z.string() })
    .optional()
    .describe('context-tree path of a synthesized tool'),
  constraints: z.record(z.string(), z.string()).optional().describe('constraint-tree path of a synthesized tool'),
  verb: z.string().describe('action class used to phrase requests: search, get, book, cancel, send, set, ...'),
  object: z.string().describe('what the action is about, as a user says it: "flights", "a table", "the thermostat"'),
  family: z.string().describe('tools of one family are near-duplicates the caller must choose between'),
  params: z.array(ParamMeta).default([]),
  returns: ReturnsMeta.optional(),
});
export type ToolMeta = z.infer<typeof ToolMeta>;

/** Reads a spec's meta; undefined when it has none or it is not ours. */
export function readToolMeta(meta: unknown): ToolMeta | undefined {
  const r = ToolMeta.safeParse(meta);
  return r.success ? r.data : undefined;
}
