import { z } from 'zod';
import { LlmCallError, LlmClient, type Endpoint } from '../../agents/common/llm/index.ts';
import { type BfclQuestion, type CheckMode, RawAnswer, bfclMessages, bfclTools } from '../../protocols/bfcl/index.ts';
import { describeIssues, formatIssues, LooptoolError } from '../../protocols/errors.ts';
import { type Answerer, QuestionRejected } from './answerers.ts';

// The part of an OpenAI chat completion message we read, checked before use.
const ReplyMessage = z.object({
  content: z.string().nullish(),
  tool_calls: z
    .array(z.object({ function: z.object({ name: z.string(), arguments: z.union([z.string(), z.record(z.string(), z.unknown())]).nullish() }) }))
    .nullish(),
});

const PER_QUESTION_STATUSES = new Set([400, 413, 422]);

export class EndpointAnswerer implements Answerer {
  readonly #client: LlmClient;
  readonly describe: Record<string, unknown>;

  constructor(endpoint: Endpoint) {
    this.#client = new LlmClient(endpoint);
    this.describe = { kind: 'endpoint', ...(this.#client.toJSON() as Record<string, unknown>) };
  }

  get stats() {
    return this.#client.stats;
  }

  async answer(q: BfclQuestion, mode: CheckMode, signal: AbortSignal): Promise<RawAnswer> {
    // BFCL samples near-greedily; temperature 0 unless the endpoint config says otherwise.
    // No tool_choice: "auto" is the protocol's default with tools, and some servers refuse the field.
    const extra = mode === 'fc' && q.functions.length ? { tools: bfclTools(q.functions).tools as never } : {};
    let res;
    try {
      res = await this.#client.chat(bfclMessages(q, mode), { temperature: 0, signal, label: `bfcl ${q.id}` }, extra);
    } catch (err) {
      if (err instanceof LlmCallError && err.status !== undefined && PER_QUESTION_STATUSES.has(err.status)) throw new QuestionRejected(err.message);
      throw err;
    }
    const m = ReplyMessage.safeParse(res.choices[0]!.message);
    if (!m.success) {
      const e = this.#client.endpoint;
      throw new LooptoolError({
        code: 'internal',
        message: this.#client.redact(`${e.model} at ${e.baseURL} sent a reply that is not an OpenAI chat message (${q.id}): ${formatIssues(describeIssues(m.error, 'choices.0.message'))}`),
      });
    }
    const toolCalls = (m.data.tool_calls ?? []).map((c) => ({
      name: c.function.name,
      arguments: typeof c.function.arguments === 'string' ? c.function.arguments : JSON.stringify(c.function.arguments ?? {}),
    }));
    return { content: m.data.content ?? '', toolCalls };
  }

  async close(): Promise<void> {}
}
