import { defineRole } from '../../protocols/role.ts';
import { AssistantContract } from '../../protocols/roles/assistant.ts';
import { brainVerb, selectBrain, type BrainResources } from '../common/brains.ts';
import { simRespond } from './sim.ts';

/**
 * The assistant (the teacher of round 0): answers with tool calls, a clarifying
 * question, or text. The sim brain reads the plan from `hidden` and reports the
 * truth of its answer; the llm brain reads tools and messages only. Many slots:
 * self-consistency asks for several samples of every turn at once.
 */
export default defineRole<typeof AssistantContract, BrainResources>({
  contract: AssistantContract,
  concurrency: 256,
  init: (env) => selectBrain('assistant', env),
  verbs: {
    respond: brainVerb(async () => (await import('./llm.ts')).respondLlm, simRespond),
  },
});
