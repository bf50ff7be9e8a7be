import { defineRole } from '../../protocols/role.ts';
import { JudgeContract } from '../../protocols/roles/judge.ts';
import { brainVerb, selectBrain, type BrainResources } from '../common/brains.ts';
import { simJudgeDialogue, simVerify } from './sim.ts';

/**
 * The judge: one vote on a whole dialogue (round-0 validation asks for three) and
 * JGLV's verdict on a label against a prediction. The sim brain is a noisy oracle
 * that reads the truth from `hidden`; the llm brain never sees `hidden`.
 */
export default defineRole<typeof JudgeContract, BrainResources>({
  contract: JudgeContract,
  concurrency: 256,
  init: (env) => selectBrain('judge', env),
  verbs: {
    judge_dialogue: brainVerb(async () => (await import('./llm.ts')).judgeDialogueLlm, simJudgeDialogue),
    verify: brainVerb(async () => (await import('./llm.ts')).verifyLlm, simVerify),
  },
});
