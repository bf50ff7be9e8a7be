import { z } from 'zod';
import { defineContract } from '../role.ts';
import { ChatMessage } from '../messages.ts';
import { ToolSpec } from '../toolspec.ts';
import { Sample } from '../sample.ts';
import { GrpoSettings } from '../grpo.ts';

/*
 * The trainer agent's contracts: the policy (the model under training: policy.generate,
 * policy.score) and the trainer (trainer.sft, trainer.grpo, trainer.restore). The agent
 * runs the policy in a PyTorch worker process; the worker's own stdio protocol is private
 * to it (agents/trainer/worker-protocol.ts). Its config section is protocols/trainer.ts.
 */

export const TokenId = z.number().int().min(0);

/** Why a sampled completion ended: the end-of-turn token, or the token budget. */
export const FinishReason = z.enum(['stop', 'length']);
export type FinishReason = z.infer<typeof FinishReason>;

/** One GRPO optimizer pass as the worker computes it; the trainer reports it per step (GrpoStepMetrics). */
export const GrpoStepResult = z.object({
  loss: z.number(),
  ratio_mean: z.number(),
  ratio_min: z.number(),
  ratio_max: z.number(),
  clip_frac: z.number().describe('fraction of tokens whose gradient the clip stopped'),
  kl: z.number().describe('mean k3 KL per token, to the reference (beta > 0) or to the sampling policy'),
  kl_to: z.enum(['reference', 'sampling']),
  entropy: z.number().describe('mean entropy of the policy per completion token'),
  grad_norm: z.number().nullable().describe('before clipping; mean over updates'),
  updates: z.number().int(),
  sequences: z.number().int(),
  skipped_sequences: z.number().int().describe('advantage 0 and no KL term: nothing to learn, not run'),
  completion_tokens: z.number().int(),
  tokens: z.number().int(),
  seconds: z.number(),
  tokens_per_s: z.number(),
  lr: z.number(),
  step: z.number().int(),
});
export type GrpoStepResult = z.infer<typeof GrpoStepResult>;

/** A prompt on the bus: what the policy sees of a sample (never its hidden truth). */
export const BusPrompt = z.object({
  tools: z.array(ToolSpec).min(1),
  messages: z.array(ChatMessage).min(1),
});

export const PolicyGenerateInput = z.object({
  prompts: z.array(BusPrompt).min(1),
  n: z.number().int().min(1).max(1024).default(1),
  temperature: z.number().min(0).default(0).describe('0: greedy (GCP); 1.0: rollouts'),
  max_new_tokens: z.number().int().min(1).default(512),
  seed: z.number().int().min(0).optional(),
  return_tokens: z.boolean().default(false).describe('include token ids and per-token log-probs'),
});
export const PolicyGenerateOutput = z.object({
  results: z.array(
    z.object({
      samples: z.array(
        z.object({
          text: z.string(),
          finish_reason: FinishReason,
          tokens: z.number().int(),
          logprob_sum: z.number(),
          ppl: z.number().nullable().describe('perplexity of the model on its own output: exp(−mean log-prob)'),
          token_ids: z.array(TokenId).optional(),
          logprobs: z.array(z.number()).optional(),
        }),
      ),
    }),
  ),
  model: z.string().describe('which policy answered: checkpoint or model name'),
});

export const PolicyScoreInput = z.object({
  items: z.array(BusPrompt.extend({ completion: z.string().describe('Hermes tool-call text or plain text') })).min(1),
});
export const PolicyScoreOutput = z.object({
  results: z.array(z.object({ logprob_sum: z.number(), tokens: z.number().int(), ppl: z.number().nullable() })),
  model: z.string(),
});

export const PolicyContract = defineContract({
  name: 'policy',
  description: 'The model under training: sampling and scoring (served by the trainer agent, or an adapter over an OpenAI-compatible endpoint).',
  verbs: {
    generate: { input: PolicyGenerateInput, output: PolicyGenerateOutput, description: 'n samples (or greedy) per prompt', timeoutMs: 600_000 },
    score: { input: PolicyScoreInput, output: PolicyScoreOutput, description: 'log-prob and perplexity of given completions', timeoutMs: 300_000 },
  },
});
export type PolicyContract = typeof PolicyContract;

export const TrainerSftInput = z.object({
  samples: z.array(Sample).min(1).describe('masked samples are skipped; a text label trains on the text'),
  epochs: z.number().int().min(1).default(1),
  batch_size: z.number().int().min(1).default(16),
  lr: z.number().positive().default(1e-4),
  seed: z.number().int().min(0).default(0),
  reset_optimizer: z.boolean().default(false),
});
export const TrainerSftOutput = z.object({
  steps: z.number().int(),
  loss_first: z.number(),
  loss_last: z.number(),
  tokens: z.number().int(),
  seconds: z.number(),
  checkpoint: z.string().nullable(),
});

export const TrainerGrpoInput = z.object({
  samples: z.array(Sample).min(1),
  round: z.number().int().min(0).default(1),
  batch_size: z.number().int().min(1).default(8).describe('prompts per GRPO step'),
  seed: z.number().int().min(0).default(0),
  settings: GrpoSettings.prefault({}),
});

/** One GRPO step as the trainer agent reports it (trace metric event). */
export const GrpoStepMetrics = GrpoStepResult.extend({
  round: z.number().int(),
  epoch: z.number().int(),
  reward_mean: z.number(),
  reward_std: z.number(),
  groups: z.number().int(),
  groups_with_signal: z.number().int(),
});
export type GrpoStepMetrics = z.infer<typeof GrpoStepMetrics>;

export const TrainerGrpoOutput = z.object({
  steps: z.number().int(),
  reward_first: z.number().describe('mean rollout reward of the first step'),
  reward_last: z.number(),
  reward_mean: z.number(),
  seconds: z.number(),
  checkpoint: z.string().nullable(),
  rollouts: z.number().int().default(0).describe('completions sampled over the round'),
  truncated_frac: z.number().default(0).describe('share of rollouts cut off at max_new_tokens (keep it at or under 1 %)'),
  truncated_looping_frac: z.number().default(0).describe('share of rollouts cut off in a repetition loop (endsInLoop), counted in truncated_frac: wrong at any length'),
  groups: z.number().int().default(0).describe('prompt groups rolled out'),
  groups_with_signal: z
    .number()
    .int()
    .default(0)
    .describe('groups whose rewards were not all equal; the others have zero advantage everywhere and are left out of the update'),
  group_rewards: z
    .array(z.object({ id: z.string(), reward: z.number(), signal: z.boolean() }))
    .default([])
    .describe("every prompt group rolled out, in order: its sample's id, the group's mean reward, and whether its rewards differed (a learning signal)"),
});

export const TrainerRestoreInput = z.object({
  path: z.string().min(1).describe('checkpoint directory (relative paths are taken from the run directory)'),
  optimizer: z.boolean().default(false).describe('restore the optimizer state too'),
});
export const TrainerRestoreOutput = z.looseObject({
  path: z.string().describe('absolute checkpoint path now served'),
  params: z.number().int(),
  counters: z.record(z.string(), z.number()),
});

export const TrainerContract = defineContract({
  name: 'trainer',
  description: 'Trains the policy: a supervised warm-up and GRPO rounds, with checkpoints in the run directory.',
  verbs: {
    sft: { input: TrainerSftInput, output: TrainerSftOutput, description: 'supervised steps on samples', timeoutMs: 3_600_000 },
    grpo: { input: TrainerGrpoInput, output: TrainerGrpoOutput, description: 'one GRPO round over samples', timeoutMs: 24 * 3_600_000 },
    restore: {
      input: TrainerRestoreInput,
      output: TrainerRestoreOutput,
      description: 'put the served policy back at a checkpoint',
      timeoutMs: 600_000,
    },
  },
});
export type TrainerContract = typeof TrainerContract;
