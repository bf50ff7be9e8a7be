import { RunConfig } from '../../protocols/config.ts';

/**
 * The demo preset: the embedded default (sim brains, the tiny policy on the CPU, the
 * embedded NATS server) sized so that `npm run demo` runs the loop and the static
 * baseline in under 10 minutes on a 2-core machine. What it changes from `{}` and why:
 *  - tool sets of 2 tools and a context of the last request only: the tiny GPT reads
 *    bytes, and every byte of prompt is paid for in every forward pass;
 *  - a small world (a fixed pool of tool sets, reused across dialogues), so that a
 *    0.5M-parameter model sees each API often enough to learn it in minutes;
 *  - budgets, group sizes and token limits a CPU can afford.
 * Everything else is the default config; `--config FILE` replaces the preset entirely.
 */
export const DEMO_PRESET = {
  seed: 'looptool-demo',
  seeding: { tools: 2, contextUserTurns: 1 },
  trainer: { model: { kind: 'tiny', size: 'tiny-0.5m', max_seq_len: 2048 } },
  loop: {
    seedDialogues: 160,
    toolSets: 8,
    rounds: 3,
    budget: 48,
    expansions: 4,
    eval: { testSize: 64, max_new_tokens: 128 },
    probe: { max_new_tokens: 128, batch: 16 },
    warmup: { epochs: 6, batch_size: 16, lr: 3e-3 },
    train: { group_size: 8, batch_size: 8, epochs: 1, lr: 2e-4, max_new_tokens: 128 },
  },
} as const;

export function demoConfig(): RunConfig {
  return RunConfig.parse(DEMO_PRESET);
}
