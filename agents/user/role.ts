import { defineRole } from '../../protocols/role.ts';
import { UserContract } from '../../protocols/roles/user.ts';
import { brainVerb, selectBrain, type BrainResources } from '../common/brains.ts';
import { simTurn } from './sim.ts';

/**
 * The user: writes the next user message of the plan (a request, or the values the
 * assistant asked for). The llm brain sees publicPlan(plan) only.
 */
export default defineRole<typeof UserContract, BrainResources>({
  contract: UserContract,
  concurrency: 256,
  init: (env) => selectBrain('user', env),
  verbs: {
    turn: brainVerb(async () => (await import('./llm.ts')).turnLlm, simTurn),
  },
});
