import { z } from 'zod';
import { LooptoolError } from '../../protocols/errors.ts';
import type { Label } from '../../protocols/sample.ts';
import {
  DialogueVerdict,
  VerifyVerdict,
  type JudgeDialogueInput,
  type JudgeDialogueOutput,
  type VerifyInput,
  type VerifyOutput,
} from '../../protocols/roles/judge.ts';
import { deriveRngSeed } from '../../protocols/rng.ts';
import { callOptions, callText, toolsJson, transcript, withChecks, type LlmDeps } from '../common/llm/brain.ts';
import { stripThink } from '../common/llm/extract.ts';
import { dialoguePrompt, verifyPrompt } from './prompts.ts';

export type JudgeLlmDeps = LlmDeps & {
  /**
   * Votes per request; the majority wins. judge_dialogue defaults to 1 (the caller
   * asks three times with three seeds); verify defaults to 3 (JGLV's verdict is one
   * request).
   */
  votes?: number;
};

type DialogueOut = z.output<typeof JudgeDialogueOutput>;
type VerifyOut = z.output<typeof VerifyOutput>;

// When votes tie, the verdict that changes the data least wins: a tie never rewrites a label.
const VERIFY_TIE_ORDER: z.infer<typeof VerifyVerdict>[] = ['PRED_WRONG', 'BOTH_CORRECT', 'BOTH_WRONG', 'LABEL_WRONG'];
const DIALOGUE_TIE_ORDER: z.infer<typeof DialogueVerdict>[] = ['INCORRECT', 'CORRECT'];

/**
 * Runs `n` votes concurrently (each with its own seed) and keeps the majority.
 * Votes that fail are left out; if all fail, the first failure is thrown.
 */
async function majority<V extends string, T extends { verdict: V; analysis: string }>(
  n: number,
  order: V[],
  vote: (i: number) => Promise<T>,
): Promise<T> {
  const settled = await Promise.allSettled(Array.from({ length: n }, (_, i) => vote(i)));
  const ok = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  if (ok.length === 0) throw (settled[0] as PromiseRejectedResult).reason;
  if (n === 1) return ok[0]!;
  const counts = new Map<V, number>();
  for (const v of ok) counts.set(v.verdict, (counts.get(v.verdict) ?? 0) + 1);
  const best = Math.max(...counts.values());
  const winner = order.find((v) => counts.get(v) === best)!;
  const chosen = ok.find((v) => v.verdict === winner)!;
  const tally = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || order.indexOf(a[0]) - order.indexOf(b[0]))
    .map(([v, c]) => `${v} ${c}`)
    .join(', ');
  const failed = n - ok.length;
  return { ...chosen, analysis: `${chosen.analysis}\n(votes: ${tally}${failed ? `; ${failed} failed` : ''})` };
}

const ModelDialogue = z.object({
  analysis: z.string().min(1),
  verdict: DialogueVerdict,
  turn: z.number().int().min(0).nullable().optional(),
});

/**
 * The llm judge of a whole dialogue (round-0 validation). Reads tools and messages
 * only; `hidden` (the plan with its planted mistakes) never reaches the endpoint.
 */
export async function judgeDialogueLlm(input: z.output<typeof JudgeDialogueInput>, deps: JudgeLlmDeps): Promise<DialogueOut> {
  const schema = withChecks(ModelDialogue, (o) => {
    if (o.verdict !== 'INCORRECT' || o.turn === null || o.turn === undefined) return [];
    return input.messages[o.turn]?.role === 'assistant' ? [] : [{ path: ['turn'], message: `message [${o.turn}] is not an assistant message` }];
  });
  const vars = { tools: toolsJson(input.tools), transcript: transcript(input.messages) };
  return majority(deps.votes ?? 1, DIALOGUE_TIE_ORDER, async (i) => {
    const seed = i === 0 ? input.seed : deriveRngSeed(input.seed, 'vote', i);
    const o = await deps.client.structured(dialoguePrompt, vars, schema, callOptions(deps, 'judge.judge_dialogue', seed, { temperature: 0.7, maxTokens: 1024 }));
    const out: DialogueOut = { verdict: o.verdict, analysis: o.analysis.trim() };
    if (o.verdict === 'INCORRECT' && typeof o.turn === 'number') out.turn = o.turn;
    return out;
  });
}

/** A label or prediction as the judge reads it; reasoning (<think>) removed from text. */
export function answerText(l: Label): string {
  if (l.type === 'text') return `A text reply, no tool call: ${JSON.stringify(stripThink(l.text))}`;
  return `Tool call${l.calls.length > 1 ? 's' : ''}:\n${l.calls.map((c) => `- ${callText(c)}`).join('\n')}`;
}

const ModelVerify = z.object({ analysis: z.string().min(1), verdict: VerifyVerdict });

/**
 * The llm judge of JGLV: tools, context, label and prediction (reasoning stripped),
 * `votes` votes (default 3), majority verdict. Reads `sample` through its public
 * fields only; neither `hidden` nor any `truth` reaches the endpoint.
 */
export async function verifyLlm(input: z.output<typeof VerifyInput>, deps: JudgeLlmDeps): Promise<VerifyOut> {
  const { sample, prediction } = input;
  const vars = {
    tools: toolsJson(sample.tools),
    context: transcript(sample.context),
    label: answerText(sample.label),
    prediction: answerText(prediction),
  };
  const votes = deps.votes ?? 3;
  if (!Number.isInteger(votes) || votes < 1) throw new LooptoolError({ code: 'invalid_input', message: `votes must be a positive integer, got ${votes}` });
  return majority(votes, VERIFY_TIE_ORDER, async (i) => {
    const o = await deps.client.structured(
      verifyPrompt,
      vars,
      ModelVerify,
      callOptions(deps, 'judge.verify', deriveRngSeed(input.seed, 'vote', i), { temperature: 0.7, maxTokens: 1024 }),
    );
    return { verdict: o.verdict, analysis: o.analysis.trim() };
  });
}
