import { RunConfig } from '../../protocols/config.ts';

/**
 * The demo preset: the embedded default (sim brains, the nano policy on the CPU, the
 * embedded NATS server) sized so that `npm run demo` runs the loop and the static
 * baseline in minutes on a 2-core machine (the nano base is built once before, cached).
 * What it changes from `{}` and why:
 *  - a small world: two tool sets from the API designer, each of two tools with few,
 *    simple parameters and concise descriptions (loop.toolSets, loop.toolConstraints),
 *    one request per dialogue: the world the nano base was pretrained on (other tools,
 *    same constraints), and small enough that a CPU generates every rollout;
 *  - a noisier teacher (20% planted label mistakes, half of which pass validation), so
 *    that label verification has something to find;
 *  - budgets, group sizes and token limits a CPU can afford, a short warm-up on the seed
 *    pool (the base has never seen this world's tools), and a supervised pass over D_j
 *    before each GRPO round (loop.train.sft_mix). Loop and static baseline train with
 *    exactly the same settings.
 * `--config FILE` replaces the preset entirely.
 */
export const DEMO_PRESET = {
  seed: 'looptool-demo',
  seeding: { tools: 2, contextUserTurns: 2, dropNoToolUse: false },
  sim: {
    noise: { labelRate: 0.2 },
    user: { surfaceRate: 0.2 },
    designer: { similarRate: 0.5 },
    planner: { targetTurns: 1, optionalRate: 0.2, kinds: { single: 4, parallel: 1.5, multiple: 1.5, multi_step: 0.5, clarify: 1.5, irrelevant: 1 } },
  },
  trainer: { model: { preset: 'nano' } },
  loop: {
    seedDialogues: 420,
    toolSets: 2,
    toolConstraints: { paramCount: 'few', paramTypes: 'simple', description: 'concise', naming: 'snake' },
    rounds: 4,
    budget: 64,
    expansions: 4,
    eval: { testSize: 192, max_new_tokens: 128 },
    probe: { max_new_tokens: 128, batch: 16 },
    warmup: { epochs: 4, batch_size: 16, lr: 1e-3 },
    train: { group_size: 8, batch_size: 8, epochs: 1, lr: 2e-4, max_new_tokens: 128, sft_mix: 1, sft_lr: 5e-4 },
  },
} as const;

/** Seeds the demo runs loop and static on: one seed's gap is not a result (issue 12). */
export const DEMO_SEEDS = 3;

export function demoConfig(): RunConfig {
  return RunConfig.parse(DEMO_PRESET);
}
