import { defineRole } from '../../protocols/role.ts';
import { UserContract } from '../../protocols/roles/user.ts';
import { llmDeps, selectBrain, type BrainResources } from '../common/brains.ts';
import { turnLlm } from './llm.ts';
import { simTurn } from './sim.ts';

/**
 * The user: writes the next user message of the plan (a request, or the values the
 * assistant asked for). The llm brain sees publicPlan(plan) only.
 */
export default defineRole({
  contract: UserContract,
  concurrency: 256,
  init: (env): BrainResources => selectBrain('user', env),
  verbs: {
    turn: {
      async handle(input, ctx) {
        const r = ctx.resources;
        return r.brain === 'llm' ? turnLlm(input, llmDeps(r, ctx)) : simTurn(input, r.config.sim);
      },
    },
  },
});
