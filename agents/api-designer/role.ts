import { defineRole } from '../../protocols/role.ts';
import { ApiDesignerContract } from '../../protocols/roles/api-designer.ts';
import { brainVerb, selectBrain, type BrainResources } from '../common/brains.ts';
import { designToolSet } from './design.ts';
import { importSpecs } from './import.ts';
import { CONSTRAINT_LEVELS, DOMAINS } from './trees.ts';

/**
 * The API designer (round 0 API synthesis): samples the context and constraint
 * trees into rule-checked tool sets, and converts external specs (OpenAI tools,
 * BFCL function docs) into the same pool. The sim brain is pure CPU work; the llm
 * brain writes each spec with a model (bounded by the endpoint's limiter).
 */
export default defineRole<typeof ApiDesignerContract, BrainResources>({
  contract: ApiDesignerContract,
  concurrency: 256,
  init: (env) => selectBrain('api-designer', env),
  verbs: {
    design: brainVerb(
      async () => {
        const { designLlm } = await import('./llm.ts');
        return (input, deps, sim) => designLlm(input, { ...deps, config: sim });
      },
      (input, sim) => ({ tools: designToolSet(input, sim) }),
    ),
    import: {
      async handle({ source, format, origin }) {
        const r = importSpecs(source, format, origin);
        return { tools: r.tools, issues: r.issues };
      },
    },
    taxonomy: {
      async handle() {
        return {
          domains: DOMAINS.map((d) => ({ id: d.id, subdomains: d.subdomains.map((s) => ({ id: s.id, intents: s.intents.map((i) => i.id) })) })),
          constraintLevels: CONSTRAINT_LEVELS.map((l) => ({ level: l.level, options: l.options.map((o) => o.id) })),
        };
      },
    },
  },
});
