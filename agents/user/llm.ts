import type { z } from 'zod';
import { publicPlan } from '../../protocols/plan.ts';
import { TurnOutput, type TurnInput } from '../../protocols/roles/user.ts';
import { callOptions, toolsJson, transcript, withChecks, type LlmDeps } from '../common/llm/brain.ts';
import { turnPrompt } from './prompts.ts';

const Checked = withChecks(TurnOutput, (o) =>
  !o.done && o.content.trim() === '' ? [{ path: ['content'], message: 'the plan is not done, so the message cannot be empty' }] : [],
);

/**
 * The llm user: writes the next user message of the plan. It is shown
 * publicPlan(plan) only: the planted teacher mistakes in `plan.hidden` never reach
 * the prompt.
 */
export async function turnLlm(input: z.output<typeof TurnInput>, deps: LlmDeps): Promise<z.output<typeof TurnOutput>> {
  const plan = publicPlan(input.plan);
  const out = await deps.client.structured(
    turnPrompt,
    {
      tools: toolsJson(input.tools),
      plan: JSON.stringify(plan, null, 1),
      transcript: transcript(input.messages),
      userTurns: String(input.messages.filter((m) => m.role === 'user').length),
    },
    Checked,
    callOptions(deps, 'user.turn', input.seed, { temperature: 0.9, maxTokens: 512 }),
  );
  return { content: out.content.trim(), done: out.done };
}
