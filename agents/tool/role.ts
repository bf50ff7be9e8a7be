import { defineRole } from '../../protocols/role.ts';
import { ToolContract } from '../../protocols/roles/tool.ts';
import { llmDeps, selectBrain, type BrainResources } from '../common/brains.ts';
import { executeLlm } from './llm.ts';
import { simExecute } from './sim.ts';

/**
 * The tool: executes one call against a simulated backend (sim: results generated
 * from the spec's `returns`; llm: a model plays the service). Invalid arguments and
 * simulated failures come back as error results, not as bus errors.
 */
export default defineRole({
  contract: ToolContract,
  concurrency: 256,
  init: (env): BrainResources => selectBrain('tool', env),
  verbs: {
    execute: {
      async handle(input, ctx) {
        const r = ctx.resources;
        return r.brain === 'llm' ? executeLlm(input, { ...llmDeps(r, ctx), maxItems: r.config.sim.tool.maxItems }) : simExecute(input, r.config.sim);
      },
    },
  },
});
