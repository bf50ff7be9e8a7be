import { z } from 'zod';
import { JsonValue } from '../../protocols/json.ts';
import type { ExecuteInput, ExecuteOutput } from '../../protocols/roles/tool.ts';
import { argumentsJson } from '../../protocols/toolcalls/index.ts';
import { callOptions, toolsJson, type LlmDeps } from '../common/llm/brain.ts';
import { executePrompt } from './prompts.ts';

export type ToolLlmDeps = LlmDeps & {
  /** Most records in a list result (the sim world's tool.maxItems by default). */
  maxItems?: number;
};

const ModelResult = z.object({ error: z.boolean(), result: JsonValue });

/**
 * Problems any service would reject before doing anything: required parameters
 * missing, parameters that do not exist. Answered here, without a model, so the
 * verdict is exact (type and format judgements are left to the model).
 */
export function argumentErrors(input: Pick<z.output<typeof ExecuteInput>, 'tool' | 'call'>): string[] {
  const { tool, call } = input;
  const errs: string[] = [];
  if (call.name !== tool.name) errs.push(`called "${call.name}" but this service is "${tool.name}"`);
  const props = tool.parameters.properties;
  for (const r of tool.parameters.required) if (!(r in call.arguments)) errs.push(`missing required parameter "${r}"`);
  if (tool.parameters.additionalProperties !== true)
    for (const k of Object.keys(call.arguments)) if (!(k in props)) errs.push(`unknown parameter "${k}"`);
  return errs;
}

/** The llm tool: one call's result (JSON text) and whether it is an error. */
export async function executeLlm(input: z.output<typeof ExecuteInput>, deps: ToolLlmDeps): Promise<z.output<typeof ExecuteOutput>> {
  const errs = argumentErrors(input);
  if (errs.length) return { content: JSON.stringify({ error: { code: 'invalid_arguments', message: errs.join('; ') } }), error: true };
  const out = await deps.client.structured(
    executePrompt,
    {
      tool: toolsJson([input.tool], true),
      call: `{"name": ${JSON.stringify(input.call.name)}, "arguments": ${argumentsJson(input.call)}}`,
      maxItems: String(deps.maxItems ?? 3),
    },
    ModelResult,
    callOptions(deps, 'tool.execute', input.seed, { temperature: 0.7, maxTokens: 1024 }),
  );
  return { content: JSON.stringify(out.result), error: out.error };
}
