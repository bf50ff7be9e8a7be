import { z } from 'zod';

/**
 * GRPO settings (DESIGN.md §1, the paper's defaults): group size 16, clip ε_low 0.2 /
 * ε_high 0.28, no KL term, token-mean loss, lr 1e-6 constant, rollout temperature 1.0,
 * 2 epochs a round, the optimizer reset each round.
 */
export const LossAggregation = z
  .enum(['token-mean', 'seq-mean', 'dr-grpo'])
  .describe('token-mean: sum over all tokens / tokens in the batch (the paper); seq-mean: mean of per-sequence means (original GRPO); dr-grpo: sum / (sequences × norm_tokens)');
export type LossAggregation = z.infer<typeof LossAggregation>;

export const GrpoSettings = z.object({
  group_size: z.number().int().min(2).max(1024).default(16).describe('completions sampled per prompt (G)'),
  eps_low: z.number().min(0).lt(1).default(0.2),
  eps_high: z.number().min(0).default(0.28),
  beta: z.number().min(0).default(0).describe('coefficient of the k3 KL term to a frozen reference; 0 = no reference at all'),
  aggregation: LossAggregation.default('token-mean'),
  mu: z.number().int().min(1).default(1).describe('update passes over each batch'),
  lr: z.number().positive().default(1e-6),
  lr_warmup_steps: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('GRPO steps at a rising learning rate at the start of each round: step k (from 0) of the first W takes lr × (k+1)/(W+1); 0 = constant (the paper)'),
  temperature: z.number().positive().default(1.0).describe('rollout temperature; the loss uses the same temperature'),
  max_new_tokens: z.number().int().min(1).default(512),
  max_grad_norm: z.number().min(0).default(1.0).describe('gradient clipping; 0 = none (the norm is still reported)'),
  epochs: z.number().int().min(1).default(2),
  reset_optimizer: z.boolean().default(true).describe('a fresh optimizer at the start of every round'),
  advantage_scale: z.enum(['std', 'none']).default('std').describe('divide by the group std (GRPO) or not (Dr. GRPO)'),
});
export type GrpoSettings = z.infer<typeof GrpoSettings>;

/**
 * The learning rate of a round's GRPO step `k` (from 0, counting the steps that updated the
 * policy) under a linear warm-up of `warmup` steps. Unlike a warm-up from zero, no step
 * runs at lr 0, which would spend a batch's rollouts on no update. A freshly reset Adam
 * moves every weight by about the learning rate in its first steps, however small or
 * noisy the gradient; a warm-up shrinks those steps.
 */
export function warmupLr(lr: number, warmup: number, k: number): number {
  return k < warmup ? (lr * (k + 1)) / (warmup + 1) : lr;
}

/**
 * Group-relative advantages: (r − mean) / (std + eps) over one prompt's group, with the
 * population standard deviation (the group is the whole population of answers to that
 * prompt). A group whose rewards are all equal carries no signal and gets all zeros,
 * which the worker skips; with `scale: 'none'` (Dr. GRPO) only the mean is removed.
 */
export function groupAdvantages(rewards: readonly number[], eps = 1e-6, scale: 'std' | 'none' = 'std'): number[] {
  const n = rewards.length;
  if (n === 0) return [];
  for (const [i, r] of rewards.entries()) {
    if (!Number.isFinite(r)) throw new RangeError(`rewards[${i}] is ${r}; rewards must be finite numbers`);
  }
  const mean = rewards.reduce((a, b) => a + b, 0) / n;
  const variance = rewards.reduce((a, r) => a + (r - mean) * (r - mean), 0) / n;
  // Equal rewards, or differences at rounding level (a billionth of the reward scale): no
  // signal, no update, rather than rounding noise blown up to unit-size advantages.
  const magnitude = Math.max(1, ...rewards.map(Math.abs));
  if (Math.sqrt(variance) <= 1e-9 * magnitude) return rewards.map(() => 0);
  const denom = scale === 'std' ? Math.sqrt(variance) + eps : 1;
  return rewards.map((r) => (r - mean) / denom);
}

/** True when the group's rewards differ, i.e. GRPO can learn something from it. */
export function groupHasSignal(rewards: readonly number[]): boolean {
  return groupAdvantages(rewards).some((a) => a !== 0);
}
