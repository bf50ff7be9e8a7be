import type { z } from 'zod';
import type { RespondInput, RespondOutput } from '../../protocols/roles/assistant.ts';
import { callOptions, type LlmDeps } from '../common/llm/brain.ts';
import { toolConversation, toolTurn } from '../common/llm/tools.ts';
import { respondPrompt } from './prompts.ts';

/**
 * The llm assistant: the next assistant message, tool calls or text. Reads only
 * `tools` and `messages`; `hidden` (the plan with its planted mistakes) is
 * simulator truth and never reaches the endpoint. Call ids from the endpoint are
 * dropped: calls and results pair by order in our dialogues, and samples stay
 * comparable across endpoints.
 */
export async function respondLlm(input: z.output<typeof RespondInput>, deps: LlmDeps): Promise<RespondOutput> {
  const [system] = await deps.client.render(respondPrompt, {});
  const messages = toolConversation(deps.client.endpoint.toolMode, system!.content as string, input.messages, input.tools);
  const turn = await toolTurn(deps.client, messages, input.tools, callOptions(deps, 'assistant.respond', input.seed, { temperature: 0.6, maxTokens: 1024 }));
  return {
    role: 'assistant',
    content: turn.content,
    tool_calls: turn.calls.map(({ id: _id, ...c }) => c),
  };
}
