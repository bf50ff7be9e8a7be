import { createHash } from 'node:crypto';
import { canonicalJson, type JsonValue } from '../json.ts';
import type { Label, Sample } from '../sample.ts';
import type { ChatMessage } from '../messages.ts';
import type { ToolCall } from '../toolcall.ts';
import type { ToolSpec } from '../toolspec.ts';

/**
 * Content hashes: what makes two samples "the same" for deduplication in the merge.
 * Only what a policy sees and learns counts (tools without meta, context, label); ids,
 * provenance, masks and hidden truth do not, and neither do call ids, which are arbitrary.
 */

function call(c: ToolCall): JsonValue {
  return { name: c.name, arguments: c.arguments };
}

function message(m: ChatMessage): JsonValue {
  switch (m.role) {
    case 'assistant':
      return { role: m.role, content: m.content, tool_calls: m.tool_calls.map(call) };
    case 'tool':
      return { role: m.role, name: m.name, content: m.content };
    default:
      return { role: m.role, content: m.content };
  }
}

function tool(t: ToolSpec): JsonValue {
  return { name: t.name, description: t.description, parameters: t.parameters as unknown as JsonValue };
}

export function labelContent(l: Label): JsonValue {
  return l.type === 'text' ? { type: 'text', text: l.text } : { type: 'calls', calls: l.calls.map(call) };
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The canonical text a sample's content hash is taken over. */
export function sampleContent(s: Pick<Sample, 'tools' | 'context' | 'label'>): string {
  return canonicalJson({ tools: s.tools.map(tool), context: s.context.map(message), label: labelContent(s.label) });
}

/** Hash of a sample's content (32 hex chars). Equal content <=> equal hash (barring collisions). */
export function contentHash(s: Pick<Sample, 'tools' | 'context' | 'label'>): string {
  return sha256Hex(sampleContent(s)).slice(0, 32);
}

/** Hash of the prompt alone (tools + context): samples that ask the same thing. */
export function promptHash(s: Pick<Sample, 'tools' | 'context'>): string {
  return sha256Hex(canonicalJson({ tools: s.tools.map(tool), context: s.context.map(message) })).slice(0, 32);
}

/** A stable checksum of a whole JSONL file's text (for the manifest). */
export function checksum(text: string): string {
  return `sha256:${sha256Hex(text)}`;
}
