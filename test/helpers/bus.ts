import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startEmbeddedNats, type EmbeddedNats } from '../../runtime/bus/server.ts';
import { LooptoolNode } from '../../runtime/bus/node.ts';

export type TestBus = { server: EmbeddedNats; dir: string; connect(): Promise<NatsConnection>; node(run?: string): Promise<LooptoolNode>; stop(): Promise<void> };

/** A real nats-server with JetStream in a temp dir, for one test file. */
export async function startTestBus(): Promise<TestBus> {
  const dir = mkdtempSync(join(tmpdir(), 'looptool-test-'));
  const server = await startEmbeddedNats({ storeDir: join(dir, 'nats') });
  const conns: NatsConnection[] = [];
  const nodes: LooptoolNode[] = [];
  const open = async () => {
    const nc = await connect({ servers: server.url });
    conns.push(nc);
    return nc;
  };
  return {
    server,
    dir,
    connect: open,
    async node(run = 'test') {
      const nc = await open();
      const n = await LooptoolNode.start({ run, runDir: dir, nc });
      nodes.push(n);
      return n;
    },
    async stop() {
      for (const n of nodes) await n.stop().catch(() => undefined);
      for (const c of conns) await c.close().catch(() => undefined);
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
