import { defineRole } from '../../protocols/role.ts';
import { PlannerContract } from '../../protocols/roles/planner.ts';
import { llmDeps, selectBrain, type BrainResources } from '../common/brains.ts';
import { planLlm } from './llm.ts';
import { simPlan } from './sim.ts';

/**
 * The planner: writes the plan of one dialogue (linked requests of varied kinds).
 * Brain per config: `sim` (seeded, with planted teacher mistakes in plan.hidden) or
 * `llm` (never writes plan.hidden). Slots are cheap; an llm brain's requests in
 * flight are bounded by the endpoint limiter, not by the slots.
 */
export default defineRole({
  contract: PlannerContract,
  concurrency: 256,
  init: (env): BrainResources => selectBrain('planner', env),
  verbs: {
    plan: {
      async handle(input, ctx) {
        const r = ctx.resources;
        return r.brain === 'llm' ? planLlm(input, { ...llmDeps(r, ctx), config: r.config.sim }) : simPlan(input, r.config.sim);
      },
    },
  },
});
