import type { BaseMessage } from '@langchain/core/messages';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { ChatMessage } from '../../../protocols/messages.ts';
import { argumentsJson } from '../../../protocols/toolcalls/index.ts';

export type OpenAIMessage = ChatCompletionMessageParam;

function contentText(content: BaseMessage['content']): string {
  if (typeof content === 'string') return content;
  // Multimodal blocks: we only ever send text.
  return content.map((b) => (typeof b === 'string' ? b : 'text' in b && typeof b.text === 'string' ? b.text : '')).join('');
}

/** Rendered @langchain/core prompt messages → OpenAI chat messages (text only). */
export function fromLangchain(messages: BaseMessage[]): OpenAIMessage[] {
  return messages.map((m) => {
    const content = contentText(m.content);
    switch (m.type) {
      case 'system':
        return { role: 'system', content };
      case 'ai':
        return { role: 'assistant', content };
      case 'human':
        return { role: 'user', content };
      default:
        // Prompts here use system/human/ai only; anything else reads best as user text.
        return { role: 'user', content };
    }
  });
}

/**
 * A looptool dialogue → OpenAI chat messages. Calls without ids get stable ones
 * (`call_<turn>_<i>`) and tool messages without `tool_call_id` are paired with the
 * pending calls in order, which is how our dialogues are built (one result per
 * call, in call order).
 */
export function fromDialogue(messages: ChatMessage[]): OpenAIMessage[] {
  const out: OpenAIMessage[] = [];
  let pending: string[] = [];
  messages.forEach((m, turn) => {
    switch (m.role) {
      case 'system':
      case 'user':
        out.push({ role: m.role, content: m.content });
        break;
      case 'assistant': {
        if (m.tool_calls.length === 0) {
          out.push({ role: 'assistant', content: m.content });
          pending = [];
          break;
        }
        const calls = m.tool_calls.map((c, i) => ({
          id: c.id ?? `call_${turn}_${i}`,
          type: 'function' as const,
          // argumentsJson keeps integral floats (4.0) as the dialogue had them.
          function: { name: c.name, arguments: argumentsJson(c) },
        }));
        pending = calls.map((c) => c.id);
        out.push({ role: 'assistant', content: m.content || null, tool_calls: calls });
        break;
      }
      case 'tool': {
        const id = m.tool_call_id ?? pending.shift() ?? `call_${turn}_orphan`;
        if (m.tool_call_id) pending = pending.filter((p) => p !== m.tool_call_id);
        out.push({ role: 'tool', tool_call_id: id, content: m.content });
        break;
      }
    }
  });
  return out;
}
