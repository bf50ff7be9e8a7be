import { brainFor } from '../../protocols/config.ts';
import { defineRole } from '../../protocols/role.ts';
import { JudgeContract } from '../../protocols/roles/judge.ts';
import { deriveRngSeed } from '../../protocols/rng.ts';
import { ValidatorContract } from '../../protocols/roles/validator.ts';
import { checkDialogue, majority } from '../../protocols/validate.ts';
import { runConfigOf } from '../common/brains.ts';

/**
 * The validator: rule checks of a dialogue (pure functions in protocols/validate.ts),
 * and for `validate` the judge's majority vote, asked over the bus. It has no brain
 * of its own: the rules are the rules; the judgement is the judge's.
 */
export default defineRole({
  contract: ValidatorContract,
  concurrency: 64,
  // Simulator truth goes to the judge only when the judge runs a sim brain.
  init: (env) => ({ judgeIsSim: brainFor(runConfigOf(env), 'judge') === 'sim' }),
  verbs: {
    check: {
      async handle({ tools, messages, requireToolUse }) {
        const failures = checkDialogue(tools, messages, { requireToolUse });
        return { ok: failures.length === 0, reason: failures[0]?.code, failures };
      },
    },
    validate: {
      async handle({ tools, messages, requireToolUse, seed, votes, hidden }, ctx) {
        const failures = checkDialogue(tools, messages, { requireToolUse });
        if (failures.length) return { accepted: false, reason: failures[0]!.code, failures, votes: [] };
        const cast = await Promise.all(
          Array.from({ length: votes }, (_, k) =>
            ctx.call(JudgeContract, 'judge_dialogue', { seed: deriveRngSeed(seed, 'vote', k), tools, messages, ...(hidden && ctx.resources.judgeIsSim ? { hidden } : {}) }),
          ),
        );
        const accepted = votes === 0 || majority(cast.map((v) => v.verdict)).accepted;
        return accepted ? { accepted, failures, votes: cast } : { accepted, reason: 'judge_incorrect' as const, failures, votes: cast };
      },
    },
  },
});
