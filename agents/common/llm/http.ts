import http from 'node:http';
import https from 'node:https';

/**
 * A lean `fetch` for the openai SDK on node:http(s) keep-alive agents.
 *
 * Why not the global fetch: on Node 20 undici's fetch costs about 0.5 ms of CPU per
 * chat call (WHATWG streams on both sides); node:http costs a fraction of that, which
 * matters when hundreds of calls are in flight on a small machine. The response
 * body is read completely before the promise resolves, so the SDK's per-request
 * timeout covers the whole answer (with undici it stops at the headers).
 *
 * Sockets are not capped here: the per-endpoint Limiter bounds requests in flight,
 * and each of them gets a socket at once instead of queueing a second time.
 */
export type HttpFetchOptions = {
  keepAliveMsecs?: number;
  maxFreeSockets?: number;
  /**
   * Idle keep-alive sockets are closed after this long (ms). Below common server idle
   * timeouts (uvicorn's 5 s), so we never send on a socket the server is closing.
   * Node's agent applies it to free sockets only; requests in progress are unaffected.
   */
  idleSocketMs?: number;
};

function abortError(signal: AbortSignal): Error {
  const e = new Error(signal.reason instanceof Error ? signal.reason.message : 'This operation was aborted');
  e.name = 'AbortError'; // what the SDK looks for to report a timeout
  return e;
}

function flattenHeaders(h: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  if (h instanceof Headers) h.forEach((v, k) => (out[k] = v));
  else if (Array.isArray(h)) for (const [k, v] of h) out[k.toLowerCase()] = v;
  else for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k.toLowerCase()] = String(v);
  return out;
}

function bodyBytes(body: RequestInit['body']): string | Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  // Streams and forms are never sent by chat completions.
  throw new TypeError('httpFetch only sends string or byte bodies');
}

export function createHttpFetch(opts: HttpFetchOptions = {}): typeof fetch {
  const agentOpts = {
    keepAlive: true,
    keepAliveMsecs: opts.keepAliveMsecs ?? 10_000,
    maxSockets: Infinity,
    // Keep every socket of a burst for the next one instead of reconnecting.
    maxFreeSockets: opts.maxFreeSockets ?? 65_536,
    scheduling: 'lifo' as const,
    timeout: opts.idleSocketMs ?? 4_000,
  };
  const agents = { 'http:': new http.Agent(agentOpts), 'https:': new https.Agent(agentOpts) };

  const fetchImpl = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> =>
    new Promise<Response>((resolve, reject) => {
      const url = typeof input === 'string' ? new URL(input) : input instanceof URL ? input : new URL(input.url);
      const signal = init.signal ?? undefined;
      if (signal?.aborted) return reject(abortError(signal));
      const agent = url.protocol === 'https:' ? agents['https:'] : url.protocol === 'http:' ? agents['http:'] : null;
      if (!agent) return reject(new TypeError(`unsupported protocol ${url.protocol}`));
      let payload: string | Buffer | undefined;
      try {
        payload = bodyBytes(init.body);
      } catch (e) {
        return reject(e);
      }
      const headers = flattenHeaders(init.headers);
      if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
      const mod = url.protocol === 'https:' ? https : http;
      const onAbort = () => req.destroy(abortError(signal!));
      const req = mod.request(url, { method: init.method ?? 'GET', headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        });
        res.on('end', () => {
          signal?.removeEventListener('abort', onAbort);
          const h = new Headers();
          const raw = res.rawHeaders;
          for (let i = 0; i + 1 < raw.length; i += 2) h.append(raw[i]!, raw[i + 1]!);
          const status = res.statusCode ?? 500;
          const noBody = status === 204 || status === 304 || init.method === 'HEAD';
          try {
            resolve(new Response(noBody ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? '', headers: h }));
          } catch (e) {
            reject(e);
          }
        });
      });
      req.on('error', (e) => {
        signal?.removeEventListener('abort', onAbort);
        reject(e);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      req.end(payload);
    });
  return fetchImpl as typeof fetch;
}

let shared: typeof fetch | undefined;

/** The process-wide lean fetch (one pair of keep-alive agents for all endpoints). */
export function sharedHttpFetch(): typeof fetch {
  return (shared ??= createHttpFetch());
}
