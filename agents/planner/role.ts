import { defineRole } from '../../protocols/role.ts';
import { PlannerContract } from '../../protocols/roles/planner.ts';
import { brainVerb, selectBrain, type BrainResources } from '../common/brains.ts';
import { simPlan } from './sim.ts';

/**
 * The planner: writes the plan of one dialogue (linked requests of varied kinds).
 * Brain per config: `sim` (seeded, with planted teacher mistakes in plan.hidden) or
 * `llm` (never writes plan.hidden). Slots are cheap; an llm brain's requests in
 * flight are bounded by the endpoint limiter, not by the slots.
 */
export default defineRole<typeof PlannerContract, BrainResources>({
  contract: PlannerContract,
  concurrency: 256,
  init: (env) => selectBrain('planner', env),
  verbs: {
    plan: brainVerb(async () => {
      const { planLlm } = await import('./llm.ts');
      return (input, deps, sim) => planLlm(input, { ...deps, config: sim });
    }, simPlan),
  },
});
