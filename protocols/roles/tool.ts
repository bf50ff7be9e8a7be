import { z } from 'zod';
import { defineContract } from '../role.ts';
import { ToolSpec } from '../toolspec.ts';
import { ToolCall } from '../toolcall.ts';
import { RngSeed } from '../rng.ts';

export const ExecuteInput = z.object({
  seed: RngSeed,
  tool: ToolSpec.describe('the spec of the called tool (its `returns` shapes the result)'),
  call: ToolCall,
});
export const ExecuteOutput = z.object({
  content: z.string().describe('the tool result as JSON text (an error object when `error`)'),
  error: z.boolean().describe('the call failed: invalid arguments, or a simulated failure'),
});

export const ToolContract = defineContract({
  name: 'tool',
  description: 'Executes one tool call against a simulated backend and returns its result.',
  verbs: {
    execute: { input: ExecuteInput, output: ExecuteOutput, description: 'run one call' },
  },
});
export type ToolContract = typeof ToolContract;
