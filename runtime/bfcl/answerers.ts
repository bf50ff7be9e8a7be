import { WorkerProcess, resolveModelSpec } from '../../agents/trainer/index.ts';
import { policyFromArg } from '../models/model-arg.ts';
import { type BfclQuestion, type CheckMode, RawAnswer, bfclMessages, bfclTools } from '../../protocols/bfcl/index.ts';
import { LooptoolError } from '../../protocols/errors.ts';
import type { ModelSpec } from '../../protocols/trainer.ts';

/**
 * Who answers BFCL questions for `eval bfcl run`. An answerer turns one question into the
 * model's raw reply; everything around it (files, resume, scoring) is the same for all.
 * Two kinds: any OpenAI-compatible endpoint (endpoint-answerer.ts, apart so that a local
 * policy's evaluation does not load OpenAI's SDK), and the local policy worker.
 */
export interface Answerer {
  /** For logs and the run record; never holds a key. */
  readonly describe: Record<string, unknown>;
  answer(q: BfclQuestion, mode: CheckMode, signal: AbortSignal): Promise<RawAnswer>;
  close(): Promise<void>;
}

/**
 * The endpoint refused this one question (HTTP 400/413/422: too long for the model's
 * context, a doc the server's tool parser cannot take). The run goes on without it; the
 * question counts as wrong until a later run answers it.
 */
export class QuestionRejected extends Error {}

/** The model spec of `--model` for the local policy: a preset (nano, smollm2), a model or checkpoint directory, or a loop run (its last policy). */
export function policyModelSpec(arg: string, round?: number): { spec: ModelSpec; from?: string; round?: number } {
  try {
    return policyFromArg(arg, { round });
  } catch (err) {
    throw new LooptoolError({ code: 'invalid_input', message: `${(err as Error).message}; for a server, add --endpoint URL` });
  }
}

/** What the policy is given for one question: the same prompt in `eval bfcl run` and in its benchmark. */
export function policyPrompt(q: BfclQuestion, mode: CheckMode) {
  return { tools: mode === 'fc' ? bfclTools(q.functions).tools : [], messages: bfclMessages(q, mode) };
}

type Waiting = { q: BfclQuestion; mode: CheckMode; resolve: (a: RawAnswer) => void; reject: (e: unknown) => void };

/**
 * The local policy through its PyTorch worker (agents/trainer/worker-process.ts). The
 * worker runs one request at a time, so questions that arrive while it is busy wait and go
 * together as one `generate` batch: concurrent answer() calls become batched generation.
 * fc mode sends the tools (the worker's chat template renders them) and reads Hermes
 * <tool_call> blocks from the text; prompt mode sends the prompt-mode system turn.
 */
export class PolicyAnswerer implements Answerer {
  readonly describe: Record<string, unknown>;
  #waiting: Waiting[] = [];
  #busy = false;

  private constructor(
    private readonly worker: WorkerProcess,
    spec: ModelSpec,
    private readonly opts: { maxBatch: number; maxNewTokens: number },
  ) {
    this.describe = { kind: 'policy', model: spec };
  }

  static async start(spec: ModelSpec, opts: { maxBatch: number; maxNewTokens?: number; threads?: number }): Promise<PolicyAnswerer> {
    const worker = await WorkerProcess.start({ threads: opts.threads });
    try {
      await worker.loadPolicy(resolveModelSpec(spec));
    } catch (err) {
      await worker.close();
      throw err;
    }
    return new PolicyAnswerer(worker, spec, { maxBatch: opts.maxBatch, maxNewTokens: opts.maxNewTokens ?? 512 });
  }

  answer(q: BfclQuestion, mode: CheckMode, signal: AbortSignal): Promise<RawAnswer> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<RawAnswer>((resolve, reject) => {
      this.#waiting.push({ q, mode, resolve, reject });
      // Questions asked in the same turn of the event loop (a run starting its lanes) go
      // out as one batch rather than a first batch of one.
      if (this.#waiting.length === 1) setImmediate(() => this.#pump());
    });
  }

  #pump(): void {
    if (this.#busy || this.#waiting.length === 0) return;
    this.#busy = true;
    const batch = this.#waiting.splice(0, this.opts.maxBatch);
    const prompts = batch.map(({ q, mode }) => policyPrompt(q, mode));
    this.worker
      .generate({ prompts, greedy: true, temperature: 0, n: 1, max_new_tokens: this.opts.maxNewTokens })
      .then(
        (r) => batch.forEach((w, i) => w.resolve({ content: r.results[i]?.samples[0]?.text ?? '', toolCalls: [] })),
        (err: unknown) => batch.forEach((w) => w.reject(err)),
      )
      .finally(() => {
        this.#busy = false;
        this.#pump();
      });
  }

  async close(): Promise<void> {
    await this.worker.close();
  }
}
