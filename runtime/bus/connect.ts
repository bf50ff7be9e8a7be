import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, credsAuthenticator, type NatsConnection, type ConnectionOptions } from '@nats-io/transport-node';
import { z } from 'zod';
import { LooptoolError, parseOrThrow } from '../../protocols/errors.ts';
import { startEmbeddedNats, stoppingOnSignal, type EmbeddedNats } from './server.ts';
import { publicUrl } from '../live-runs.ts';
import { ReplyMux } from './reply-mux.ts';

/** One server URL, or several separated by commas (the seeds of a cluster). */
const ServerList = z.string().refine(
  (s) =>
    s.split(',').every((u) => {
      try {
        return /^(nats|tls|wss?):$/.test(new URL(u.trim()).protocol);
      } catch {
        return false;
      }
    }),
  'expected a nats:// URL, or several separated by commas',
);

export const DEFAULT_RECONNECT_ATTEMPTS = 120;
export const RECONNECT_WAIT_MS = 250;

/** How to reach the bus; read from flags or the environment, validated. */
export const BusConfig = z.object({
  url: ServerList.optional(),
  user: z.string().optional(),
  password: z.string().optional(),
  token: z.string().optional(),
  credsFile: z.string().optional(),
  name: z.string().default('looptool'),
  /** reconnect attempts per server before the bus counts as gone (about 0.3 s each) */
  reconnectAttempts: z.number().int().min(0).max(1_000_000).optional(),
});
export type BusConfig = z.input<typeof BusConfig>;


export function busConfigFromEnv(over: Partial<BusConfig> = {}): z.output<typeof BusConfig> {
  return parseOrThrow(
    BusConfig,
    {
      url: process.env.NATS_URL || undefined,
      user: process.env.NATS_USER || undefined,
      password: process.env.NATS_PASSWORD || undefined,
      token: process.env.NATS_TOKEN || undefined,
      credsFile: process.env.NATS_CREDS || undefined,
      reconnectAttempts: process.env.LOOPTOOL_NATS_RECONNECT ? Number(process.env.LOOPTOOL_NATS_RECONNECT) : undefined,
      ...Object.fromEntries(Object.entries(over).filter(([, v]) => v !== undefined)),
    },
    'bus configuration',
  );
}

/** What happens to the connection, for the progress output. */
export type BusEvent =
  | { type: 'disconnected'; server: string; maxAttempts: number }
  | { type: 'reconnecting'; attempt: number; maxAttempts: number }
  | { type: 'reconnected'; server: string; attempts: number; downMs: number; resent: number }
  | { type: 'lost'; error: LooptoolError };

export type Bus = {
  nc: NatsConnection;
  url: string;
  embedded?: EmbeddedNats;
  /** resolves (never rejects) with the error every call now fails with, once the bus is gone for good */
  lost: Promise<LooptoolError>;
  close(): Promise<void>;
};

export function connectionOptions(cfg: BusConfig, url: string): ConnectionOptions {
  const attempts = cfg.reconnectAttempts ?? DEFAULT_RECONNECT_ATTEMPTS;
  const o: ConnectionOptions = {
    servers: url.split(',').map((u) => u.trim()),
    name: cfg.name ?? 'looptool',
    maxReconnectAttempts: attempts,
    reconnectTimeWait: RECONNECT_WAIT_MS,
    reconnectJitter: 100,
  };
  if (cfg.user) Object.assign(o, { user: cfg.user, pass: cfg.password ?? '' });
  if (cfg.token) o.token = cfg.token;
  if (cfg.credsFile) o.authenticator = credsAuthenticator(readFileSync(cfg.credsFile));
  return o;
}

/** A human line for a bus event (progress output). */
export function describeBusEvent(e: BusEvent): string {
  switch (e.type) {
    case 'disconnected':
      return `bus: lost the connection to ${publicUrl(e.server)}; reconnecting (at most ${e.maxAttempts} attempts per server)`;
    case 'reconnecting':
      return `bus: reconnecting, attempt ${e.attempt}`;
    case 'reconnected':
      return `bus: reconnected to ${publicUrl(e.server)} after ${(e.downMs / 1000).toFixed(1)} s (${e.attempts} attempt${e.attempts === 1 ? '' : 's'}); ${e.resent} call(s) in flight sent again`;
    case 'lost':
      return e.error.message;
  }
}

/**
 * Joins the configured NATS cluster, or — with no URL — starts the embedded server
 * with its store under `<runDir>/nats` and stops it again on close.
 *
 * A bus that goes away for good — the embedded server dies, or an external one stays
 * unreachable for all reconnect attempts — fails every waiting and later call at once
 * with an `unavailable` error that says so and how to resume (`resumeHint`), so a run
 * ends within seconds instead of hanging on timeouts. Short outages of an external
 * server are ridden out: the client reconnects (bounded) and sends the calls in flight
 * again under their own ids, which hosts answer from their reply cache.
 */
export async function openBus(opts: { runDir: string; config?: BusConfig; resumeHint?: string; onEvent?: (e: BusEvent) => void }): Promise<Bus> {
  const cfg = opts.config ?? busConfigFromEnv();
  const embedded = cfg.url ? undefined : await startEmbeddedNats({ storeDir: join(opts.runDir, 'nats') });
  const url = cfg.url ?? embedded!.url;
  const maxAttempts = cfg.reconnectAttempts ?? DEFAULT_RECONNECT_ATTEMPTS;
  let nc: NatsConnection;
  try {
    // The embedded server is ours: when it dies nobody restarts it. A few attempts only keep
    // the connection open until its exit is noticed (milliseconds), so calls fail with that reason.
    nc = await connect(connectionOptions(embedded ? { ...cfg, reconnectAttempts: 10 } : cfg, url));
  } catch (err) {
    await embedded?.stop();
    // the URL may carry a user and password: never in a message
    throw new Error(`cannot connect to NATS at ${publicUrl(url)}: ${(err as Error).message.replaceAll(url, publicUrl(url))}`);
  }
  const hint = opts.resumeHint ?? 'run the same command again to continue';
  let closing = false;
  let resolveLost!: (e: LooptoolError) => void;
  const lost = new Promise<LooptoolError>((r) => (resolveLost = r));
  let gone: LooptoolError | undefined;
  const fail = (why: string) => {
    // Ctrl-C stopped the embedded server along with the command: an interruption, not a lost bus
    if (gone || closing || (embedded && stoppingOnSignal())) return;
    gone = new LooptoolError({ code: 'unavailable', message: `the bus went away: ${why}. What finished is kept in ${opts.runDir}; ${hint}` });
    ReplyMux.for(nc).lost(gone);
    opts.onEvent?.({ type: 'lost', error: gone });
    resolveLost(gone);
    if (!nc.isClosed()) void nc.close().catch(() => undefined);
  };
  const mux = ReplyMux.for(nc);
  void embedded?.died.then((how) => fail(`the embedded nats-server (pid ${embedded.pid}) ${how.signal ? `was killed (${how.signal})` : `exited with code ${how.code}`}`));
  void nc.closed().then(() =>
    fail(embedded ? `lost the connection to the embedded nats-server (pid ${embedded.pid})` : `gave up reconnecting to ${publicUrl(url)} after ${maxAttempts} attempt(s) per server`),
  );
  void (async () => {
    let downSince = 0;
    let attempts = 0;
    for await (const s of nc.status()) {
      if (closing || gone) continue;
      // The embedded server's socket closes as it dies; its exit says more a moment later.
      if (embedded && (s.type === 'disconnect' || s.type === 'reconnecting')) {
        if (s.type === 'disconnect') downSince = Date.now();
        continue;
      }
      if (s.type === 'disconnect') {
        downSince = Date.now();
        attempts = 0;
        opts.onEvent?.({ type: 'disconnected', server: s.server, maxAttempts });
      } else if (s.type === 'reconnecting') {
        attempts++;
        // every attempt would flood the output: the first ones, then every 20th
        if (attempts <= 3 || attempts % 20 === 0) opts.onEvent?.({ type: 'reconnecting', attempt: attempts, maxAttempts });
      } else if (s.type === 'reconnect') {
        // the mux sends the waiting calls again on the same status event; count them after it did
        const resent = mux.pending;
        opts.onEvent?.({ type: 'reconnected', server: s.server, attempts, downMs: Date.now() - downSince, resent });
      }
    }
  })().catch(() => undefined);
  return {
    nc,
    url,
    embedded,
    lost,
    async close() {
      closing = true;
      if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
      await embedded?.stop();
    },
  };
}
