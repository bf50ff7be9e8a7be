import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeIssues } from '../../protocols/errors.ts';
import {
  ChatCompletionRequest,
  chatCompletion,
  completionChunks,
  invalidRequest,
  openAIError,
  toPolicyChat,
  type OpenAIErrorBody,
} from '../../protocols/openai-chat.ts';
import { isWorkerError } from '../../agents/trainer/index.ts';
import { ClientGone, GenerateBatcher, type BatchStats, type Generate } from './batcher.ts';

export type ServeOptions = {
  /** The policy's generate (the worker's, or a double in tests). */
  generate: Generate;
  /** The one model id /v1/models lists and replies carry. */
  model: string;
  host?: string;
  port?: number;
  /** Most requests in one generate call. */
  maxBatch?: number;
  /** max_tokens when a request gives none. */
  defaultMaxTokens?: number;
};

export type ServeServer = { url: string; port: number; stats: BatchStats; close(): Promise<void> };

// A chat request is text; anything near this is a mistake or an attack, not a prompt.
const MAX_BODY_BYTES = 8 * 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: OpenAIErrorBody,
  ) {
    super(body.error.message);
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, openAIError(`the body is over ${MAX_BODY_BYTES} bytes`, 'invalid_request_error'));
    parts.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(parts).toString('utf8'));
  } catch (err) {
    throw new HttpError(400, openAIError(`the body is not JSON: ${(err as Error).message}`, 'invalid_request_error', null, 'invalid_json'));
  }
}

/** A failed generate as HTTP: the worker's bad-request verdicts (a prompt too long, a template that cannot render it) are the client's. */
function workerFailure(err: unknown): HttpError {
  if (isWorkerError(err, 'bad_request'))
    // The worker names the prompt's place in its batch, which means nothing to this client.
    return new HttpError(400, openAIError(err.message.replace(/args\.prompts\.\d+\.?/g, (m) => (m.endsWith('.') ? '' : 'the prompt')), 'invalid_request_error', 'messages', 'invalid_value'));
  const message = err instanceof Error ? err.message : String(err);
  return new HttpError(500, openAIError(`the policy worker failed: ${message}`, 'server_error'));
}

/**
 * The OpenAI-compatible HTTP front of the policy: /v1/models, /v1/chat/completions (JSON
 * or server-sent events) and /v1/stats (how requests were batched). Every request body is
 * checked against the zod schema in protocols/openai-chat.ts; a bad one is a 400 whose
 * `param` names the field.
 */
export async function startServeServer(opts: ServeOptions): Promise<ServeServer> {
  const batcher = new GenerateBatcher(opts.generate, opts.maxBatch ?? 16, (e) => isWorkerError(e, 'bad_request'));
  const created = Math.floor(Date.now() / 1000);
  const defaultMaxTokens = opts.defaultMaxTokens ?? 512;

  async function chat(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = ChatCompletionRequest.safeParse(await readJson(req));
    if (!parsed.success) throw new HttpError(400, invalidRequest(describeIssues(parsed.error)));
    const converted = toPolicyChat(parsed.data, { maxTokens: defaultMaxTokens });
    if (!converted.ok) throw new HttpError(400, invalidRequest(converted.issues));
    const before = batcher.stats.generate_calls;
    // A client that hangs up (a timeout, a retry on its side) takes its request out of the queue.
    const gone = new AbortController();
    const onClose = () => {
      if (!res.writableEnded) gone.abort();
    };
    res.once('close', onClose);
    const result = await batcher
      .submit(converted.prompt, converted.settings, gone.signal)
      .catch((err: unknown) => {
        throw err instanceof ClientGone ? err : workerFailure(err);
      })
      .finally(() => res.off('close', onClose));
    if (gone.signal.aborted) return;
    const reply = chatCompletion(`chatcmpl-${randomBytes(12).toString('hex')}`, opts.model, Math.floor(Date.now() / 1000), result);
    // Which generate call answered: requests that share the number were one batch.
    const headers = { 'x-looptool-generate-call': String(before + 1) };
    if (!parsed.data.stream) return send(res, 200, reply, headers);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', ...headers });
    for (const chunk of completionChunks(reply)) res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    res.end('data: [DONE]\n\n');
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname.replace(/\/+$/, '');
    const model = { id: opts.model, object: 'model', created, owned_by: 'looptool' };
    if (req.method === 'GET' && path === '/v1/models') return send(res, 200, { object: 'list', data: [model] });
    if (req.method === 'GET' && path === `/v1/models/${opts.model}`) return send(res, 200, model);
    if (req.method === 'GET' && path === '/v1/stats') return send(res, 200, batcher.stats);
    if (req.method === 'POST' && path === '/v1/chat/completions') return chat(req, res);
    throw new HttpError(404, openAIError(`no route ${req.method} ${path || '/'} (this server has /v1/models, /v1/chat/completions, /v1/stats)`, 'invalid_request_error', null, 'not_found'));
  }

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (err instanceof ClientGone) return void res.destroy();
      const e = err instanceof HttpError ? err : new HttpError(500, openAIError(String((err as Error)?.message ?? err), 'server_error'));
      if (!res.headersSent) send(res, e.status, e.body);
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8000, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host ?? '127.0.0.1';
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/v1`,
    port,
    stats: batcher.stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
