import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import type { ChatPromptTemplate } from '@langchain/core/prompts';
import type { z } from 'zod';
import { describeIssues, LooptoolError, type ErrorCode, type ErrorIssue } from '../../../protocols/errors.ts';
import type { JsonValue } from '../../../protocols/json.ts';
import { describeEndpoint, type Endpoint } from './config.ts';
import { extractJson } from './extract.ts';
import { sharedHttpFetch } from './http.ts';
import { limiterFor, type Limiter } from './limiter.ts';
import { fromLangchain, type OpenAIMessage } from './messages.ts';
import { redact, redactValue } from './secret.ts';

/** Something observable the client did; role hosts forward these to the trace. Always redacted. */
export type LlmEvent = {
  kind: 'retry' | 'repair' | 'error';
  role: string;
  model: string;
  /** 1-based attempt (transport) or repair turn (repair). */
  attempt: number;
  reason: string;
  status?: number;
  delayMs?: number;
  issues?: ErrorIssue[];
};

export type ClientOptions = {
  /** Called for retries, repair turns and final failures; must not throw. */
  onEvent?: (e: LlmEvent) => void;
  /** A fetch implementation (default: the shared node:http keep-alive fetch of http.ts). */
  fetch?: typeof fetch;
};

export type CallOptions = {
  /** Used when the endpoint config sets no temperature (a brain's own default, e.g. 0 for judges). */
  temperature?: number;
  maxTokens?: number;
  /** Overrides the endpoint's per-attempt timeout. */
  timeoutMs?: number;
  /** Caller gives up: queued or in-flight work is abandoned, no retry follows. */
  signal?: AbortSignal;
  /** What this call is for, in errors and events ("planner.plan"). */
  label?: string;
  /** Extra request body fields for this call (merged over the endpoint's extraBody). */
  extraBody?: Record<string, unknown>;
};

export type StructuredOptions = CallOptions & {
  /** Expected top-level JSON shape (default object). */
  shape?: 'object' | 'array' | 'any';
  /** Overrides the endpoint's repairRetries. */
  repairRetries?: number;
};

export type Usage = { promptTokens: number; completionTokens: number };

/** Counters for metrics; cheap to keep, read them whenever. */
export type LlmStats = {
  /** HTTP requests sent, retries and repair turns included. */
  calls: number;
  failures: number;
  retries: number;
  repairs: number;
  promptTokens: number;
  completionTokens: number;
};

type Failure = { retryable: boolean; code: ErrorCode; status?: number; reason: string; retryAfterMs?: number };

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Retry-After as milliseconds: `retry-after-ms`, then `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(headers: Headers | undefined): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const ra = headers.get('retry-after');
  if (ra === null || ra.trim() === '') return undefined;
  if (Number.isFinite(Number(ra))) return Math.max(0, Number(ra) * 1000);
  const at = Date.parse(ra);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * A chat call that failed for good. `status` is the endpoint's HTTP status when it sent one,
 * so that callers can tell a request the endpoint refuses (400: e.g. a prompt longer than
 * the model's context) from an endpoint that is down.
 */
export class LlmCallError extends LooptoolError {
  readonly status: number | undefined;
  constructor(reply: ConstructorParameters<typeof LooptoolError>[0], status?: number) {
    super(reply);
    this.status = status;
  }
}

/**
 * A chat client for one role's endpoint. All roles of a process that use the same
 * baseURL + model share one FIFO concurrency limiter, so a busy planner cannot
 * starve the judge and the endpoint never sees more than `concurrency` requests.
 *
 * Retries (429, 5xx, 408/409, timeouts, connection errors) happen inside the
 * caller's slot: an endpoint that is shedding load gets fewer requests, not more.
 */
export class LlmClient {
  readonly endpoint: Endpoint;
  readonly limiter: Limiter;
  readonly stats: LlmStats = { calls: 0, failures: 0, retries: 0, repairs: 0, promptTokens: 0, completionTokens: 0 };
  readonly #sdk: OpenAI;
  readonly #onEvent?: (e: LlmEvent) => void;
  readonly #secrets: string[];

  constructor(endpoint: Endpoint, opts: ClientOptions = {}) {
    this.endpoint = endpoint;
    this.limiter = limiterFor(endpoint.baseURL, endpoint.model, endpoint.concurrency);
    this.#onEvent = opts.onEvent;
    const key = endpoint.apiKey.reveal();
    // Header values can be credentials too (x-api-key, proxies): redact them all.
    // So can credentials written into the URL (https://user:pass@host/v1).
    const u = new URL(endpoint.baseURL);
    this.#secrets = [key, ...Object.values(endpoint.headers), decodeURIComponent(u.password), decodeURIComponent(u.username)].filter((s) => s.length > 0);
    this.#sdk = new OpenAI({
      // The SDK insists on a key; for keyless local servers we drop the header below.
      apiKey: key || 'none',
      baseURL: endpoint.baseURL,
      timeout: endpoint.timeoutMs,
      // We retry ourselves: inside the limiter slot, with events, and with our caps.
      maxRetries: 0,
      logLevel: 'off',
      defaultHeaders: { ...endpoint.headers, ...(key ? {} : { Authorization: null }) },
      fetch: opts.fetch ?? sharedHttpFetch(),
    });
  }

  /** Removes this endpoint's key (and header values) from any text. */
  redact(text: string): string {
    return redact(text, this.#secrets);
  }

  toJSON(): object {
    return describeEndpoint(this.endpoint);
  }

  /** Renders a prompt template with `vars` into OpenAI messages. */
  async render(prompt: ChatPromptTemplate, vars: Record<string, unknown>): Promise<OpenAIMessage[]> {
    return fromLangchain(await prompt.formatMessages(vars));
  }

  /**
   * One chat completion with retries. Returns the raw completion (first choice
   * guaranteed present); throws a LooptoolError whose message never holds the key.
   */
  async chat(messages: OpenAIMessage[], opts: CallOptions = {}, extra: Partial<ChatCompletionCreateParamsNonStreaming> = {}): Promise<ChatCompletion> {
    const e = this.endpoint;
    const temperature = e.temperature ?? opts.temperature;
    const body: ChatCompletionCreateParamsNonStreaming = {
      ...(e.extraBody as object),
      ...(opts.extraBody as object | undefined),
      model: e.model,
      messages,
      // A brain's own ask (the planner's 2048, …) is capped by a maxTokens the user set.
      max_tokens: Math.min(opts.maxTokens ?? e.maxTokens, e.maxTokensCap ?? Number.POSITIVE_INFINITY),
      ...(temperature === undefined ? {} : { temperature }),
      ...extra,
    };
    const timeout = opts.timeoutMs ?? e.timeoutMs;
    await this.limiter.acquire(opts.signal);
    try {
      for (let attempt = 1; ; attempt++) {
        this.stats.calls++;
        let failure: Failure;
        try {
          const res = await this.#sdk.chat.completions.create(body, { timeout, signal: opts.signal, maxRetries: 0 });
          if (res && Array.isArray(res.choices) && res.choices[0]?.message) {
            if (res.usage) {
              this.stats.promptTokens += res.usage.prompt_tokens ?? 0;
              this.stats.completionTokens += res.usage.completion_tokens ?? 0;
            }
            return res;
          }
          failure = { retryable: true, code: 'unavailable', reason: 'the endpoint answered without choices[0].message' };
        } catch (err) {
          failure = this.#classify(err, opts.signal);
        }
        if (!failure.retryable || attempt > e.maxRetries || opts.signal?.aborted) {
          this.stats.failures++;
          const what = opts.label ?? e.role;
          const tries = attempt === 1 ? '1 attempt' : `${attempt} attempts`;
          const message = this.redact(`${what}: llm call to ${e.model} at ${e.baseURL} failed after ${tries}: ${failure.reason}`);
          this.#emit({ kind: 'error', role: e.role, model: e.model, attempt, reason: this.redact(failure.reason), status: failure.status });
          // retried here already: an unavailable endpoint is not asked again by the bus client
          throw new LlmCallError({ code: failure.code, message, retryable: failure.retryable && failure.code !== 'unavailable' }, failure.status);
        }
        const backoff = Math.min(e.retryMaxMs, e.retryBaseMs * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5);
        const delayMs = Math.round(Math.min(e.retryMaxMs, failure.retryAfterMs ?? backoff));
        this.stats.retries++;
        this.#emit({ kind: 'retry', role: e.role, model: e.model, attempt, reason: this.redact(failure.reason), status: failure.status, delayMs });
        try {
          await sleep(delayMs, opts.signal);
        } catch {
          this.stats.failures++;
          throw new LooptoolError({ code: 'timeout', message: this.redact(`${opts.label ?? e.role}: cancelled while backing off after: ${failure.reason}`) });
        }
      }
    } finally {
      this.limiter.release();
    }
  }

  /** Plain text reply (reasoning kept; callers strip `<think>` if they need to). */
  async text(prompt: ChatPromptTemplate | OpenAIMessage[], vars: Record<string, unknown> = {}, opts: CallOptions = {}): Promise<string> {
    const messages = Array.isArray(prompt) ? prompt : await this.render(prompt, vars);
    const res = await this.chat(messages, opts);
    return res.choices[0]!.message.content ?? '';
  }

  /**
   * Renders `prompt`, calls the model, extracts JSON from the reply (code fences,
   * prose and <think> blocks tolerated) and validates it with `schema`. A reply
   * that fails gets up to `repairRetries` repair turns quoting the problems (with
   * field paths) back to the model. Final failure: LooptoolError `invalid_output`
   * whose issues name the fields.
   */
  async structured<S extends z.ZodType>(
    prompt: ChatPromptTemplate | OpenAIMessage[],
    vars: Record<string, unknown>,
    schema: S,
    opts: StructuredOptions = {},
  ): Promise<z.output<S>> {
    const messages = Array.isArray(prompt) ? [...prompt] : await this.render(prompt, vars);
    const repairs = opts.repairRetries ?? this.endpoint.repairRetries;
    const shape = opts.shape ?? 'object';
    for (let turn = 0; ; turn++) {
      const res = await this.chat(messages, opts);
      const choice = res.choices[0]!;
      const content = choice.message.content ?? '';
      const truncated = choice.finish_reason === 'length';
      let reason: string;
      let issues: ErrorIssue[] = [];
      const ex = extractJson(content, shape);
      if (ex.ok) {
        const r = schema.safeParse(ex.value);
        if (r.success) return r.data;
        issues = describeIssues(r.error);
        reason = 'the JSON does not match the required schema';
      } else reason = ex.reason;
      if (truncated) reason += ' (the reply was cut off at max_tokens)';
      if (turn >= repairs) {
        const what = opts.label ?? this.endpoint.role;
        const turns = turn + 1;
        this.stats.failures++;
        this.#emit({ kind: 'error', role: this.endpoint.role, model: this.endpoint.model, attempt: turns, reason: this.redact(reason), issues });
        throw new LooptoolError({
          code: 'invalid_output',
          message: this.redact(`${what}: ${this.endpoint.model} gave no valid output in ${turns} ${turns === 1 ? 'try' : 'tries'}: ${reason}`),
          issues: redactValue(issues, this.#secrets),
          retryable: true,
        });
      }
      this.stats.repairs++;
      this.#emit({ kind: 'repair', role: this.endpoint.role, model: this.endpoint.model, attempt: turn + 1, reason, issues });
      messages.push({ role: 'assistant', content }, { role: 'user', content: repairMessage(reason, issues, shape) });
    }
  }

  /** Counts and reports a repair turn made by a helper built on `chat` (tool turns). */
  noteRepair(attempt: number, reason: string, issues: ErrorIssue[] = []): void {
    this.stats.repairs++;
    this.#emit({ kind: 'repair', role: this.endpoint.role, model: this.endpoint.model, attempt, reason: this.redact(reason), issues });
  }

  /** Counts and reports a final output failure of a helper built on `chat`. */
  noteFailure(attempt: number, reason: string, issues: ErrorIssue[] = []): void {
    this.stats.failures++;
    this.#emit({ kind: 'error', role: this.endpoint.role, model: this.endpoint.model, attempt, reason: this.redact(reason), issues });
  }

  #classify(err: unknown, signal?: AbortSignal): Failure {
    if (err instanceof APIUserAbortError || signal?.aborted) {
      const why = signal?.reason instanceof Error ? signal.reason.message : 'the caller cancelled';
      return { retryable: false, code: 'timeout', reason: `cancelled: ${why}` };
    }
    // Everything below but a request the endpoint rejects (400, 422) is the endpoint's
    // failure, not the model's: 'unavailable', so that callers do not take it for data.
    if (err instanceof APIConnectionTimeoutError)
      return { retryable: true, code: 'unavailable', reason: `no answer within ${this.endpoint.timeoutMs} ms` };
    if (err instanceof APIConnectionError) {
      const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
      return { retryable: true, code: 'unavailable', reason: `connection failed (${err.message}${cause})` };
    }
    if (err instanceof APIError) {
      const status = err.status;
      const detail = (err.error && typeof err.error === 'object' && 'message' in err.error ? String((err.error as { message: unknown }).message) : err.message) || 'no detail';
      const retryAfter = retryAfterMs(err.headers as Headers | undefined);
      if (status === 429) return { retryable: true, code: 'unavailable', status, reason: `rate limited (HTTP 429): ${detail}`, retryAfterMs: retryAfter };
      if (status !== undefined && (status >= 500 || status === 408 || status === 409))
        return { retryable: true, code: 'unavailable', status, reason: `endpoint error (HTTP ${status}): ${detail}`, retryAfterMs: retryAfter };
      if (status === 401 || status === 403)
        return { retryable: false, code: 'unavailable', status, reason: `the endpoint refused our credentials (HTTP ${status}): ${detail}` };
      if (status === 404) return { retryable: false, code: 'unavailable', status, reason: `no such endpoint or model (HTTP 404): ${detail}` };
      return { retryable: false, code: 'internal', status, reason: `the endpoint rejected the request (HTTP ${status ?? '?'}): ${detail}` };
    }
    // A 200 whose body is not JSON, or a body the SDK cannot read: a broken proxy or a crashed server.
    const msg = err instanceof Error ? err.message : String(err);
    return { retryable: true, code: 'unavailable', reason: `unreadable response (${msg})` };
  }

  #emit(e: LlmEvent): void {
    if (!this.#onEvent) return;
    try {
      this.#onEvent(e);
    } catch {
      // An observer's bug must not fail the call it observes.
    }
  }
}

/** The repair turn: what was wrong, field by field, and what to send instead. */
export function repairMessage(reason: string, issues: ErrorIssue[], shape: 'object' | 'array' | 'any' = 'object'): string {
  const lines = [`Your previous reply could not be used: ${reason}.`];
  if (issues.length) {
    lines.push('Problems, by field path:');
    for (const i of issues.slice(0, 20)) lines.push(`- ${i.path}: ${i.message}`);
    if (issues.length > 20) lines.push(`- … and ${issues.length - 20} more`);
  }
  const what = shape === 'array' ? 'JSON array' : shape === 'object' ? 'JSON object' : 'JSON value';
  lines.push(`Reply again with only the corrected ${what}: no code fences, no explanation, every required field present with the right type.`);
  return lines.join('\n');
}

/** A JsonValue-friendly summary of a client's counters (for metric trace events). */
export function statsOf(client: LlmClient): Record<string, JsonValue> {
  return { ...describeEndpoint(client.endpoint), ...client.stats };
}
