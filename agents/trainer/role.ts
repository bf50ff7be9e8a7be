import { LooptoolError } from '../../protocols/errors.ts';
import { PolicyContract, TrainerContract } from '../../protocols/roles/trainer.ts';
import { defineRole } from '../../protocols/role.ts';
import { tooLongIndex, workerPrompt } from './prompts.ts';
import { acquirePolicy, releasePolicy, SharedPolicy, workerFailure } from './shared-worker.ts';
import { describeSample, generateFitting, runGrpo, runSft } from './train.ts';
import { isWorkerError } from './worker-process.ts';

/*
 * The trainer agent: two roles over one policy worker (agents/trainer/shared-worker.ts).
 *  - `trainer`: trainer.sft (supervised warm-up), trainer.grpo (a GRPO round),
 *    trainer.restore (serve a given checkpoint). One request at a time: a round is many
 *    worker steps and owns the policy while it runs.
 *  - `policy`: policy.generate and policy.score for the prober and evaluators. The
 *    worker is sequential, so a replica takes only a few requests at once; callers
 *    batch prompts into one request instead.
 * On init the worker starts and serves the run's latest checkpoint (a restarted
 * trainer continues from it) or, in a fresh run, the configured model.
 */

const trainer = defineRole<typeof TrainerContract, SharedPolicy>({
  contract: TrainerContract,
  concurrency: 1,
  init: (env) => acquirePolicy(env),
  dispose: (p) => releasePolicy(p),
  verbs: {
    sft: {
      handle: (input, ctx) => ctx.resources.exclusive(() => runSft(ctx.resources, input, { emit: ctx.emit, log: ctx.log, signal: ctx.signal })),
    },
    grpo: {
      handle: (input, ctx) => ctx.resources.exclusive(() => runGrpo(ctx.resources, input, { emit: ctx.emit, log: ctx.log, signal: ctx.signal })),
    },
    restore: {
      handle: (input, ctx) =>
        ctx.resources.exclusive(async () => {
          const p = ctx.resources;
          const r = await p.restore(input.path, input.optimizer).catch((err) => {
            throw workerFailure(err, `trainer.restore ${input.path}`, p);
          });
          return { path: r.path, params: r.model.params, counters: r.counters, meta: r.meta };
        }),
    },
  },
});

const policy = defineRole<typeof PolicyContract, SharedPolicy>({
  contract: PolicyContract,
  concurrency: 2,
  init: (env) => acquirePolicy(env),
  dispose: (p) => releasePolicy(p),
  verbs: {
    generate: {
      async handle(input, ctx) {
        const p = ctx.resources;
        const prompts = input.prompts.map(workerPrompt);
        const out = await generateFitting(p, prompts, { n: input.n, temperature: input.temperature, max_new_tokens: input.max_new_tokens, seed: input.seed }, ctx.signal).catch(
          (err) => {
            throw workerFailure(err, `policy.generate (${prompts.length} prompts × ${input.n})`, p);
          },
        );
        const model = p.name;
        const tooLong = out.results.filter((r) => r === null).length;
        if (tooLong) ctx.log.warn({ tooLong }, 'policy.generate: prompts longer than the model context answered with empty text');
        return {
          results: out.results.map((r) => ({
            // A prompt the model context cannot hold gets empty answers cut off at once.
            samples: r
              ? r.map((smp) => describeSample(smp, input.return_tokens))
              : Array.from({ length: input.n }, () => ({ text: '', finish_reason: 'length' as const, tokens: 0, logprob_sum: 0, ppl: null })),
          })),
          model,
        };
      },
    },
    score: {
      async handle(input, ctx) {
        const p = ctx.resources;
        const items = input.items.map((it) => ({ prompt: workerPrompt(it), completion: it.completion }));
        const out = await p.worker.score({ items, add_eos: true }, { signal: ctx.signal }).catch((err) => {
          const t = isWorkerError(err, 'bad_request') ? tooLongIndex(err.message) : null;
          if (t) throw new LooptoolError({ code: 'invalid_input', message: 'policy.score: an item does not fit the model context', issues: [{ path: `payload.items.${t.index}`, message: err.message }] });
          throw workerFailure(err, `policy.score (${items.length} items)`, p);
        });
        return { results: out.results.map((r) => ({ logprob_sum: r.logprob_sum, tokens: r.tokens, ppl: r.ppl })), model: p.name };
      },
    },
  },
});

/** Both roles; serve them in the same process so they share the worker. */
const roles = [trainer, policy];
export default roles;
export { trainer as trainerRole, policy as policyRole };
