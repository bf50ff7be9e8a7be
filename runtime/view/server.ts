import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/transport-node';
import type { TraceEvent } from '../../protocols/trace.ts';
import type { Logger } from '../../protocols/role.ts';
import { loopStagesJson } from '../../protocols/loop/stages.ts';
import { ensureTraceStream } from '../bus/trace-stream.ts';
import { byTime, FilterError, matches, parseFilter, parsePage, readOlder, subjectFor, type ViewFilter } from './source.ts';
import { traceFeed, traceSummary } from '../bus/trace-stream.ts';
import type { LiveRun } from '../live-runs.ts';
import { RunWatch, type RunEnd } from './run-watch.ts';
import { readViewReport } from './report.ts';
import { parseAnswersQuery, viewAnswers } from './answers.ts';

export type ViewServerOptions = {
  nc: NatsConnection;
  /** a looptool process is writing to this bus now (else: a finished run's store) */
  live: boolean;
  /** the run the page opens on (its id on the bus) */
  run?: string;
  /** how a person names that run (`<demo id>/full`), shown on the page */
  label?: string;
  /** the registry record of the live run: the page is told when it ends */
  liveRun?: LiveRun;
  /** the run's directory, whose store is read once its own bus is gone */
  dir?: string;
  /** told once when the watched run ends */
  onEnd?: (end: RunEnd) => void;
  /**
   * After the watched run ends: the run to watch next, if one comes (a demo's `static`
   * after its `full`). The page opened without a run reloads onto it.
   */
  next?: (ended: Watched, signal: AbortSignal) => Promise<NextRun | undefined>;
  host?: string;
  port?: number;
  log?: Logger;
  /** most stored events one stream sends before it goes live (older ones are left out, and the page is told) */
  backlogCap?: number;
};

export type ViewServer = { url: string; port: number; host: string; readonly watch: RunWatch; close(): Promise<void> };

/** The run the server watches now. */
export type Watched = { run?: string; label?: string; dir?: string; liveRun?: LiveRun };
export type NextRun = Watched & { nc: NatsConnection; live: boolean; close(): Promise<void> };

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
  '.ico': 'image/svg+xml',
};

// The browser may load only what this server serves; inline style attributes are what uPlot writes.
const CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'";

const LOOPBACK_HOSTS = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/;

/** A request's query as `parse` reads it; a bad one is answered 400 with the fields named, and gives undefined. */
function parsedQuery<T>(res: ServerResponse, parse: () => T): T | undefined {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof FilterError)) throw err;
    sendJson(res, 400, { error: err.message, issues: err.issues });
    return undefined;
  }
}

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
 * what the trace stream holds, the loop's stage list (`/api/loop-stages`, for its diagram), and `/api/events`, a server-sent-events stream of trace
 * events read from JetStream with the page's filters applied here (run, role and kind
 * narrow the subject; dialogue and slot states are matched per event).
 */
export async function startViewServer(opts: ViewServerOptions): Promise<ViewServer> {
  const host = opts.host ?? '127.0.0.1';
  const cap = opts.backlogCap ?? 200_000;
  if (opts.live) await ensureTraceStream(opts.nc);
  let closed = false;
  const closing = new AbortController();
  const later: NextRun[] = [];
  let cur: Watched & { watch: RunWatch } = {
    run: opts.run,
    label: opts.label,
    dir: opts.dir,
    liveRun: opts.liveRun,
    watch: new RunWatch({ nc: opts.nc, live: opts.live, run: opts.run, liveRun: opts.liveRun, dir: opts.dir, log: opts.log, onEnd: opts.onEnd }),
  };
  // Moves on to the next run when there is one; requests already running keep the watch they began with.
  const moveOn = async (ended: typeof cur): Promise<void> => {
    const found = opts.next && !closed ? await opts.next(ended, closing.signal).catch(() => undefined) : undefined;
    if (!found) return;
    if (closed) return void (await found.close());
    later.push(found);
    cur = { run: found.run, label: found.label, dir: found.dir, liveRun: found.liveRun, watch: new RunWatch({ ...found, log: opts.log, onEnd: opts.onEnd }) };
    follow(cur);
    await ended.watch.close();
  };
  const follow = (c: typeof cur) => void c.watch.onEnd(() => void moveOn(c));
  follow(cur);
  const open = new Set<AbortController>();
  const loopbackBind = host === '::1' || LOOPBACK_HOSTS.test(host);

  async function events(req: IncomingMessage, res: ServerResponse, f: ViewFilter): Promise<void> {
    const abort = new AbortController();
    open.add(abort);
    req.on('close', () => abort.abort());
    const watch = cur.watch;
    const nc = watch.nc;
    const live = watch.live;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const send = (event: string, data: unknown) => {
      if (!res.writableEnded) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const follow = f.follow && live;
    send('hello', { live, follow, filter: f });
    let ended: RunEnd | undefined;
    // When the run ends, a live stream gets what was still on its way, then says so and stops.
    const unwatch = follow
      ? watch.onEnd((end) => {
          ended = end;
          setTimeout(() => abort.abort(), 400);
        })
      : () => undefined;
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
      for await (const item of traceFeed(nc, { subject: subjectFor(f), follow, signal: abort.signal })) {
        if ('events' in item) {
          const hits = item.events.filter((e) => matches(f, e));
          if (!hits.length) continue;
          if (!synced) {
            backlog.push(...hits);
            // Keep the newest N by time (batches arrive out of time order); trimming in bulk keeps it cheap.
            if (backlog.length > limit * 2) {
              backlog.sort(byTime);
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
        backlog.sort(byTime);
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
      if (!follow) send('end', { ended: watch.ended ?? null });
    } catch (err) {
      // A lost bus fails every open stream at once: the watch logs that once; the page retries.
      if (!abort.signal.aborted) send('failure', { message: (err as Error).message, connection: watch.connection });
    } finally {
      unwatch();
      clearInterval(heartbeat);
      if (flushTimer) clearTimeout(flushTimer);
      if (ended) {
        flushLive();
        send('end', { ended });
      }
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
      const f = parsedQuery(res, () => parseFilter(url.searchParams));
      if (!f) return;
      return events(req, res, f);
    }
    if (path === '/api/older') {
      const q = parsedQuery(res, () => ({ f: parseFilter(url.searchParams, ['before', 'beforeId', 'limit']), page: parsePage(url.searchParams) }));
      if (!q) return;
      return sendJson(res, 200, await readOlder(cur.watch.nc, q.f, q.page));
    }
    if (path === '/api/report') {
      // the run's own records, when its directory is here (a run on a remote bus has none)
      const asked = url.searchParams.get('run');
      const dir = cur.dir && (!asked || asked === cur.run) ? cur.dir : undefined;
      return sendJson(res, 200, dir ? { available: true, ...readViewReport(dir) } : { available: false });
    }
    if (path === '/api/answers') {
      const q = parsedQuery(res, () => parseAnswersQuery(url.searchParams));
      if (!q) return;
      if (q.run && q.run !== cur.run) return sendJson(res, 200, { available: false, reason: `this page serves run ${cur.run ?? '(none)'}, not ${q.run}` });
      return sendJson(res, 200, cur.dir ? viewAnswers(cur.dir, q) : { available: false, reason: 'the run\'s folder is not on this machine (a run on a remote bus)' });
    }
    if (path === '/api/loop-stages') return sendJson(res, 200, loopStagesJson());
    if (path === '/api/info') {
      const { watch } = cur;
      const summary = await traceSummary(watch.nc).catch(() => ({ runs: {} }));
      return sendJson(res, 200, { run: cur.run ?? null, label: cur.label ?? cur.run ?? null, live: watch.live, ended: watch.ended ?? null, connection: watch.connection, ...summary });
    }
    if (VENDOR[path]) return sendFile(res, VENDOR[path]!);
    let rel: string;
    try {
      rel = path === '/' ? 'index.html' : path === '/favicon.ico' ? 'favicon.svg' : decodeURIComponent(path.slice(1));
    } catch {
      // overlong or broken %-escapes (e.g. %c0%ae) are a bad request, not a server error
      return sendJson(res, 400, { error: 'bad path encoding' });
    }
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
    get watch() {
      return cur.watch;
    },
    async close() {
      closed = true;
      closing.abort();
      for (const a of open) a.abort();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await cur.watch.close();
      for (const n of later) await n.close();
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
