import { z } from 'zod';
import { JsonValue } from './json.ts';

/** One call of one tool, as it travels on the bus and sits in samples. */
export const ToolCall = z.object({
  id: z.string().optional(),
  name: z.string().min(1),
  arguments: z.record(z.string(), JsonValue),
});
export type ToolCall = z.infer<typeof ToolCall>;
