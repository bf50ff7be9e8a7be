import { defineRole } from '../../protocols/role.ts';
import { JudgeContract } from '../../protocols/roles/judge.ts';
import { llmDeps, selectBrain, type BrainResources } from '../common/brains.ts';
import { judgeDialogueLlm, verifyLlm } from './llm.ts';
import { simJudgeDialogue, simVerify } from './sim.ts';

/**
 * The judge: one vote on a whole dialogue (round-0 validation asks for three) and
 * JGLV's verdict on a label against a prediction. The sim brain is a noisy oracle
 * that reads the truth from `hidden`; the llm brain never sees `hidden`.
 */
export default defineRole({
  contract: JudgeContract,
  concurrency: 256,
  init: (env): BrainResources => selectBrain('judge', env),
  verbs: {
    judge_dialogue: {
      async handle(input, ctx) {
        const r = ctx.resources;
        return r.brain === 'llm' ? judgeDialogueLlm(input, llmDeps(r, ctx)) : simJudgeDialogue(input, r.config.sim);
      },
    },
    verify: {
      async handle(input, ctx) {
        const r = ctx.resources;
        return r.brain === 'llm' ? verifyLlm(input, llmDeps(r, ctx)) : simVerify(input, r.config.sim);
      },
    },
  },
});
