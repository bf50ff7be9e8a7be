import type { z } from 'zod';
import { LooptoolError } from '../../protocols/errors.ts';
import { groupAdvantages, warmupLr } from '../../protocols/grpo.ts';
import type { JsonValue } from '../../protocols/json.ts';
import type { GeneratedSample } from './worker-protocol.ts';
import type { GrpoStepMetrics, TrainerGrpoInput, TrainerGrpoOutput, TrainerSftInput, TrainerSftOutput } from '../../protocols/roles/trainer.ts';
import type { Logger } from '../../protocols/role.ts';
import type { Sample } from '../../protocols/sample.ts';
import { rewardFromText } from '../../protocols/toolcalls/index.ts';
import { endsInLoop } from '../../protocols/repetition.ts';
import { intSeed, rng } from '../../protocols/rng.ts';
import { labelCompletion, meanStd, tooLongIndex, workerPrompt, type WorkerPrompt } from './prompts.ts';
import { SharedPolicy, workerFailure } from './shared-worker.ts';
import { isWorkerError } from './worker-process.ts';

/** Where training reports to: trace events ('metric' per step, 'progress'), the log, cancellation. */
export type TrainHooks = {
  emit(kind: 'metric' | 'progress', data: JsonValue): void;
  log: Logger;
  signal?: AbortSignal;
};

type SftArgs = z.output<typeof TrainerSftInput>;
type GrpoArgs = z.output<typeof TrainerGrpoInput>;
type SftOut = z.input<typeof TrainerSftOutput>;
type GrpoOut = z.input<typeof TrainerGrpoOutput>;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function checkAborted(signal: AbortSignal | undefined, doing: string): void {
  if (signal?.aborted) throw new LooptoolError({ code: 'internal', message: `${doing}: cancelled`, retryable: true });
}

function tooLongOf(err: unknown, list: 'samples' | 'prompts' | 'items'): number | null {
  if (!isWorkerError(err, 'bad_request')) return null;
  const t = tooLongIndex(err.message);
  return t && t.list === list ? t.index : null;
}

/**
 * Generates for `prompts`, leaving out those the model context cannot hold: the
 * worker names the first such prompt, which is remembered and dropped, and the
 * request is sent again without it. Answers line up with `prompts`; null = too long.
 *
 * Prompts go to the worker in chunks whose prefill stays small: a left-padded batch
 * of k prompts, the longest T tokens, holds k·heads·T² attention scores, which for 32
 * seed prompts of ~3k tokens is many GB on a CPU. A chunk keeps k·T² under
 * `policy.prefill_budget` (T estimated from the prompt's UTF-8 size, which bounds the
 * byte-level token count from above). Each chunk samples with its own seed derived
 * from the request's, so a request is repeatable as a whole.
 */
export async function generateFitting(
  p: SharedPolicy,
  prompts: WorkerPrompt[],
  args: { n: number; temperature: number; max_new_tokens: number; seed?: number },
  signal?: AbortSignal,
): Promise<{ results: (GeneratedSample[] | null)[]; tokensPerS: number }> {
  const keys = prompts.map((pr) => `gen:${SharedPolicy.key(pr)}`);
  const results: (GeneratedSample[] | null)[] = prompts.map(() => null);
  const todo = prompts.map((_, i) => i).filter((i) => !p.tooLong.has(keys[i]!));
  let tokens = 0;
  let seconds = 0;
  for (const [c, chunk] of prefillChunks(todo, (i) => promptSize(prompts[i]!), p.config.policy.prefill_budget).entries()) {
    let idx = chunk;
    while (idx.length > 0) {
      try {
        const out = await p.worker.generate(
          {
            prompts: idx.map((i) => prompts[i]!),
            n: args.n,
            temperature: args.temperature,
            greedy: args.temperature === 0,
            max_new_tokens: args.max_new_tokens,
            seed: args.seed === undefined ? undefined : c === 0 ? args.seed : intSeed(args.seed, 'chunk', c),
            max_batch_rows: p.config.policy.max_batch_rows,
          },
          { signal },
        );
        out.results.forEach((r, j) => (results[idx[j]!] = r.samples));
        tokens += out.new_tokens;
        seconds += out.seconds;
        break;
      } catch (err) {
        const bad = tooLongOf(err, 'prompts');
        if (bad === null || idx[bad] === undefined) throw err;
        p.tooLong.add(keys[idx[bad]]!);
        idx = idx.filter((_, j) => j !== bad);
      }
    }
  }
  return { results, tokensPerS: seconds > 0 ? tokens / seconds : 0 };
}

/** An upper bound on a prompt's byte-level token count: its tools and messages in UTF-8, plus framing. */
export function promptSize(p: WorkerPrompt): number {
  let n = 64;
  for (const t of p.tools) n += Buffer.byteLength(JSON.stringify({ name: t.name, description: t.description, parameters: t.parameters })) + 2;
  for (const m of p.messages) n += Buffer.byteLength(JSON.stringify(m)) + 8;
  return n;
}

/** Consecutive runs of items such that count × (largest size)² stays within `budget` (at least one item each). */
export function prefillChunks<T>(items: readonly T[], size: (x: T) => number, budget: number): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let longest = 0;
  for (const x of items) {
    const s = size(x);
    const l = Math.max(longest, s);
    if (cur.length > 0 && (cur.length + 1) * l * l > budget) {
      out.push(cur);
      cur = [];
      longest = 0;
    }
    cur.push(x);
    longest = Math.max(longest, s);
  }
  if (cur.length) out.push(cur);
  return out;
}

/** One generated sample as policy.generate answers it: with its own perplexity. */
export function describeSample(s: GeneratedSample, withTokens: boolean) {
  const tokens = s.token_ids.length;
  const logprob_sum = s.logprobs.reduce((a, b) => a + b, 0);
  const nll = tokens > 0 ? -logprob_sum / tokens : NaN;
  return {
    text: s.text,
    finish_reason: s.finish_reason,
    tokens,
    logprob_sum,
    ppl: Number.isFinite(nll) && nll < 700 ? Math.exp(nll) : null,
    ...(withTokens ? { token_ids: s.token_ids, logprobs: s.logprobs } : {}),
  };
}

type SftItem = { sample: Sample; prompt: WorkerPrompt; completion: string; key: string };

function sftItems(samples: readonly Sample[]): SftItem[] {
  return samples
    .filter((s) => !s.masked)
    .map((s) => {
      const prompt = workerPrompt({ tools: s.tools, messages: s.context });
      const completion = labelCompletion(s.label);
      return { sample: s, prompt, completion, key: `sft:${SharedPolicy.key([prompt, completion])}` };
    });
}

/**
 * Supervised steps: every unmasked sample's label (Hermes text, or the plain text of a
 * "no call" turn) after its prompt, in seeded-shuffled batches, `epochs` passes; a
 * metric event per step; a checkpoint at the end.
 */
export async function runSft(p: SharedPolicy, input: SftArgs, hooks: TrainHooks): Promise<SftOut> {
  const t0 = performance.now();
  const all = sftItems(input.samples);
  if (all.length === 0) throw new LooptoolError({ code: 'invalid_input', message: 'trainer.sft: every sample is masked; nothing to train on', issues: [{ path: 'payload.samples', message: 'no unmasked sample' }] });
  const perEpoch = Math.ceil(all.length / input.batch_size);
  const total = perEpoch * input.epochs;
  let steps = 0;
  let batches = 0;
  let tokens = 0;
  let skipped = 0;
  let lossFirst: number | null = null;
  let lossLast = 0;
  let reset = input.reset_optimizer;
  hooks.emit('progress', { phase: 'sft', done: 0, total, samples: all.length });
  for (let epoch = 0; epoch < input.epochs; epoch++) {
    const order = rng(String(input.seed), 'sft', epoch).shuffle(all);
    for (const batch of chunks(order, input.batch_size)) {
      checkAborted(hooks.signal, 'trainer.sft');
      let items = batch.filter((it) => !p.tooLong.has(it.key));
      skipped += batch.length - items.length;
      let res = null;
      while (items.length > 0 && !res) {
        try {
          res = await p.worker.sftStep(
            { samples: items.map((it) => ({ prompt: it.prompt, completion: it.completion })), lr: input.lr, reset_optimizer: reset },
            { signal: hooks.signal },
          );
        } catch (err) {
          const bad = tooLongOf(err, 'samples');
          if (bad === null || !items[bad]) throw workerFailure(err, `trainer.sft step ${steps + 1} (epoch ${epoch + 1})`, p);
          p.tooLong.add(items[bad]!.key);
          if (epoch === 0) hooks.log.warn({ sample: items[bad]!.sample.id }, 'sample longer than the model context: skipped');
          skipped++;
          items = items.filter((_, j) => j !== bad);
        }
      }
      batches++;
      if (res) {
        reset = false;
        steps++;
        tokens += res.tokens;
        lossFirst ??= res.loss;
        lossLast = res.loss;
        hooks.emit('metric', { kind: 'sft_step', epoch, ...res, step_in_call: steps, samples: items.length } as unknown as JsonValue);
      }
      hooks.emit('progress', { phase: 'sft', done: batches, total, loss: res?.loss ?? null });
    }
  }
  if (steps === 0) throw new LooptoolError({ code: 'invalid_input', message: `trainer.sft: no sample fits the model context (${skipped} skipped)` });
  const checkpoint = await p
    .checkpoint('sft', { kind: 'sft', steps }, { loss_first: lossFirst, loss_last: lossLast })
    .catch((err) => {
      throw workerFailure(err, 'trainer.sft: saving the checkpoint', p);
    });
  if (skipped > 0) hooks.log.warn({ skipped }, 'trainer.sft: samples longer than the model context were skipped');
  return { steps, loss_first: lossFirst ?? 0, loss_last: lossLast, tokens, seconds: (performance.now() - t0) / 1000, checkpoint };
}

/**
 * One GRPO round (DESIGN.md §1): per batch of prompts, G rollouts each at the rollout
 * temperature, reward 1 iff ToolMatch(prediction, label), group-normalised advantages,
 * one grpo_step on the groups that carry a signal; `epochs` passes; the optimizer
 * reset at the start of the round when asked; a metric event per batch; a checkpoint
 * at the end. Seeded: the batch order and every rollout's sampling derive from
 * `input.seed`, the round and the batch.
 */
export async function runGrpo(p: SharedPolicy, input: GrpoArgs, hooks: TrainHooks): Promise<GrpoOut> {
  const t0 = performance.now();
  const s = input.settings;
  const usable = input.samples
    .filter((x) => !x.masked)
    .map((sample) => ({ sample, prompt: workerPrompt({ tools: sample.tools, messages: sample.context }) }));
  if (usable.length === 0) throw new LooptoolError({ code: 'invalid_input', message: 'trainer.grpo: every sample is masked; nothing to train on', issues: [{ path: 'payload.samples', message: 'no unmasked sample' }] });
  const perEpoch = Math.ceil(usable.length / input.batch_size);
  const total = perEpoch * s.epochs;
  const rewards: number[] = [];
  let rewardFirst: number | null = null;
  let rewardLast = 0;
  let steps = 0;
  let batches = 0;
  let tooLong = 0;
  const tally = { rollouts: 0, truncated: 0, looping: 0, groups: 0, withSignal: 0 };
  const groupRewards: { id: string; reward: number; signal: boolean }[] = [];
  let resetOptimizer = s.reset_optimizer;
  // With a KL term, the reference is the policy the round started from.
  let resetReference = s.beta > 0;
  hooks.emit('progress', { phase: 'grpo', round: input.round, done: 0, total, samples: usable.length });
  for (let epoch = 0; epoch < s.epochs; epoch++) {
    const order = rng(String(input.seed), 'grpo', input.round, epoch).shuffle(usable);
    for (const [b, batch] of chunks(order, input.batch_size).entries()) {
      const doing = `trainer.grpo round ${input.round} epoch ${epoch + 1} batch ${b + 1}`;
      checkAborted(hooks.signal, doing);
      const gen = await generateFitting(
        p,
        batch.map((x) => x.prompt),
        { n: s.group_size, temperature: s.temperature, max_new_tokens: s.max_new_tokens, seed: intSeed(input.seed, 'grpo', input.round, epoch, b) },
        hooks.signal,
      ).catch((err) => {
        throw workerFailure(err, `${doing}: rollouts`, p);
      });
      const groups = [];
      const batchRewards: number[] = [];
      let withSignal = 0;
      let fitted = 0;
      let truncated = 0;
      let looping = 0;
      let completionTokens = 0;
      for (const [i, out] of gen.results.entries()) {
        if (!out) {
          tooLong++;
          continue;
        }
        fitted++;
        const label = batch[i]!.sample.label;
        const r = out.map((c) => rewardFromText(c.text, label).reward);
        batchRewards.push(...r);
        for (const c of out) {
          completionTokens += c.token_ids.length;
          if (c.finish_reason !== 'length') continue;
          truncated++;
          if (endsInLoop(c.text)) looping++;
        }
        const adv = groupAdvantages(r, 1e-6, s.advantage_scale);
        const signal = !adv.every((a) => a === 0);
        groupRewards.push({ id: batch[i]!.sample.id, reward: meanStd(r).mean, signal });
        if (!signal) continue;
        withSignal++;
        groups.push({
          prompt: batch[i]!.prompt,
          completions: out.map((c, k) => ({ token_ids: c.token_ids, logprobs: c.logprobs, advantage: adv[k]! })),
        });
      }
      batches++;
      if (fitted === 0) {
        hooks.emit('progress', { phase: 'grpo', round: input.round, done: batches, total });
        continue;
      }
      const { mean, std } = meanStd(batchRewards);
      rewards.push(...batchRewards);
      tally.rollouts += batchRewards.length;
      tally.truncated += truncated;
      tally.looping += looping;
      tally.groups += fitted;
      tally.withSignal += withSignal;
      rewardFirst ??= mean;
      rewardLast = mean;
      const rollout = {
        round: input.round,
        epoch,
        batch: b,
        reward_mean: mean,
        reward_std: std,
        groups: fitted,
        groups_with_signal: withSignal,
        rollouts: batchRewards.length,
        truncated_frac: truncated / batchRewards.length,
        truncated_looping_frac: looping / batchRewards.length,
        completion_tokens_mean: completionTokens / batchRewards.length,
        rollout_tokens_per_s: gen.tokensPerS,
      };
      if (groups.length > 0) {
        const res = await p.worker
          .grpoStep(
            {
              groups,
              eps_low: s.eps_low,
              eps_high: s.eps_high,
              beta: s.beta,
              aggregation: s.aggregation,
              mu: s.mu,
              temperature: s.temperature,
              lr: warmupLr(s.lr, s.lr_warmup_steps, steps),
              max_grad_norm: s.max_grad_norm,
              reset_optimizer: resetOptimizer,
              reset_reference: resetReference,
              ...(s.aggregation === 'dr-grpo' ? { norm_tokens: s.max_new_tokens } : {}),
            },
            { signal: hooks.signal },
          )
          .catch((err) => {
            throw workerFailure(err, `${doing}: policy update`, p);
          });
        resetOptimizer = false;
        resetReference = false;
        steps++;
        const metrics: GrpoStepMetrics & Record<string, unknown> = { ...res, ...rollout, kind: 'grpo_step' };
        hooks.emit('metric', metrics as unknown as JsonValue);
      } else {
        // Every group answered all right or all wrong: nothing to learn, no update.
        hooks.emit('metric', { kind: 'grpo_rollout', skipped: true, ...rollout });
      }
      hooks.emit('progress', { phase: 'grpo', round: input.round, done: batches, total, reward_mean: mean });
    }
  }
  if (rewards.length === 0) throw new LooptoolError({ code: 'invalid_input', message: `trainer.grpo: no sample fits the model context (${tooLong} too long)` });
  const rewardMean = meanStd(rewards).mean;
  const checkpoint = await p
    .checkpoint(`grpo-r${input.round}`, { kind: 'grpo', round: input.round, steps }, { reward_first: rewardFirst, reward_last: rewardLast, reward_mean: rewardMean })
    .catch((err) => {
      throw workerFailure(err, `trainer.grpo round ${input.round}: saving the checkpoint`, p);
    });
  if (tooLong > 0) hooks.log.warn({ tooLong }, 'trainer.grpo: prompts longer than the model context were skipped');
  return {
    steps,
    reward_first: rewardFirst ?? 0,
    reward_last: rewardLast,
    reward_mean: rewardMean,
    seconds: (performance.now() - t0) / 1000,
    checkpoint,
    rollouts: tally.rollouts,
    truncated_frac: tally.rollouts ? tally.truncated / tally.rollouts : 0,
    truncated_looping_frac: tally.rollouts ? tally.looping / tally.rollouts : 0,
    groups: tally.groups,
    groups_with_signal: tally.withSignal,
    group_rewards: groupRewards,
  };
}
