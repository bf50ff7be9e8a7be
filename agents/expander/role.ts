import type { z } from 'zod';
import type { ChatMessage } from '../../protocols/messages.ts';
import { defineRole, type HandlerContext } from '../../protocols/role.ts';
import { ExpanderContract, type ExpandInput, type ExpandOutput } from '../../protocols/roles/expander.ts';
import { deriveRngSeed } from '../../protocols/rng.ts';
import { ToolContract } from '../../protocols/roles/tool.ts';
import { answerMessage, primarySkill, Sample, type Label, type Provenance } from '../../protocols/sample.ts';
import { brainVerb, selectBrain, type BrainResources } from '../common/brains.ts';
import type { LlmDeps } from '../common/llm/brain.ts';
import { summarizeResult, summary } from '../common/sim/phrasing.ts';
import { rng } from '../../protocols/rng.ts';
import { isErrorResult, parseResult } from '../../protocols/truth/reply.ts';
import { expandSim } from './sim.ts';

type ExpandArgs = z.output<typeof ExpandInput>;
type LlmExpand = typeof import('./llm.ts').expandLlm;

/** The stable id of the sample a slot yields: one accepted expansion per slot. */
export function expansionId(parent: string, round: number, slot: number): string {
  return `${parent}~e${round}.${slot}`;
}

/**
 * The rest of the exchange after an llm-written sample, so the validator reads a whole
 * dialogue: the answer as an assistant turn, the tool role's results for its calls, and
 * a closing answer that reports them.
 */
async function finishDialogue(context: ChatMessage[], label: Label, tools: Sample['tools'], rngSeed: string, ctx: HandlerContext<BrainResources>): Promise<ChatMessage[]> {
  if (label.type === 'text') return [...context, answerMessage(label)];
  const calls = label.calls.map((c, i) => ({ ...c, id: c.id ?? `call_${context.length}_${i}` }));
  const out: ChatMessage[] = [...context, { role: 'assistant', content: '', tool_calls: calls }];
  const sentences: string[] = [];
  let failed = false;
  for (const [i, c] of calls.entries()) {
    const spec = tools.find((t) => t.name === c.name)!;
    const res = await ctx.call(ToolContract, 'execute', { seed: deriveRngSeed(rngSeed, 'tool', i), tool: spec, call: c });
    out.push({ role: 'tool', name: c.name, tool_call_id: c.id, content: res.content });
    const parsed = parseResult(res.content);
    failed ||= res.error || isErrorResult(parsed);
    sentences.push(summarizeResult(c.name, parsed, res.content));
  }
  out.push({ role: 'assistant', content: summary(rng(rngSeed, 'closing'), sentences, failed), tool_calls: [] });
  return out;
}

/** The id and provenance of the sample a request yields. */
function origin(input: ExpandArgs): { id: string; provenance: Provenance } {
  return { id: expansionId(input.sample.id, input.round, input.slot), provenance: { source: 'expansion', round: input.round, parent: input.sample.id, variation: input.variation } };
}

/** The llm brain's expansion (`expandLlm`, loaded with the first llm request), finished into a whole dialogue. */
async function expandWithLlm(expandLlm: LlmExpand, input: ExpandArgs, deps: LlmDeps, ctx: HandlerContext<BrainResources>): Promise<ExpandOutput> {
  const { id, provenance } = origin(input);
  const x = await expandLlm(input, deps);
  const dialogue = await finishDialogue(x.context, x.label, input.sample.tools, input.seed, ctx);
  return {
    // the generator is asked for the same kind of request: it inherits the seed's primary skill and level, untested
    sample: Sample.parse({
      id,
      kind: input.sample.kind,
      tools: input.sample.tools,
      context: x.context,
      label: x.label,
      provenance,
      skills: [primarySkill(input.sample)],
      ...(input.sample.difficulty ? { difficulty: input.sample.difficulty } : {}),
    }),
    dialogue,
    requireToolUse: x.label.type === 'calls' || x.context.some((m) => m.role === 'assistant' && m.tool_calls.length > 0),
    notes: x.notes,
  };
}

/**
 * The expander (EDDE). One request, one new sample from one error seed under one scenario
 * variation. The sim brain plays the new request with the round-0 roles over the bus and
 * keeps the truth; the llm brain writes the sample with the endpoint and the tool role
 * answers its calls. Validation is the caller's: the same validator and judge as seed data.
 */
export default defineRole<typeof ExpanderContract, BrainResources>({
  contract: ExpanderContract,
  concurrency: 8,
  init: (env) => selectBrain('expander', env),
  verbs: {
    expand: brainVerb(
      async () => {
        const { expandLlm } = await import('./llm.ts');
        return (input, deps, _sim, ctx) => expandWithLlm(expandLlm, input, deps, ctx);
      },
      async (input, sim, ctx): Promise<ExpandOutput> => {
        const { id, provenance } = origin(input);
        const x = await expandSim({ seed: input.seed, sample: input.sample, variation: input.variation, truth: input.hidden?.truth }, sim, ctx.call);
        return {
          sample: Sample.parse({ ...x.sample, id, provenance }),
          dialogue: x.dialogue,
          requireToolUse: x.requireToolUse,
          notes: x.notes,
          hidden: { plan: x.plan },
        };
      },
    ),
  },
});
