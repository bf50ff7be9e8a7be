/** The smallest loop that still exercises every stage: what the loop's process-level tests run. */
export const TINY_LOOP_CONFIG = {
  seed: 'loop-test',
  seeding: { tools: 2, contextUserTurns: 1 },
  trainer: { model: { preset: 'nano' }, threads: 1 },
  loop: {
    seedDialogues: 16,
    rounds: 2,
    budget: 8,
    expansions: 2,
    concurrency: 4,
    eval: { testSize: 8, max_new_tokens: 40 },
    probe: { max_new_tokens: 40, batch: 3 },
    warmup: { epochs: 1, batch_size: 16 },
    train: { group_size: 4, batch_size: 4, max_new_tokens: 40 },
  },
};
