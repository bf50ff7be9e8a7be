import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { LooptoolError } from '../../protocols/errors.ts';
import { freePort, startEmbeddedNats, type EmbeddedNats } from './server.ts';

/** One node of a loopback cluster: its client and route ports, and its server while it runs. */
export type ClusterNode = {
  name: string;
  port: number;
  routePort: number;
  url: string;
  storeDir: string;
  server: EmbeddedNats | undefined;
  /** starts it again (same name, ports and store) after a kill or stop */
  start(): Promise<void>;
};

export type LoopbackCluster = {
  name: string;
  nodes: ClusterNode[];
  /** every node's client URL, comma-separated: the NATS_URL of a process that may fail over to any of them */
  url: string;
  stop(): Promise<void>;
};

/**
 * The server configuration of one node (what `docs/cluster.md` shows): a name, JetStream,
 * and a cluster block with routes to the other nodes. The client port, the address and
 * the store directory come on the command line (`-a 127.0.0.1 -p PORT -js -sd DIR`).
 */
export function clusterNodeConfig(o: { name: string; cluster: string; routePort: number; routes: number[] }): string {
  return [
    `server_name: ${o.name}`,
    'cluster {',
    `  name: ${o.cluster}`,
    `  listen: 127.0.0.1:${o.routePort}`,
    `  routes: [${o.routes.map((p) => `nats-route://127.0.0.1:${p}`).join(', ')}]`,
    '}',
    '',
  ].join('\n');
}

/** Waits until the cluster's JetStream has a meta leader (stream operations work). */
export async function waitForJetStream(url: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    const nc = await connect({ servers: url.split(','), maxReconnectAttempts: 0 }).catch((e: Error) => ((last = e.message), undefined));
    if (nc) {
      try {
        const jsm = await jetstreamManager(nc, { timeout: 2000 });
        await jsm.getAccountInfo();
        return;
      } catch (err) {
        last = (err as Error).message;
      } finally {
        await nc.close().catch(() => undefined);
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new LooptoolError({ code: 'unavailable', message: `the cluster's JetStream did not become ready within ${timeoutMs} ms: ${last}` });
}

/**
 * Starts `size` nats-server processes on loopback, each with JetStream (store in
 * `<dir>/<name>`) and routes to all others, and waits until JetStream is clustered.
 * For tests and the bus benchmark; docs/cluster.md shows the same by hand.
 */
export async function startLoopbackCluster(opts: { dir: string; size?: number; name?: string }): Promise<LoopbackCluster> {
  const size = opts.size ?? 3;
  const cluster = opts.name ?? 'looptool';
  const ports = await Promise.all(Array.from({ length: size }, async () => ({ port: await freePort(), routePort: await freePort() })));
  const nodes: ClusterNode[] = ports.map(({ port, routePort }, i) => {
    const name = `n${i + 1}`;
    const node: ClusterNode = {
      name,
      port,
      routePort,
      url: `nats://127.0.0.1:${port}`,
      storeDir: join(opts.dir, name),
      server: undefined,
      async start() {
        const routes = ports.filter((_, j) => j !== i).map((p) => p.routePort);
        node.server = await startEmbeddedNats({ storeDir: node.storeDir, port, config: clusterNodeConfig({ name, cluster, routePort, routes }) });
      },
    };
    return node;
  });
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.server?.stop()));
  };
  try {
    await Promise.all(nodes.map((n) => n.start()));
    const url = nodes.map((n) => n.url).join(',');
    await waitForJetStream(url);
    return { name: cluster, nodes, url, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
