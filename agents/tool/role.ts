import { defineRole } from '../../protocols/role.ts';
import { ToolContract } from '../../protocols/roles/tool.ts';
import { brainVerb, selectBrain, type BrainResources } from '../common/brains.ts';
import { simExecute } from './sim.ts';

/**
 * The tool: executes one call against a simulated backend (sim: results generated
 * from the spec's `returns`; llm: a model plays the service). Invalid arguments and
 * simulated failures come back as error results, not as bus errors.
 */
export default defineRole<typeof ToolContract, BrainResources>({
  contract: ToolContract,
  concurrency: 256,
  init: (env) => selectBrain('tool', env),
  verbs: {
    execute: brainVerb(async () => {
      const { executeLlm } = await import('./llm.ts');
      return (input, deps, sim) => executeLlm(input, { ...deps, maxItems: sim.tool.maxItems });
    }, simExecute),
  },
});
