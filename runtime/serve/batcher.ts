import { settingsKey, type PolicyChat, type SamplingSettings } from '../../protocols/openai-chat.ts';
import type { WorkerArgs, WorkerResult } from '../../agents/trainer/index.ts';

export type PromptResult = WorkerResult<'generate'>['results'][number];
export type Generate = (args: WorkerArgs<'generate'>) => Promise<WorkerResult<'generate'>>;

type Job = {
  key: string;
  prompt: PolicyChat;
  settings: SamplingSettings;
  /** Run on its own: its batch failed as a whole and it is retried alone to find the culprit. */
  solo: boolean;
  resolve(r: PromptResult): void;
  reject(e: unknown): void;
  signal?: AbortSignal;
  onAbort?: () => void;
};

/** A request's settings less its seed: requests that differ only in their seeds may share a call. */
function batchKey(s: SamplingSettings): string {
  return settingsKey({ ...s, seed: undefined });
}

/** What a waiting request whose client went away is rejected with. */
export class ClientGone extends Error {
  constructor() {
    super('the client closed the request before it was answered');
  }
}

/** How the batching went, for /v1/stats and the tests. */
/** `dropped`: requests whose client went away while they waited. */
export type BatchStats = { requests: number; generate_calls: number; largest_batch: number; queued: number; dropped: number };

/**
 * Turns concurrent requests into batched generate calls. The worker serves one request at
 * a time, so while it is busy new requests wait; when it is free, the oldest waiting
 * request and every other one with the same sampling settings (up to maxBatch) go as one
 * call: the worker decodes them as rows of one batch, so N clients cost about one call.
 * Settings differ per call only (temperature, top_p, max tokens, n), hence the grouping;
 * seeds do not split batches (clients such as the llm brains send a different seed with
 * every request, which would leave every call a batch of one): a batch draws its rows
 * from the first request's seed. A batch the worker refuses as a bad request is retried
 * one request at a time, so one client's unrenderable prompt fails only that client. A
 * waiting request whose signal aborts (its client hung up or timed out) leaves the queue
 * unanswered, so a client's retries do not pile up work nobody will read.
 */
export class GenerateBatcher {
  #waiting: Job[] = [];
  #busy = false;
  readonly stats: BatchStats = { requests: 0, generate_calls: 0, largest_batch: 0, queued: 0, dropped: 0 };

  constructor(
    private readonly generate: Generate,
    private readonly maxBatch: number,
    private readonly isBadRequest: (err: unknown) => boolean,
  ) {}

  submit(prompt: PolicyChat, settings: SamplingSettings, signal?: AbortSignal): Promise<PromptResult> {
    this.stats.requests++;
    if (signal?.aborted) return Promise.reject(new ClientGone());
    return new Promise((resolve, reject) => {
      const job: Job = { key: batchKey(settings), prompt, settings, solo: false, resolve, reject, signal };
      if (signal) {
        job.onAbort = () => {
          const at = this.#waiting.indexOf(job);
          if (at < 0) return; // already in a generate call: its answer is dropped by the server
          this.#waiting.splice(at, 1);
          this.stats.queued = this.#waiting.length;
          this.stats.dropped++;
          reject(new ClientGone());
        };
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.#waiting.push(job);
      this.#pump();
    });
  }

  #take(): Job[] {
    const first = this.#waiting.shift()!;
    if (first.solo) return [first];
    const batch = [first];
    for (let i = 0; i < this.#waiting.length && batch.length < this.maxBatch; ) {
      const j = this.#waiting[i]!;
      if (j.key === first.key && !j.solo) batch.push(...this.#waiting.splice(i, 1));
      else i++;
    }
    return batch;
  }

  #pump(): void {
    this.stats.queued = this.#waiting.length;
    if (this.#busy || this.#waiting.length === 0) return;
    this.#busy = true;
    const batch = this.#take();
    this.stats.queued = this.#waiting.length;
    this.stats.generate_calls++;
    this.stats.largest_batch = Math.max(this.stats.largest_batch, batch.length);
    const s = batch[0]!.settings;
    for (const j of batch) if (j.onAbort) j.signal?.removeEventListener('abort', j.onAbort);
    this.generate({
      prompts: batch.map((j) => j.prompt),
      n: s.n,
      temperature: s.temperature,
      greedy: s.temperature === 0,
      top_p: s.top_p,
      max_new_tokens: s.max_new_tokens,
      ...(s.seed === undefined ? {} : { seed: s.seed }),
    })
      .then(
        (r) => batch.forEach((j, i) => (r.results[i] ? j.resolve(r.results[i]) : j.reject(new Error(`the worker returned ${r.results.length} results for ${batch.length} prompts`)))),
        (err: unknown) => {
          if (batch.length > 1 && this.isBadRequest(err)) this.#waiting.unshift(...batch.map((j) => ({ ...j, solo: true })));
          else batch.forEach((j) => j.reject(err));
        },
      )
      .finally(() => {
        this.#busy = false;
        this.#pump();
      });
  }
}
