import { z } from 'zod';
import { JsonValue } from './json.ts';

/**
 * One call of one tool, as it travels on the bus and sits in samples.
 *
 * `arguments` is plain JSON, where `4` and `4.0` are the same number. Python-call syntax and
 * the BFCL checker tell them apart, so a call parsed from text that wrote `4.0` says so in
 * `floats`: the JSON Pointers (RFC 6901, relative to `arguments`, e.g. "/price" or
 * "/points/0/x") of the numbers that were floats with an integral value. Non-integral numbers
 * are floats anyway and are not listed. Absent means "no integral floats". Formatters
 * (protocols/toolcalls) write those numbers back as `4.0`; ToolMatch ignores the field,
 * since in JSON the two spellings denote one value.
 */
export const ToolCall = z.object({
  id: z.string().optional(),
  name: z.string().min(1),
  arguments: z.record(z.string(), JsonValue),
  floats: z.array(z.string()).optional().describe('JSON Pointers (into arguments) of integral-valued floats, e.g. "/x" for 4.0'),
});
export type ToolCall = z.infer<typeof ToolCall>;
