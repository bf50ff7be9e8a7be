import { z } from 'zod';
import type { ChatMessage } from '../../../protocols/messages.ts';
import type { ToolCall } from '../../../protocols/toolcall.ts';
import { toOpenAITool, type ToolSpec } from '../../../protocols/toolspec.ts';
import { argumentsJson } from '../../../protocols/toolcalls/index.ts';
import { hashString } from '../../../protocols/rng.ts';
import type { CallOptions, LlmClient } from './client.ts';
import { stripThink } from './extract.ts';

/**
 * What every llm brain gets besides its input. A brain is a plain function
 * `(input, deps) => Promise<output>`; the role file that wires it to the bus
 * builds the client once per replica (resolveEndpoint + new LlmClient).
 */
export type LlmDeps = {
  client: LlmClient;
  /** The request's cancellation (HandlerContext.signal). */
  signal?: AbortSignal;
};

/**
 * Request options shared by all brains: the request's seed becomes the endpoint's
 * `seed` (OpenAI, vLLM and llama.cpp honour it), so a replayed request asks the
 * same question the same way.
 */
export function callOptions(deps: LlmDeps, label: string, seed: string, extra: CallOptions = {}): CallOptions {
  return { ...extra, label, signal: deps.signal, extraBody: { seed: hashString(seed) & 0x7fffffff, ...extra.extraBody } };
}

/**
 * Tools as the model sees them: OpenAI `tools` entries, so name, description and
 * parameters only. `meta` (simulator knowledge) never reaches a prompt; `returns`
 * is shown only where a brain asks for it (the tool simulator).
 */
export function toolsJson(tools: ToolSpec[], withReturns = false): string {
  return JSON.stringify(
    tools.map((t) => {
      const f = toOpenAITool(t);
      return withReturns && t.returns ? { ...f, function: { ...f.function, returns: t.returns } } : f;
    }),
    null,
    1,
  );
}

/** `name({"a":1})` with exact arguments (integral floats kept). */
export function callText(c: ToolCall): string {
  return `${c.name}(${argumentsJson(c)})`;
}

/**
 * A dialogue as numbered lines for prompts that read a conversation from outside
 * (user, judge). Numbers are indices into `messages`, so a judge can point at a
 * turn. Reasoning blocks are stripped: they are not part of what was said.
 */
export function transcript(messages: ChatMessage[]): string {
  if (messages.length === 0) return '(no messages yet)';
  return messages
    .map((m, i) => {
      switch (m.role) {
        case 'system':
          return `[${i}] SYSTEM: ${m.content}`;
        case 'user':
          return `[${i}] USER: ${m.content}`;
        case 'assistant': {
          const text = stripThink(m.content);
          const calls = m.tool_calls.map(callText);
          if (!calls.length) return `[${i}] ASSISTANT: ${text}`;
          return `[${i}] ASSISTANT${text ? ` (says: ${text})` : ''} calls: ${calls.join(' ; ')}`;
        }
        case 'tool':
          return `[${i}] TOOL RESULT (${m.name}): ${m.content}`;
      }
    })
    .join('\n');
}

export type Check = { path: (string | number)[]; message: string };

/**
 * A schema plus semantic checks that zod cannot express (names that must exist,
 * counts that must match). The checks run only when the shape is right, and their
 * issues travel like zod's: into the repair turn and the final error, by path.
 */
export function withChecks<S extends z.ZodType>(schema: S, check: (value: z.output<S>) => Check[]): z.ZodType<z.output<S>> {
  return schema.superRefine((value, ctx) => {
    for (const c of check(value as z.output<S>)) ctx.addIssue({ code: 'custom', path: c.path, message: c.message });
  }) as unknown as z.ZodType<z.output<S>>;
}
