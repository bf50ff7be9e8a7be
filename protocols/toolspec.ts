import { z } from 'zod';

/**
 * The JSON-Schema subset that tool parameters use (OpenAI function calling):
 * string / number / integer / boolean / array (with items) / object (with properties),
 * enum, required, descriptions, plus `format` and `default` as documentation.
 */
export type ParamSchema = {
  type: 'string' | 'number' | 'integer' | 'boolean' | 'array' | 'object' | 'null';
  description?: string;
  enum?: (string | number | boolean)[];
  format?: string;
  default?: unknown;
  items?: ParamSchema;
  properties?: Record<string, ParamSchema>;
  required?: string[];
  additionalProperties?: boolean;
};

export const ParamType = z.enum(['string', 'number', 'integer', 'boolean', 'array', 'object', 'null']);

/**
 * How many levels of nested parameters are spelled out in the schema itself. zod compiles
 * a schema to straight-line code only when it has no cycle, and it inlines each nested
 * level (so the code doubles per level): nesting up to this depth runs on the compiled
 * path, and anything deeper is handed to ParamSchema again through `deeperParam`, so
 * every depth stays valid.
 */
const INLINE_LEVELS = 2;

// The recursion lives in a closure, where zod's cycle walk does not look: that is what
// keeps ParamSchema compilable. Issues keep their paths, prefixed by where they sit.
const deeperParam: z.ZodType<ParamSchema> = z.unknown().transform((value, ctx): ParamSchema => {
  const parsed = ParamSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue({ ...issue } as z.core.$ZodRawIssue);
  return z.NEVER;
}) as unknown as z.ZodType<ParamSchema>;

function paramLevel(levels: number): z.ZodType<ParamSchema> {
  const nested = levels > 0 ? paramLevel(levels - 1) : deeperParam;
  return z
    .object({
      type: ParamType,
      description: z.string().optional(),
      enum: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1).optional(),
      format: z.string().optional(),
      default: z.unknown().optional(),
      items: nested.optional(),
      properties: z.record(z.string(), nested).optional(),
      required: z.array(z.string()).optional(),
      additionalProperties: z.boolean().optional(),
    })
    .superRefine((s, ctx) => {
      if (s.type === 'array' && !s.items) ctx.addIssue({ code: 'custom', path: ['items'], message: 'an array parameter needs "items"' });
      for (const r of s.required ?? []) {
        if (!s.properties || !(r in s.properties))
          ctx.addIssue({ code: 'custom', path: ['required'], message: `required parameter "${r}" is not in properties` });
      }
    });
}

export const ParamSchema: z.ZodType<ParamSchema> = z.compile(paramLevel(INLINE_LEVELS));

export const FunctionName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'expected a function name of letters, digits, "_", "." or "-"');

export const ToolSpec = z.object({
  name: FunctionName,
  description: z.string().min(1, 'expected a non-empty description'),
  parameters: z
    .object({
      type: z.literal('object'),
      properties: z.record(z.string(), ParamSchema).default({}),
      required: z.array(z.string()).default([]),
      additionalProperties: z.boolean().optional(),
    })
    .superRefine((p, ctx) => {
      for (const r of p.required) {
        if (!(r in p.properties)) ctx.addIssue({ code: 'custom', path: ['required'], message: `required parameter "${r}" is not in properties` });
      }
    }),
  /** Shape of the tool's result, used by the tool simulator and validators. */
  returns: ParamSchema.optional(),
  /** Where the spec came from (synthesized path, imported file) — never shown to a policy. */
  meta: z.record(z.string(), z.unknown()).optional(),
});
export type ToolSpec = z.infer<typeof ToolSpec>;

/** OpenAI `tools` entry: {type: "function", function: {...}}. */
export const OpenAITool = z.object({
  type: z.literal('function'),
  function: z.object({
    name: FunctionName,
    description: z.string().default(''),
    parameters: z.unknown(),
  }),
});
export type OpenAITool = z.infer<typeof OpenAITool>;

export function toOpenAITool(spec: ToolSpec): OpenAITool {
  return { type: 'function', function: { name: spec.name, description: spec.description, parameters: spec.parameters } };
}
