import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnyRoleImpl } from '../../protocols/role.ts';
import { LooptoolNode } from '../../runtime/bus/node.ts';
import { runDir } from '../../runtime/rundir.ts';
import ping from '../../examples/ping-pong/ping.ts';
import pong from '../../examples/ping-pong/pong.ts';
import { pingContract } from '../../examples/ping-pong/contracts.ts';

export type PingPongRun = {
  node: LooptoolNode;
  run: string;
  root: string;
  dir: string;
  rally(shots: number): Promise<{ shots: number; last: string }>;
  /** stops the node (and its embedded nats-server); the store stays for replay */
  stop(): Promise<void>;
  /** stops and removes the runs root */
  dispose(): Promise<void>;
};

/** A live run on the embedded default (its own nats-server, store in runs/<id>/nats) serving the ping-pong roles (and `extra`). */
/**
 * `root`: a runs root to put the run in (and announce it in, when it is the process's
 * LOOPTOOL_RUNS); by default a fresh one, with the run not announced.
 */
export async function startPingPongRun(run = `view-${process.pid}-${Date.now().toString(36)}`, extra: AnyRoleImpl[] = [], opts: { root?: string } = {}): Promise<PingPongRun> {
  const root = opts.root ?? mkdtempSync(join(tmpdir(), 'looptool-view-'));
  const dir = runDir(run, root);
  const node = await LooptoolNode.start({ run, runDir: dir, bus: { name: 'looptool-view-test' }, announce: !!opts.root });
  await node.serve(ping);
  await node.serve(pong, { replicas: 2 });
  for (const r of extra) await node.serve(r);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await node.stop();
  };
  return {
    node,
    run,
    root,
    dir,
    rally: (shots) => node.call(pingContract, 'rally', { shots }),
    stop,
    async dispose() {
      await stop();
      rmSync(opts.root ? dir : root, { recursive: true, force: true });
    },
  };
}
