/**
 * A test double for a *remote LLM endpoint* — the only test double looptool allows
 * (DESIGN.md §3). It is a real HTTP server (node:http on 127.0.0.1, a free port)
 * speaking the OpenAI chat-completions protocol: POST /v1/chat/completions answers
 * with `choices[].message.content`, `tool_calls` and `usage`, exactly as vLLM or
 * OpenAI would, so the code under test goes through the real `openai` SDK, real
 * sockets and real JSON.
 *
 * Behaviour is scripted per request: one-shot replies queued with `enqueue`, then
 * persistent rules (`when(matcher, reply)`), then the default handler. Replies can
 * be canned content, tool calls, malformed JSON, wrong-schema JSON, a hang (the
 * client must time out), 429 with Retry-After, 5xx, or a body that is not JSON at
 * all. Every request is recorded (headers and parsed body) unless `record: false`,
 * and the server counts requests in flight so tests can check concurrency limits.
 *
 * It keeps per-request work tiny (no per-request allocation beyond the body and
 * the reply) so that it can hold 256+ concurrent requests with a fixed latency
 * without becoming the bottleneck of a throughput benchmark.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type FakeToolCall = { id?: string; name: string; arguments: string | Record<string, unknown> };

export type Reply =
  /** A normal completion. */
  | { content?: string | null; toolCalls?: FakeToolCall[]; finishReason?: string; delayMs?: number }
  /** An HTTP error; `retryAfter` in seconds (or an HTTP date) sets Retry-After. */
  | { status: number; error?: string; retryAfter?: number | string; delayMs?: number }
  /** Never answer: the client has to time out (the socket is freed when the client gives up). */
  | { hang: true }
  /** A 200 (or `status`) whose body is these raw bytes, e.g. not JSON at all. */
  | { rawBody: string; status?: number; delayMs?: number };

export type RecordedRequest = {
  /** 1-based arrival number. */
  n: number;
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
  /** The parsed JSON body, or undefined when it was not JSON. */
  body: ChatBody | undefined;
  at: number;
};

export type ChatBody = {
  model?: string;
  messages?: { role: string; content?: string | null; tool_calls?: unknown[]; tool_call_id?: string }[];
  tools?: { type: string; function: { name: string; description?: string; parameters?: unknown } }[];
  temperature?: number;
  max_tokens?: number;
  [k: string]: unknown;
};

export type Matcher = (req: RecordedRequest) => boolean;
export type Handler = (req: RecordedRequest) => Reply | Promise<Reply>;

export type ServerOptions = {
  /** Added before every answer (ms); the benchmark uses 200. */
  latencyMs?: number;
  /** The answer when no queued reply or rule applies (default: content "ok"). */
  handler?: Handler;
  /** Keep every request (default true). Benchmarks turn it off. */
  record?: boolean;
};

export type OpenAITestServer = {
  /** Base URL for the SDK, ending in /v1. */
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Requests answered (or failed) so far. */
  handled: number;
  inFlight: number;
  maxInFlight: number;
  /** One-shot replies, consumed in order before rules and the handler. */
  enqueue(...replies: (Reply | Handler)[]): void;
  /** A persistent rule; the first matching rule answers. Returns a remover. */
  when(matcher: Matcher, reply: Reply | Handler): () => void;
  setLatency(ms: number): void;
  /** Clears recorded requests, queued replies, rules and counters. */
  reset(): void;
  close(): Promise<void>;
};

/** Builders for common replies. */
export const reply = {
  text: (content: string): Reply => ({ content }),
  json: (value: unknown): Reply => ({ content: JSON.stringify(value) }),
  /** JSON the way chatty models send it: prose and a ```json fence. */
  fenced: (value: unknown): Reply => ({ content: `Sure! Here it is:\n\n\`\`\`json\n${JSON.stringify(value, null, 2)}\n\`\`\`\nLet me know if you need more.` }),
  malformed: (): Reply => ({ content: '{"oops": [1, 2,, "unterminated' }),
  toolCalls: (calls: FakeToolCall[], content: string | null = null): Reply => ({ content, toolCalls: calls }),
  /** Tool calls as Hermes/Qwen text blocks in the content (no native tool_calls). */
  hermes: (calls: { name: string; arguments: Record<string, unknown> }[], prefix = ''): Reply => ({
    content: prefix + calls.map((c) => `<tool_call>\n${JSON.stringify({ name: c.name, arguments: c.arguments })}\n</tool_call>`).join('\n'),
  }),
  rateLimited: (retryAfter: number | string = 1): Reply => ({ status: 429, error: 'Rate limit reached, slow down', retryAfter }),
  serverError: (status = 500, error = 'internal server error'): Reply => ({ status, error }),
  hang: (): Reply => ({ hang: true }),
  notJson: (): Reply => ({ rawBody: '<html>502 Bad Gateway</html>' }),
};

/** Text of the system message(s) of a request. */
export function systemText(req: RecordedRequest): string {
  return (req.body?.messages ?? [])
    .filter((m) => m.role === 'system')
    .map((m) => m.content ?? '')
    .join('\n');
}

/** Text of the last user message of a request. */
export function lastUserText(req: RecordedRequest): string {
  const users = (req.body?.messages ?? []).filter((m) => m.role === 'user');
  return users.at(-1)?.content ?? '';
}

/** Every message text of a request, joined (to search for things that must not be there). */
export function allText(req: RecordedRequest): string {
  return (req.body?.messages ?? []).map((m) => m.content ?? '').join('\n');
}

const approxTokens = (s: string) => Math.max(1, Math.ceil(s.length / 4));

export async function startOpenAIServer(opts: ServerOptions = {}): Promise<OpenAITestServer> {
  let latency = opts.latencyMs ?? 0;
  const record = opts.record ?? true;
  const handler: Handler = opts.handler ?? (() => ({ content: 'ok' }));
  let queue: (Reply | Handler)[] = [];
  let rules: { matcher: Matcher; reply: Reply | Handler }[] = [];
  let seq = 0;
  const sockets = new Set<Socket>();

  const state: OpenAITestServer = {
    url: '',
    port: 0,
    requests: [],
    handled: 0,
    inFlight: 0,
    maxInFlight: 0,
    enqueue: (...r) => void queue.push(...r),
    when(matcher, r) {
      const rule = { matcher, reply: r };
      rules.push(rule);
      return () => void (rules = rules.filter((x) => x !== rule));
    },
    setLatency: (ms) => void (latency = ms),
    reset() {
      state.requests.length = 0;
      queue = [];
      rules = [];
      state.handled = 0;
      state.maxInFlight = state.inFlight;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };

  const pick = async (req: RecordedRequest): Promise<Reply> => {
    const next = queue.shift() ?? rules.find((r) => r.matcher(req))?.reply ?? handler;
    return typeof next === 'function' ? await next(req) : next;
  };

  const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  };

  const answer = (req: RecordedRequest, res: ServerResponse, r: Reply) => {
    if ('hang' in r) return; // the client's timeout (or close()) ends it
    if ('rawBody' in r) return send(res, r.status ?? 200, r.rawBody);
    if ('status' in r) {
      const headers: Record<string, string> = {};
      if (r.retryAfter !== undefined) headers['retry-after'] = String(r.retryAfter);
      const type = r.status === 429 ? 'rate_limit_exceeded' : r.status >= 500 ? 'server_error' : 'invalid_request_error';
      return send(res, r.status, JSON.stringify({ error: { message: r.error ?? `HTTP ${r.status}`, type, code: null, param: null } }), headers);
    }
    const calls = (r.toolCalls ?? []).map((c, i) => ({
      id: c.id ?? `call_${req.n}_${i}`,
      type: 'function',
      function: { name: c.name, arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments) },
    }));
    const content = r.content === undefined ? (calls.length ? null : '') : r.content;
    const completion = approxTokens(content ?? '') + calls.length * 16;
    const prompt = approxTokens(req.rawBody);
    const body = {
      id: `chatcmpl-${req.n}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: req.body?.model ?? 'unknown',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content, ...(calls.length ? { tool_calls: calls } : {}) },
          finish_reason: r.finishReason ?? (calls.length ? 'tool_calls' : 'stop'),
          logprobs: null,
        },
      ],
      usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
    };
    send(res, 200, JSON.stringify(body));
  };

  const onRequest = (inc: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    inc.on('data', (c: Buffer) => chunks.push(c));
    inc.on('end', () => {
      state.inFlight++;
      if (state.inFlight > state.maxInFlight) state.maxInFlight = state.inFlight;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        state.inFlight--;
        state.handled++;
      };
      res.on('close', finish);
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: ChatBody | undefined;
      try {
        body = JSON.parse(rawBody) as ChatBody;
      } catch {
        body = undefined;
      }
      const req: RecordedRequest = { n: ++seq, method: inc.method ?? '', path: inc.url ?? '', headers: inc.headers, rawBody, body, at: Date.now() };
      if (record) state.requests.push(req);
      if (req.method !== 'POST' || !req.path.startsWith('/v1/chat/completions'))
        return send(res, 404, JSON.stringify({ error: { message: `no route ${req.method} ${req.path}`, type: 'not_found' } }));
      if (!body) return send(res, 400, JSON.stringify({ error: { message: 'request body is not JSON', type: 'invalid_request_error' } }));
      pick(req).then(
        (r) => {
          const delay = latency + ('delayMs' in r && r.delayMs ? r.delayMs : 0);
          if (delay > 0) setTimeout(() => answer(req, res, r), delay);
          else answer(req, res, r);
        },
        (e: unknown) => send(res, 500, JSON.stringify({ error: { message: `test handler threw: ${String(e)}`, type: 'server_error' } })),
      );
    });
  };

  const server = createServer({ keepAlive: true, keepAliveTimeout: 60_000, requestTimeout: 0, headersTimeout: 60_000 }, onRequest);
  // Idle keep-alive sockets must outlive the client's, or a reused socket can be closed under a request.
  server.keepAliveTimeout = 60_000;
  server.maxRequestsPerSocket = 0;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.setNoDelay(true);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  state.port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${state.port}/v1`;
  return state;
}
