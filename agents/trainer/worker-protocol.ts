import { z } from 'zod';
import { ChatMessage } from '../../protocols/messages.ts';
import { FinishReason, GrpoStepResult, TokenId } from '../../protocols/roles/trainer.ts';
import { LossAggregation } from '../../protocols/grpo.ts';
import { ModelSpec, OptimizerConfig } from '../../protocols/trainer.ts';
import { OpenAITool, ToolSpec } from '../../protocols/toolspec.ts';

/*
 * The worker protocol: JSON lines over stdio between WorkerProcess (worker-process.ts) and
 * the PyTorch worker (worker/), one request, one response (README.md in this folder).
 * Private to the trainer role: the bus contracts it serves are protocols/roles/trainer.ts.
 *
 * Prompt/completion contract. A prompt is either {tools, messages} (OpenAI-style tools or
 * looptool ToolSpecs, chat messages), which the worker renders in the model's format
 * (ChatML with the tools in the system turn; a Hugging Face checkpoint's own chat
 * template when it has one), or pre-rendered {text}, or token {ids}. A completion is the
 * assistant's answer as text: for tool calls, Hermes blocks
 *   <tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>
 * one per call, joined by "\n"; for a "no call" turn, the plain text. The worker appends
 * the end-of-turn token (<|im_end|>) to a text completion it trains on or scores
 * (add_eos), and generation stops at it.
 */

export const PromptTools = z.array(z.union([OpenAITool, ToolSpec]));

export const PolicyPrompt = z.union([
  z.strictObject({ text: z.string().min(1).describe('a prompt already rendered in the model\'s format') }),
  z.strictObject({ ids: z.array(TokenId).min(1).describe('a prompt already tokenized') }),
  z.object({
    tools: PromptTools.default([]),
    messages: z.array(ChatMessage).min(1),
  }),
]);
export type PolicyPrompt = z.input<typeof PolicyPrompt>;

const Counters = z.object({
  sft_steps: z.number().int(),
  grpo_steps: z.number().int(),
  optimizer_steps: z.number().int(),
  tokens_trained: z.number().int(),
  tokens_generated: z.number().int(),
});

export const ModelInfo = z.looseObject({
  kind: z.literal('hf'),
  params: z.number().int(),
});

const MicroBatchTokens = z.number().int().min(16).describe('token budget of one forward/backward (gradient accumulation above it)');

export const LoadArgs = z.object({
  model: ModelSpec,
  seed: z.number().int().min(0).default(0),
  threads: z.number().int().min(1).optional().describe('torch CPU threads for this worker'),
  optimizer: OptimizerConfig.optional().describe('AdamW settings; steps may override lr'),
  micro_batch_tokens: MicroBatchTokens.optional(),
});
export const LoadResult = z.object({
  model: ModelInfo,
  device: z.string(),
  threads: z.number().int(),
  counters: Counters,
  torch: z.string(),
});

export const GenerateArgs = z.object({
  prompts: z.array(PolicyPrompt).min(1),
  n: z.number().int().min(1).max(1024).default(1).describe('samples per prompt'),
  temperature: z.number().min(0).default(1.0).describe('0 means greedy'),
  greedy: z.boolean().default(false),
  max_new_tokens: z.number().int().min(1).default(128),
  top_p: z.number().gt(0).max(1).default(1.0),
  seed: z.number().int().min(0).optional().describe('makes the sampling of this request reproducible'),
  max_batch_rows: z.number().int().min(1).optional().describe('rows (prompts × n) decoded at once'),
  prefix_sharing: z.boolean().default(true).describe('prompts of one tool set batch together and prefill their shared beginning once; false only to measure what that saves'),
});
export const GeneratedSample = z.object({
  text: z.string().describe('decoded completion, without the stop token'),
  token_ids: z.array(TokenId).describe('generated ids, including the stop token when it stopped'),
  logprobs: z.array(z.number()).describe('log-prob of each generated id under the sampling distribution (logits / temperature; greedy: temperature 1)'),
  finish_reason: FinishReason,
});
export type GeneratedSample = z.infer<typeof GeneratedSample>;
export const GenerateResult = z.object({
  results: z.array(z.object({ prompt_tokens: z.number().int(), samples: z.array(GeneratedSample) })),
  new_tokens: z.number().int(),
  seconds: z.number(),
  tokens_per_s: z.number(),
});

const CompletionRef = z.union([
  z.object({ completion: z.string().describe('completion text; the end-of-turn token is appended when add_eos') }),
  z.object({ completion_ids: z.array(TokenId).min(1).describe('completion token ids, taken as they are') }),
]);

export const ScoreArgs = z.object({
  items: z.array(z.intersection(z.object({ prompt: PolicyPrompt }), CompletionRef)).min(1),
  add_eos: z.boolean().default(true),
  return_token_logprobs: z.boolean().default(false),
});
export const ScoreResult = z.object({
  results: z.array(
    z.object({
      logprob_sum: z.number(),
      tokens: z.number().int(),
      mean_logprob: z.number(),
      ppl: z.number().nullable().describe('exp(−mean log-prob); null if it overflows'),
      token_logprobs: z.array(z.number()).optional(),
    }),
  ),
  seconds: z.number(),
});

const StepOptions = {
  lr: z.number().positive().optional().describe('sets the learning rate from this step on'),
  max_grad_norm: z.number().min(0).default(1.0),
  reset_optimizer: z.boolean().default(false).describe('a fresh optimizer before this step'),
};

export const SftStepArgs = z.object({
  samples: z
    .array(z.intersection(z.object({ prompt: PolicyPrompt, weight: z.number().min(0).optional() }), CompletionRef))
    .min(1),
  add_eos: z.boolean().default(true),
  ...StepOptions,
});
export const SftStepResult = z.object({
  loss: z.number().describe('mean cross-entropy per completion token'),
  sequences: z.number().int(),
  completion_tokens: z.number().int(),
  tokens: z.number().int(),
  grad_norm: z.number().nullable(),
  lr: z.number(),
  seconds: z.number(),
  tokens_per_s: z.number(),
  step: z.number().int(),
});

export const GrpoCompletion = z
  .object({
    token_ids: z.array(TokenId).min(1),
    logprobs: z.array(z.number()).describe('sampling log-probs, as generate returned them'),
    advantage: z.number().refine(Number.isFinite, 'expected a finite number'),
  })
  .refine((c) => c.logprobs.length === c.token_ids.length, { message: 'one log-prob per token id', path: ['logprobs'] });

export const GrpoStepArgs = z.object({
  groups: z.array(z.object({ prompt: PolicyPrompt, completions: z.array(GrpoCompletion).min(1) })).min(1),
  eps_low: z.number().min(0).lt(1).default(0.2),
  eps_high: z.number().min(0).default(0.28),
  beta: z.number().min(0).default(0),
  aggregation: LossAggregation.default('token-mean'),
  mu: z.number().int().min(1).default(1),
  minibatches: z.number().int().min(1).default(1).describe('optimizer steps per pass, over contiguous runs of groups'),
  temperature: z.number().positive().default(1.0),
  norm_tokens: z.number().int().min(1).optional().describe('dr-grpo constant length normaliser (default: the longest completion)'),
  reset_reference: z.boolean().default(false).describe('beta > 0: take the current weights as the new reference'),
  ...StepOptions,
});

export const SaveArgs = z.object({
  path: z.string().min(1).describe('checkpoint directory; written beside it, then renamed into place'),
  meta: z.record(z.string(), z.unknown()).optional(),
  optimizer: z.boolean().default(true).describe("save the optimizer state too (AdamW's moments: twice the weights' bytes)"),
});
export const SaveResult = z.object({ path: z.string(), bytes: z.number().int(), counters: Counters });

export const RestoreArgs = z.object({
  path: z.string().min(1),
  optimizer: z.boolean().default(true).describe('restore the optimizer state too'),
  model_path: z.string().min(1).optional().describe("the base model directory to rebuild the policy from, in place of the one the checkpoint recorded (the caller checked that it holds the same model: a run moved to another model cache)"),
  device: z.string().optional(),
  micro_batch_tokens: MicroBatchTokens.optional().describe("given, it overrides the checkpoint's budget (a run resumed with another trainer.micro_batch_tokens)"),
});
export const RestoreResult = LoadResult.extend({ meta: z.record(z.string(), z.unknown()), path: z.string() });

export const ExportArgs = z.object({
  path: z.string().min(1).describe('directory for a plain Hugging Face checkpoint (weights, tokenizer, chat template; a LoRA adapter merged)'),
});
export const ExportResult = z.object({ path: z.string(), bytes: z.number().int() });

/** A training sample for the nano tokenizer: the prompt and the answer it is trained on. */
const NanoCorpusSample = z.object({ prompt: z.object({ tools: PromptTools.default([]), messages: z.array(ChatMessage).min(1) }), completion: z.string() });
export const InitNanoArgs = z.object({
  out: z.string().min(1).describe('directory the new checkpoint is written to'),
  samples: z.array(NanoCorpusSample).min(1).describe('the simulated world\'s text the BPE tokenizer is trained on'),
  vocab_size: z.number().int().min(300).max(200_000).default(4096),
  seed: z.number().int().min(0).default(0),
  shape: z
    .strictObject({
      hidden_size: z.number().int().min(8).optional(),
      num_hidden_layers: z.number().int().min(1).optional(),
      num_attention_heads: z.number().int().min(1).optional(),
      num_key_value_heads: z.number().int().min(1).optional(),
      intermediate_size: z.number().int().min(8).optional(),
      max_position_embeddings: z.number().int().min(64).optional(),
    })
    .optional(),
});
export const InitNanoResult = z.looseObject({
  path: z.string(),
  params: z.number().int(),
  vocab_size: z.number().int(),
  tokens_per_sample: z.object({ mean: z.number(), max: z.number(), min: z.number() }),
});

export const StatsArgs = z.object({});
export const StatsResult = z.looseObject({
  loaded: z.boolean(),
  pid: z.number().int(),
  torch: z.string(),
  threads: z.number().int(),
  counters: Counters,
  model: ModelInfo.optional(),
  device: z.string().optional(),
  rss_mb: z.number().nullable(),
});

export const PingArgs = z.object({});
export const PingResult = z.object({ pong: z.literal(true), pid: z.number().int() });

/** Every verb of the worker, with its argument and result schemas. */
export const WorkerVerbs = {
  load: { args: LoadArgs, result: LoadResult },
  generate: { args: GenerateArgs, result: GenerateResult },
  score: { args: ScoreArgs, result: ScoreResult },
  sft_step: { args: SftStepArgs, result: SftStepResult },
  grpo_step: { args: GrpoStepArgs, result: GrpoStepResult },
  save: { args: SaveArgs, result: SaveResult },
  restore: { args: RestoreArgs, result: RestoreResult },
  export: { args: ExportArgs, result: ExportResult },
  init_nano: { args: InitNanoArgs, result: InitNanoResult },
  stats: { args: StatsArgs, result: StatsResult },
  ping: { args: PingArgs, result: PingResult },
} as const;
export type WorkerVerb = keyof typeof WorkerVerbs;
export type WorkerArgs<V extends WorkerVerb> = z.input<(typeof WorkerVerbs)[V]['args']>;
export type WorkerResult<V extends WorkerVerb> = z.output<(typeof WorkerVerbs)[V]['result']>;

export const WorkerErrorType = z.enum([
  'bad_json',
  'bad_request',
  'unknown_verb',
  'not_loaded',
  'out_of_memory',
  'runtime_error',
]);

export const WorkerRequest = z.object({ id: z.string().min(1), verb: z.string(), args: z.record(z.string(), z.unknown()) });

/** One line the worker writes: a response to a request, or an event. */
export const WorkerLine = z.union([
  z.object({ id: z.union([z.string(), z.number()]), ok: z.literal(true), result: z.unknown(), ms: z.number().optional() }),
  z.object({
    id: z.union([z.string(), z.number()]).nullable(),
    ok: z.literal(false),
    error: z.object({ type: WorkerErrorType, message: z.string(), traceback: z.string().optional() }),
  }),
  z.looseObject({ event: z.literal('ready'), pid: z.number().int(), torch: z.string(), threads: z.number().int() }),
  z.object({ event: z.literal('started'), id: z.union([z.string(), z.number()]), verb: z.string() }),
  z.object({ event: z.literal('fatal'), error: z.looseObject({ type: z.string(), message: z.string() }) }),
]);
export type WorkerLine = z.infer<typeof WorkerLine>;
