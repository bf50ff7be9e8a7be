import { z } from 'zod';
import { ToolCall } from './toolcall.ts';

export const SystemMessage = z.object({ role: z.literal('system'), content: z.string() });
export const UserMessage = z.object({ role: z.literal('user'), content: z.string() });
export const AssistantMessage = z.object({
  role: z.literal('assistant'),
  content: z.string().default(''),
  tool_calls: z.array(ToolCall).default([]),
});
export const ToolMessage = z.object({
  role: z.literal('tool'),
  tool_call_id: z.string().optional(),
  name: z.string().min(1),
  content: z.string(),
});

export const ChatMessage = z.discriminatedUnion('role', [SystemMessage, UserMessage, AssistantMessage, ToolMessage]);
export type ChatMessage = z.infer<typeof ChatMessage>;
export type AssistantMessage = z.infer<typeof AssistantMessage>;
export type ToolMessage = z.infer<typeof ToolMessage>;
