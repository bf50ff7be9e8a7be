import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { findLiveBus } from '../bus-file.ts';
import { busConfigFromEnv, connectionOptions } from '../nats/connect.ts';
import { startEmbeddedNats, type EmbeddedNats } from '../nats/server.ts';
import { runsRoot } from '../rundir.ts';

/** Where trace events can be read from: a live bus, or a finished run's store served by a private server. */
export type TraceSource = {
  nc: NatsConnection;
  url: string;
  /** true when a looptool process (or a cluster) is writing to this bus now */
  live: boolean;
  /** the run asked for, or the run of the live bus that was found */
  run?: string;
  close(): Promise<void>;
};

export class TraceSourceError extends Error {}

/** Finished runs that left a NATS store behind, newest first. */
export function storedRuns(root = runsRoot()): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((id) => existsSync(join(root, id, 'nats', 'jetstream')))
    .map((id) => ({ id, t: statSync(join(root, id)).mtimeMs }))
    .sort((a, b) => b.t - a.t)
    .map((r) => r.id);
}

/**
 * Finds the bus to read a run's trace from, in this order: `--nats URL`, NATS_URL,
 * the live looptool process of that run (runs/<id>/bus.json); the finished run's own
 * store (runs/<id>/nats), served by a private nats-server for as long as the source
 * is open; the latest live looptool process (runs/latest-bus.json).
 * `follow` on a finished run is refused: nothing will ever arrive.
 */
export async function locateTrace(opts: { run?: string; nats?: string; follow?: boolean }): Promise<TraceSource> {
  const runDirPath = opts.run ? join(runsRoot(), opts.run) : undefined;
  const store = runDirPath ? join(runDirPath, 'nats') : undefined;
  const hasStore = !!store && existsSync(join(store, 'jetstream'));
  const ownBus = runDirPath && existsSync(join(runDirPath, 'bus.json')) ? findLiveBus(runDirPath) : undefined;
  // A finished run with its own store is replayed from it, even while another run's bus is up.
  const live = ownBus ?? (hasStore ? undefined : findLiveBus());
  let url = opts.nats ?? process.env.NATS_URL ?? live?.url;
  let replay: EmbeddedNats | undefined;
  if (!url) {
    if (!hasStore) {
      const known = storedRuns().slice(0, 5);
      throw new TraceSourceError(
        `${opts.run ? `run ${opts.run} is not live and has no store in ${runsRoot()}` : 'no live bus found'}; pass --run ID of a finished run (runs/<id>/nats) or --nats URL${known.length ? ` (recent runs: ${known.join(', ')})` : ''}`,
      );
    }
    if (opts.follow) throw new TraceSourceError(`run ${opts.run} is not live; drop --follow to replay it`);
    replay = await startEmbeddedNats({ storeDir: store! });
    url = replay.url;
  }
  let nc: NatsConnection;
  try {
    nc = await connect(connectionOptions(busConfigFromEnv({ url }), url));
  } catch (err) {
    await replay?.stop();
    throw new TraceSourceError(`cannot connect to NATS at ${url}: ${(err as Error).message}`);
  }
  return {
    nc,
    url,
    live: !replay,
    run: opts.run ?? (replay ? undefined : live?.run),
    async close() {
      if (!nc.isClosed()) await nc.close().catch(() => undefined);
      await replay?.stop();
    },
  };
}
