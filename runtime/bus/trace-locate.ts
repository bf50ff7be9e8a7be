import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { busConfigFromEnv, connectionOptions } from './connect.ts';
import { startEmbeddedNats, type EmbeddedNats } from './server.ts';
import { runsRoot } from '../rundir.ts';
import { liveRuns, publicUrl, resolveRunName, runLabel, RunNameError, storedRuns, type LiveRun, type NamedRun } from '../live-runs.ts';

/** Where trace events can be read from: a live bus, or a finished run's store served by a private server. */
export type TraceSource = {
  nc: NatsConnection;
  /** the bus URL, credentials removed */
  url: string;
  /** true when a looptool process (or a cluster) is writing to this bus now */
  live: boolean;
  /** the run id on the bus (trace subjects), when one run was asked for or found */
  run?: string;
  /** how a person names that run (its folder under the runs root) */
  label?: string;
  /** its directory, when it has one here */
  dir?: string;
  /** the registry record of the live run being watched, to notice when it ends */
  liveRun?: LiveRun;
  close(): Promise<void>;
};

export class TraceSourceError extends Error {}

/** The store of a finished run: `<dir>/nats`, when its JetStream directory exists. */
export function storeOf(dir?: string): string | undefined {
  return dir && existsSync(join(dir, 'nats', 'jetstream')) ? join(dir, 'nats') : undefined;
}

/** Live and finished runs as lines for `--list` (and for errors that need a hint). */
export function listRuns(): string[] {
  const live = liveRuns();
  const liveIds = new Set(live.map((r) => r.run));
  const lines = live.map((r) => `live      ${r.run}  ${r.command}, pid ${r.pid}, since ${r.started.slice(0, 19).replace('T', ' ')}, bus ${r.url}`);
  for (const s of storedRuns()) if (!liveIds.has(s.run)) lines.push(`finished  ${s.label}${s.label !== s.run ? `  (id ${s.run})` : ''}`);
  return lines;
}

function hint(): string {
  const known = listRuns().slice(0, 6);
  return known.length ? `; runs here:\n  ${known.join('\n  ')}` : `; no runs in ${runsRoot()}`;
}

/**
 * Finds the bus to read a run's trace from, in this order: `--nats URL` or NATS_URL;
 * the live process of that run (runs/.live); the finished run's own store (`<dir>/nats`),
 * served by a private nats-server for as long as the source is open. With no run: the
 * newest live run. A run that is still live is always read from its live bus, never by a
 * second server on its store. `follow` on a finished run is refused: nothing will arrive.
 */
export async function locateTrace(opts: { run?: string; nats?: string; follow?: boolean }): Promise<TraceSource> {
  let named: NamedRun | undefined;
  try {
    named = opts.run ? resolveRunName(opts.run) : undefined;
  } catch (err) {
    if (err instanceof RunNameError) throw new TraceSourceError(err.message);
    throw err;
  }
  const env = process.env.NATS_URL || undefined;
  // A run announced here is read from its own bus even with NATS_URL set (that may be another
  // bus); the registry keeps URLs without credentials, so the same bus from NATS_URL keeps them.
  const live = opts.nats ? undefined : named ? named.live : liveRuns()[0];
  if (!named && live) named = { run: live.run, label: runLabel(live.dir), dir: live.dir, live };
  let url = opts.nats ?? (live ? (env && publicUrl(env) === live.url ? env : live.url) : env);
  let replay: EmbeddedNats | undefined;
  if (!url) {
    if (!named) throw new TraceSourceError(`no live run found${hint()}\npass --run ID for a finished run, or --nats URL`);
    const store = storeOf(named.dir);
    if (!store) throw new TraceSourceError(`run ${opts.run} is not live and has no trace store${hint()}`);
    if (opts.follow) throw new TraceSourceError(`run ${named.label} is not live; drop --follow to replay it`);
    replay = await startEmbeddedNats({ storeDir: store });
    url = replay.url;
  }
  let nc: NatsConnection;
  try {
    nc = await connect(connectionOptions(busConfigFromEnv({ url }), url));
  } catch (err) {
    await replay?.stop();
    throw new TraceSourceError(`cannot connect to NATS at ${publicUrl(url)}: ${(err as Error).message.replaceAll(url, publicUrl(url))}`);
  }
  return {
    nc,
    url: publicUrl(url),
    live: !replay,
    run: named?.run,
    label: named?.label,
    dir: named?.dir,
    liveRun: replay ? undefined : live,
    async close() {
      if (!nc.isClosed()) await nc.close().catch(() => undefined);
      await replay?.stop();
    },
  };
}

/** A private server over a finished run's store (after its live bus went away), connected. */
export async function openStore(dir: string): Promise<{ nc: NatsConnection; close(): Promise<void> } | undefined> {
  const store = storeOf(dir);
  if (!store) return undefined;
  const server = await startEmbeddedNats({ storeDir: store });
  try {
    const nc = await connect(connectionOptions(busConfigFromEnv({ url: server.url }), server.url));
    return {
      nc,
      async close() {
        if (!nc.isClosed()) await nc.close().catch(() => undefined);
        await server.stop();
      },
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/**
 * The run that takes over from one that ended: a newer live run in the same parent
 * folder (a demo's `static` after its `full`, an ablation's next variant), waited for a
 * while, since the next variant starts after the last one closed. Undefined when none.
 */
export async function nextLiveRun(ended: { run?: string; dir?: string; liveRun?: LiveRun }, o: { waitMs?: number; signal?: AbortSignal } = {}): Promise<TraceSource | undefined> {
  if (!ended.dir || !ended.liveRun) return undefined;
  const parent = dirname(ended.dir);
  // a run of its own (runs/<id>) has no next variant: only runs nested in a demo or an ablation do
  if (resolve(parent) === runsRoot()) return undefined;
  const since = ended.liveRun.started;
  const until = Date.now() + (o.waitMs ?? 60_000);
  while (Date.now() < until && !o.signal?.aborted) {
    const next = liveRuns().find((r) => r.run !== ended.run && r.started >= since && dirname(r.dir) === parent);
    if (next) return locateTrace({ run: next.run });
    await new Promise((r) => setTimeout(r, 250));
  }
  return undefined;
}
