import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, credsAuthenticator, type NatsConnection, type ConnectionOptions } from '@nats-io/transport-node';
import { z } from 'zod';
import { parseOrThrow } from '../../protocols/errors.ts';
import { startEmbeddedNats, type EmbeddedNats } from './server.ts';
import { publicUrl } from '../live-runs.ts';

/** How to reach the bus; read from flags or the environment, validated. */
export const BusConfig = z.object({
  url: z.string().url('expected a nats:// URL').optional(),
  user: z.string().optional(),
  password: z.string().optional(),
  token: z.string().optional(),
  credsFile: z.string().optional(),
  name: z.string().default('looptool'),
});
export type BusConfig = z.infer<typeof BusConfig>;

export function busConfigFromEnv(over: Partial<BusConfig> = {}): BusConfig {
  return parseOrThrow(
    BusConfig,
    {
      url: process.env.NATS_URL || undefined,
      user: process.env.NATS_USER || undefined,
      password: process.env.NATS_PASSWORD || undefined,
      token: process.env.NATS_TOKEN || undefined,
      credsFile: process.env.NATS_CREDS || undefined,
      ...Object.fromEntries(Object.entries(over).filter(([, v]) => v !== undefined)),
    },
    'bus configuration',
  );
}

export type Bus = {
  nc: NatsConnection;
  url: string;
  embedded?: EmbeddedNats;
  close(): Promise<void>;
};

export function connectionOptions(cfg: BusConfig, url: string): ConnectionOptions {
  const o: ConnectionOptions = { servers: url, name: cfg.name, maxReconnectAttempts: -1, reconnectTimeWait: 250 };
  if (cfg.user) Object.assign(o, { user: cfg.user, pass: cfg.password ?? '' });
  if (cfg.token) o.token = cfg.token;
  if (cfg.credsFile) o.authenticator = credsAuthenticator(readFileSync(cfg.credsFile));
  return o;
}

/**
 * Joins the configured NATS cluster, or — with no URL — starts the embedded server
 * with its store under `<runDir>/nats` and stops it again on close.
 */
export async function openBus(opts: { runDir: string; config?: BusConfig }): Promise<Bus> {
  const cfg = opts.config ?? busConfigFromEnv();
  const embedded = cfg.url ? undefined : await startEmbeddedNats({ storeDir: join(opts.runDir, 'nats') });
  const url = cfg.url ?? embedded!.url;
  let nc: NatsConnection;
  try {
    nc = await connect(connectionOptions(cfg, url));
  } catch (err) {
    await embedded?.stop();
    // the URL may carry a user and password: never in a message
    throw new Error(`cannot connect to NATS at ${publicUrl(url)}: ${(err as Error).message}`);
  }
  return {
    nc,
    url,
    embedded,
    async close() {
      if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
      await embedded?.stop();
    },
  };
}
