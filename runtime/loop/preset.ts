import { RunConfig } from '../../protocols/config.ts';

/**
 * The demo preset: the embedded default (sim brains, the nano policy on the CPU, the
 * embedded NATS server), loop against static over several seeds. What it changes from
 * `{}` and why:
 *  - a small world: two tool sets from the API designer, each of two tools with few,
 *    simple parameters and concise descriptions, one request per dialogue, the default
 *    skewed skill mix: the world the nano base was pretrained on (other tools, same
 *    constraints), small enough that a CPU generates every rollout;
 *  - a teacher with planted mistakes (10 % of turns, 30 % of number-word turns), so that
 *    label verification has something to find;
 *  - the paper's round: GRPO only (no supervised pass between rounds), from a policy that
 *    met this world's tools in a supervised warm-up on a stream of its own (the nano base
 *    was pretrained on other tool sets; the seed pool stays untrained, so Seed-new is fresh);
 *  - budgets meant to fit three seeds of loop and static in ten minutes on 2 cores (5.7
 *    with the version-3 nano base, two runs at a time on one torch thread each): two
 *    rounds, a warm-up of 240 dialogues, and a test split of 240 samples per seed simulated
 *    as its own stream, uniform over skills (standard error ≤ 3.2 points per seed; the
 *    issue's ≥ 2,000-sample split is for `looptool ablate --test-size`, since evaluating
 *    2,000 samples takes ~3 minutes here). Loop and static train with exactly the same
 *    settings;
 *  - 160 new tokens for every answer, test, probe and rollout: over the test splits of the
 *    benchmark worlds v3–v9 the longest label is 154 nano tokens (three parallel calls; p99
 *    115). The 96 used until 2026-12-05 cut off 19.8 % of their parallel-call answers, which no
 *    policy could then get right.
 * `--config FILE` replaces the preset entirely.
 */
export const DEMO_PRESET = {
  seed: 'looptool-demo',
  seeding: { tools: 2, contextUserTurns: 2, dropNoToolUse: false },
  sim: {
    noise: { labelRate: 0.1, bySkill: { number_words: 0.3 } },
    user: { surfaceRate: 0.2 },
    designer: { similarRate: 0.5 },
    planner: { targetTurns: 1, optionalRate: 0.2 },
  },
  trainer: { model: { preset: 'nano' } },
  loop: {
    seedDialogues: 300,
    toolSets: 2,
    toolConstraints: { paramCount: 'few', paramTypes: 'simple', description: 'concise', naming: 'snake' },
    rounds: 2,
    budget: 64,
    expansions: 2,
    eval: { testSize: 240, max_new_tokens: 160 },
    probe: { max_new_tokens: 160, batch: 32 },
    warmup: { enabled: true, source: 'stream', dialogues: 240, epochs: 2, batch_size: 16, lr: 1e-3 },
    train: { group_size: 8, batch_size: 8, epochs: 1, lr: 2e-4, max_new_tokens: 160, sft_mix: 0 },
  },
} as const;

/** Seeds the demo runs loop and static on: one seed's gap is not a result (issue 12). */
export const DEMO_SEEDS = 3;

export function demoConfig(): RunConfig {
  return RunConfig.parse(DEMO_PRESET);
}

/**
 * The SmolLM2 preset: the demo's world, teacher and round with SmolLM2-135M-Instruct as the
 * policy, the settings of the CPU pilot in docs/loop.md ("A pretrained 135M base in the same
 * loop"). They were chosen once to fit 2 cores, not tuned on any result:
 *  - a pretrained instruct model needs a gentle warm-up, not the nano base's: 120 dialogues,
 *    one epoch at lr 5e-5 (~15 steps), which teaches the tools' call format and leaves the
 *    base's own failures in place;
 *  - GRPO at lr 3e-5 (full fine-tuning, so well under the nano base's 2e-4);
 *  - 200 new tokens: SmolLM2's tokenizer spends more on this JSON than nano's (over the 30
 *    benchmark worlds the longest label is 199 tokens, p99 151, and 11.8 % are longer than 96;
 *    the pilot's 96 cut off 7–13 % of its answers);
 *  - a round budget of 32 and a test split of 120 samples per seed, because 135M parameters
 *    are slow on a CPU (the pilot, at 96 tokens: 22–32 min per seed of loop and static on 2
 *    cores, against ~4.4 for the nano base);
 *  - forward/backward passes of at most 2,048 tokens (`trainer.micro_batch_tokens`; the
 *    gradients are accumulated, so the step is the same). SmolLM2's activations take ~2.4 MB
 *    per token in fp32, so with the default 16,384 a GRPO step of 64 rollouts of up to 200
 *    tokens grew a CPU worker past 24 GB and the kernel killed it; at 2,048 the same step
 *    peaks at 7.9 GB (127 s on 2 cores). It runs one seed at a time by default.
 * On a GPU, raise `--test-size` (and the round budget by `--config`) first: the split's
 * standard error per seed is ~4.5 points at 120 samples.
 * Over its first five seeds loop and static tie (+0.8 [−14.0, +15.7] points) and GRPO at lr
 * 3e-5 lowers both curves' exact calls (docs/loop.md, "Five seeds of the preset"). At lr
 * 1.2e-5 (examples/smollm2-lr1.2e-5) the exact calls rise instead, but loop − static is
 * −3.0 [−12.8, +6.8] over five fresh seeds: no gain either ("Fresh seeds at 1.2e-5").
 */
export const SMOLLM2_PRESET = {
  ...DEMO_PRESET,
  seed: 'looptool-smollm2',
  trainer: { model: { preset: 'smollm2' }, micro_batch_tokens: 2048 },
  loop: {
    ...DEMO_PRESET.loop,
    budget: 32,
    eval: { testSize: 120, max_new_tokens: 200 },
    probe: { ...DEMO_PRESET.loop.probe, max_new_tokens: 200 },
    warmup: { ...DEMO_PRESET.loop.warmup, dialogues: 120, epochs: 1, batch_size: 8, lr: 5e-5 },
    train: { ...DEMO_PRESET.loop.train, lr: 3e-5, max_new_tokens: 200 },
  },
} as const;

export function smollm2Config(): RunConfig {
  return RunConfig.parse(SMOLLM2_PRESET);
}

/** The presets `looptool ablate --preset NAME` and the ablate bench start from. */
export const PRESETS = { demo: demoConfig, smollm2: smollm2Config } as const;
export type PresetName = keyof typeof PRESETS;

export function isPresetName(name: string): name is PresetName {
  return Object.hasOwn(PRESETS, name);
}
