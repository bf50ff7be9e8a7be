import { z } from 'zod';
import { GrpoSettings } from '../grpo.ts';
import { ConstraintChoice } from '../roles/api-designer.ts';

/**
 * The `loop` section of a run's config (DESIGN.md §1, rounds j >= 1). Every field has a
 * default: `LoopConfig.parse({})` is the embedded default, sized so that `npm run demo`
 * (tiny policy on a 2-core CPU) runs the loop and the static baseline in minutes. The
 * paper's settings are larger (a Qwen3-8B policy, budgets of thousands of samples).
 */

const Rate = z.number().min(0).max(1);

export const Ablations = z
  .strictObject({
    jglv: z.boolean().default(true).describe('false (--no-jglv): failed samples are not verified; every one is an error seed with its label trusted'),
    edde: z.boolean().default(true).describe('false (--no-edde): no expansions; the budget is filled by the other parts'),
    hppl: z.boolean().default(true).describe('false (--no-hppl): the mastered share is drawn at random, not by highest perplexity'),
    static: z.boolean().default(false).describe('true (--static): train on seed data every round; no probing, verifying, expanding or merging'),
    randomExpansion: z
      .boolean()
      .default(false)
      .describe('true (control): EDDE expands as many randomly drawn samples of D_j as there are error seeds, instead of the failures; separates error targeting from simply having new data'),
    balanced: z
      .boolean()
      .default(false)
      .describe('true (the balanced variant): each merged D_j keeps the seed pool\'s mix of samples whose label is a call and samples whose label is none, so error seeds and expansions of the side the policy misses cannot crowd out the other side'),
  })
  .describe('stage switches for the ablations of the paper');
export type Ablations = z.infer<typeof Ablations>;

export const WarmupConfig = z
  .strictObject({
    enabled: z.boolean().default(true).describe('supervised warm-up before round 1: the base meets this world\'s tools (the nano base was pretrained on other tool sets)'),
    epochs: z.number().int().min(1).default(6),
    batch_size: z.number().int().min(1).default(16),
    lr: z.number().positive().default(3e-3),
    share: Rate.default(1).describe('share of the seed pool (in its seeded order) the warm-up trains on (source "pool")'),
    source: z
      .enum(['pool', 'stream'])
      .default('pool')
      .describe('"pool": the head of the seed pool; "stream": a stream of its own (its own seed, the same world), so the seed pool stays untrained and Seed-new is fresh'),
    dialogues: z.number().int().min(0).default(0).describe('dialogues of the warm-up stream (source "stream"); 0: as many samples as the seed pool holds'),
  })
  .describe('round 0 supervised warm-up (trainer.sft)');

export const RoundTrainConfig = z
  .strictObject({
    batch_size: z.number().int().min(1).default(8).describe('prompts per GRPO step'),
    group_size: z.number().int().min(2).default(8),
    epochs: z.number().int().min(1).default(1).describe('passes over D_j per round (the paper: 2)'),
    lr: z.number().positive().default(2e-4).describe('the paper uses 1e-6 for an 8B model; a tiny model needs far more'),
    temperature: z.number().positive().default(1.0),
    max_new_tokens: z.number().int().min(1).default(192),
    // the trainer's own schemas and defaults (the paper's), so that a loop can vary any GRPO setting
    beta: GrpoSettings.shape.beta.describe("k3 KL coefficient to the policy the round started from, a brake on how far one round moves it; 0 = none (the paper)"),
    advantage_scale: GrpoSettings.shape.advantage_scale.describe('divide group advantages by the group std (GRPO, the paper) or not (Dr. GRPO)'),
    eps_low: GrpoSettings.shape.eps_low,
    eps_high: GrpoSettings.shape.eps_high,
    aggregation: GrpoSettings.shape.aggregation,
    mu: GrpoSettings.shape.mu,
    max_grad_norm: GrpoSettings.shape.max_grad_norm,
    lr_warmup_steps: GrpoSettings.shape.lr_warmup_steps,
    sft_mix: z
      .number()
      .min(0)
      .default(0)
      .describe('also run trainer.sft on D_j for this many epochs each round, before GRPO (0 = pure GRPO, as in the paper)'),
    sft_lr: z.number().positive().default(1e-3).describe('learning rate of the per-round supervised pass (sft_mix)'),
  })
  .describe('per-round GRPO (trainer.grpo); the same compute for the loop and the static baseline');

export const EvalConfig = z
  .strictObject({
    testSize: z.number().int().min(1).default(2000).describe('held-out test samples of the simulated world, never trained on'),
    split: z
      .enum(['stream', 'pool'])
      .default('stream')
      .describe('"stream": the test split is simulated as its own stream of dialogues (its own seed, the same tool sets), uniform over skills and stratified by skill; "pool": whole dialogues held out of the seed simulation (smaller, not stratified)'),
    testDialogues: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('dialogues the test stream simulates; 0: enough for testSize (1.4 × testSize / requests per dialogue)'),
    validationSize: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('held-out validation samples, never trained on, drawn as the test split is (a stream of their own with split "stream", out of the seed pool with "pool"): the split on which to choose a round or a setting, so the test split never is; evaluated every round beside it; 0 = none'),
    useTruth: z.boolean().default(true).describe('score the test split against the hidden true labels when the samples carry them'),
    max_new_tokens: z.number().int().min(1).default(192),
    bfcl: z
      .strictObject({
        dir: z.string().min(1).optional().describe('directory with BFCL v3 question/answer files; default: LOOPTOOL_BFCL_DIR, else ../shared/bfcl/v3 (as `eval bfcl` finds them)'),
        categories: z.array(z.string()).min(1).default(['simple', 'multiple', 'parallel', 'parallel_multiple', 'irrelevance']),
        limit: z.number().int().min(1).optional().describe('at most this many questions per category'),
        max_new_tokens: z.number().int().min(1).default(256).describe('the answer budget; answers that reach it are marked cut off'),
      })
      .optional()
      .describe('also evaluate on BFCL v3 each round when set'),
  })
  .describe('evaluation after every round');

export const LoopConfig = z.strictObject({
  seedDialogues: z.number().int().min(1).default(160).describe('round-0 dialogues to simulate (seed pool + test split)'),
  trainSeed: z
    .string()
    .min(1)
    .optional()
    .describe(
      "seed of training's own randomness (warm-up and SFT batch order, GRPO batch order and sampling), apart from the world's: runs that differ only in it are replicates of training on the same seed data; it is combined with the run seed, so the seeds of an ablation still train apart; default: the run seed alone",
    ),
  toolSets: z
    .number()
    .int()
    .min(0)
    .max(10_000)
    .default(0)
    .describe('0: the API designer synthesizes a tool set per dialogue; N: N sets are synthesized once and the dialogues cycle through them (a smaller world a small model can learn)'),
  toolConstraints: ConstraintChoice.optional().describe('with toolSets: fixed constraint-tree choices for the synthesized tools (e.g. few simple parameters, concise descriptions)'),
  rounds: z.number().int().min(0).max(64).default(3).describe('rounds j = 1..N after the seed round'),
  budget: z.number().int().min(1).default(96).describe('samples in D_j, every round (fixed, so every round has the same compute)'),
  seedNewShare: Rate.default(0.5).describe('share of unused seed samples in D_2; it halves every round after'),
  hpplOver: z
    .enum(['calls', 'all'])
    .default('calls')
    .describe('which mastered samples HPPL ranks by perplexity: "calls" (samples whose label is a call; a text answer\'s perplexity measures wording) or "all"'),
  hpplMinShare: Rate.default(0.2).describe('share of the budget kept for high-perplexity mastered samples even when error seeds and expansions could fill it'),
  expansions: z.number().int().min(0).max(32).default(4).describe('k: new samples per PRED_WRONG sample (EDDE)'),
  expansionAttempts: z.number().int().min(1).max(8).default(2).describe('tries per expansion slot when validation rejects a candidate'),
  // 5, not 3: about 14 of 15 failed samples have a right label, so a judge that errs on 1 vote in 10
  // flags ~0.7 % of them with 3 votes, which alone holds detection precision near 0.9; 5 votes
  // flag ~0.1 % (docs/loop.md, "How many judge votes JGLV takes"). A clear majority stops at 3.
  jglvVotes: z.number().int().min(1).max(15).default(5).describe('judge votes per failed sample; the plurality decides, stopping once the rest cannot change it'),
  validationVotes: z.number().int().min(1).max(15).default(3).describe('judge votes per expanded sample (as for seed data)'),
  curators: z
    .array(z.string().min(1))
    .default([])
    .describe('roles made with curatorContract (protocols/roles/curator.ts) that keep or drop each round\'s expanded samples before they are merged, in order'),
  probe: z
    .strictObject({
      max_new_tokens: z.number().int().min(1).default(192),
      batch: z.number().int().min(1).default(32).describe('prompts per policy.generate request'),
      fresh: z
        .number()
        .int()
        .min(0)
        .default(0)
        .describe(
          'seed samples never trained on, drawn anew each round and probed beside D_j: they are verified, expanded and merged as D_j\'s are, so a skill that has left D_j can return as an error seed. 0: probe D_j only, as the paper does',
        ),
    })
    .prefault({}),
  warmup: WarmupConfig.prefault({}),
  train: RoundTrainConfig.prefault({}),
  eval: EvalConfig.prefault({}),
  ablations: Ablations.prefault({}),
  concurrency: z.number().int().min(1).max(256).default(16).describe('requests in flight per stage'),
});
export type LoopConfig = z.infer<typeof LoopConfig>;
export type LoopConfigInput = z.input<typeof LoopConfig>;

export const DEFAULT_LOOP_CONFIG: LoopConfig = LoopConfig.parse({});

/** The variant names of the ablation table, and their switches. */
export const VARIANTS = {
  full: { jglv: true, edde: true, hppl: true, static: false, randomExpansion: false, balanced: false },
  'no-jglv': { jglv: false, edde: true, hppl: true, static: false, randomExpansion: false, balanced: false },
  'no-edde': { jglv: true, edde: false, hppl: true, static: false, randomExpansion: false, balanced: false },
  'no-hppl': { jglv: true, edde: true, hppl: false, static: false, randomExpansion: false, balanced: false },
  'random-expansion': { jglv: true, edde: true, hppl: true, static: false, randomExpansion: true, balanced: false },
  balanced: { jglv: true, edde: true, hppl: true, static: false, randomExpansion: false, balanced: true },
  static: { jglv: true, edde: true, hppl: true, static: true, randomExpansion: false, balanced: false },
} as const satisfies Record<string, Ablations>;
export type Variant = keyof typeof VARIANTS;

/** The ablation table of the paper and issue 12, which `ablate` runs unless told otherwise: every variant but `balanced`, a setting of our own. */
export const TABLE_VARIANTS: readonly Variant[] = ['full', 'no-jglv', 'no-edde', 'no-hppl', 'random-expansion', 'static'];

/** The variant a set of switches amounts to ("custom" when several are off). */
export function variantOf(a: Ablations): Variant | 'custom' {
  if (a.static) return 'static';
  const off = (['jglv', 'edde', 'hppl'] as const).filter((k) => !a[k]);
  if (a.randomExpansion) return off.length === 0 && !a.balanced ? 'random-expansion' : 'custom';
  if (a.balanced) return off.length === 0 ? 'balanced' : 'custom';
  if (off.length === 0) return 'full';
  if (off.length === 1) return `no-${off[0]}` as Variant;
  return 'custom';
}
