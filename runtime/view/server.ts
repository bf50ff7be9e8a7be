import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/transport-node';
import type { TraceEvent } from '../../protocols/trace.ts';
import type { Logger } from '../../protocols/role.ts';
import { ensureTraceStream } from '../trace/stream.ts';
import { FilterError, matches, parseFilter, subjectFor, summarize, traceFeed, type ViewFilter } from './source.ts';

export type ViewServerOptions = {
  nc: NatsConnection;
  /** a looptool process is writing to this bus now (else: a finished run's store) */
  live: boolean;
  /** the run the page opens on */
  run?: string;
  host?: string;
  port?: number;
  log?: Logger;
  /** most stored events one stream sends before it goes live (older ones are left out, and the page is told) */
  backlogCap?: number;
};

export type ViewServer = { url: string; port: number; host: string; close(): Promise<void> };

const here = dirname(fileURLToPath(import.meta.url));
const PUBLIC = join(here, 'public');
const require = createRequire(import.meta.url);

/** Third-party assets come from npm packages in node_modules: the page fetches nothing from outside. */
const VENDOR: Record<string, string> = {
  '/vendor/uplot.js': require.resolve('uplot/dist/uPlot.iife.min.js'),
  '/vendor/uplot.css': require.resolve('uplot/dist/uPlot.min.css'),
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

// The browser may load only what this server serves; inline style attributes are what uPlot writes.
const CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'";

const LOOPBACK_HOSTS = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function sendFile(res: ServerResponse, path: string): Promise<void> {
  try {
    const body = await readFile(path);
    res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', 'content-security-policy': CSP, 'cache-control': 'no-cache' });
    res.end(body);
  } catch {
    sendJson(res, 404, { error: 'not found' });
  }
}

/**
 * The viewer's HTTP side: the static page, the vendored chart library, a summary of
 * what the trace stream holds, and `/api/events`, a server-sent-events stream of trace
 * events read from JetStream with the page's filters applied here (run, role and kind
 * narrow the subject; dialogue and slot states are matched per event).
 */
export async function startViewServer(opts: ViewServerOptions): Promise<ViewServer> {
  const host = opts.host ?? '127.0.0.1';
  const cap = opts.backlogCap ?? 200_000;
  if (opts.live) await ensureTraceStream(opts.nc);
  const open = new Set<AbortController>();
  const loopbackBind = host === '::1' || LOOPBACK_HOSTS.test(host);

  async function events(req: IncomingMessage, res: ServerResponse, f: ViewFilter): Promise<void> {
    const abort = new AbortController();
    open.add(abort);
    req.on('close', () => abort.abort());
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const send = (event: string, data: unknown) => {
      if (!res.writableEnded) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const follow = f.follow && opts.live;
    send('hello', { live: opts.live, follow, filter: f });
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    let backlog: TraceEvent[] = [];
    let dropped = 0;
    const limit = Math.min(f.tail ?? cap, cap);
    let synced = false;
    let pending: TraceEvent[] = [];
    let flushTimer: NodeJS.Timeout | undefined;
    let pacing: Promise<void> | undefined;
    const flushLive = () => {
      flushTimer = undefined;
      if (pending.length) send('events', pending);
      pending = [];
    };
    try {
      for await (const item of traceFeed(opts.nc, { subject: subjectFor(f), follow, signal: abort.signal })) {
        if ('events' in item) {
          const hits = item.events.filter((e) => matches(f, e));
          if (!hits.length) continue;
          if (!synced) {
            backlog.push(...hits);
            // Keep the newest N by time (batches arrive out of time order); trimming in bulk keeps it cheap.
            if (backlog.length > limit * 2) {
              backlog.sort((a, b) => a.ts - b.ts);
              dropped += backlog.length - limit;
              backlog = backlog.slice(-limit);
            }
          } else {
            pending.push(...hits);
            // Live events leave in small groups: one SSE message per 50 ms, not per event.
            if (!pacing && !flushTimer) flushTimer = setTimeout(flushLive, 50);
          }
          continue;
        }
        synced = true;
        // Batches are per subject, so stored events are put back in time order first.
        backlog.sort((a, b) => a.ts - b.ts);
        if (backlog.length > limit) {
          dropped += backlog.length - limit;
          backlog = backlog.slice(-limit);
        }
        const stored = backlog.length;
        if (f.replay) {
          const speed = f.replay;
          const list = backlog;
          pacing = (async () => {
            await paced(list, speed, (group) => send('events', group), abort.signal);
            send('synced', { stored, dropped, live: follow, replayed: true });
            pacing = undefined;
            if (follow) flushLive();
          })();
          if (!follow) await pacing;
        } else {
          for (let i = 0; i < backlog.length; i += 500) send('events', backlog.slice(i, i + 500));
          send('synced', { stored, dropped, live: follow });
        }
        backlog = [];
        if (!follow) break;
      }
      if (!follow) send('end', {});
    } catch (err) {
      if (!abort.signal.aborted) {
        opts.log?.warn({ err: (err as Error).message }, 'view: trace stream failed');
        send('failure', { message: (err as Error).message });
      }
    } finally {
      clearInterval(heartbeat);
      if (flushTimer) clearTimeout(flushTimer);
      open.delete(abort);
      res.end();
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Refuse pages from other origins that point a name at 127.0.0.1 (DNS rebinding).
    if (loopbackBind) {
      if (!LOOPBACK_HOSTS.test(req.headers.host ?? '')) return sendJson(res, 403, { error: 'forbidden host header' });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'only GET' });
    const url = new URL(req.url ?? '/', 'http://viewer.local');
    const path = url.pathname;
    if (path === '/api/events') {
      let f: ViewFilter;
      try {
        f = parseFilter(url.searchParams);
      } catch (err) {
        if (err instanceof FilterError) return sendJson(res, 400, { error: err.message, issues: err.issues });
        throw err;
      }
      return events(req, res, f);
    }
    if (path === '/api/info') {
      const summary = await summarize(opts.nc).catch(() => ({ runs: {} }));
      return sendJson(res, 200, { run: opts.run ?? null, live: opts.live, ...summary });
    }
    if (VENDOR[path]) return sendFile(res, VENDOR[path]!);
    const rel = path === '/' ? 'index.html' : decodeURIComponent(path.slice(1));
    const file = normalize(join(PUBLIC, rel));
    if (!file.startsWith(PUBLIC + sep)) return sendJson(res, 404, { error: 'not found' });
    return sendFile(res, file);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      opts.log?.error({ err: (err as Error).message }, 'view: request failed');
      if (!res.headersSent) sendJson(res, 500, { error: (err as Error).message });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`,
    port,
    host,
    async close() {
      for (const a of open) a.abort();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * Sends stored events at `speed` times the pace they happened, one SSE message per
 * 40 ms of wall time; a quiet gap is shortened to at most a second.
 */
async function paced(list: TraceEvent[], speed: number, send: (group: TraceEvent[]) => void, signal: AbortSignal): Promise<void> {
  let i = 0;
  while (i < list.length && !signal.aborted) {
    const start = list[i]!.ts;
    let j = i;
    while (j < list.length && list[j]!.ts - start <= 40 * speed && j - i < 500) j++;
    send(list.slice(i, j));
    if (j < list.length) {
      const wait = Math.min(1000, (list[j]!.ts - start) / speed);
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
    i = j;
  }
}
