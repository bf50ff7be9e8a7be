import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect } from '@nats-io/transport-node';
import { processAlive as alive } from '../../runtime/process.ts';

async function waitGone(pid: number, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !alive(pid);
}

async function startChild(mode: string) {
  const dir = mkdtempSync(join(tmpdir(), 'looptool-emb-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/embedded-child.ts', join(dir, 'nats'), mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`child exited ${code} before reporting`)));
  });
  const info = JSON.parse(line) as { pid: number; url: string };
  return { child, dir, info };
}

for (const [mode, how] of [
  ['exit', 'exits normally'],
  ['throw', 'crashes'],
  ['SIGTERM', 'gets SIGTERM'],
  ['SIGINT', 'gets SIGINT'],
  ['SIGKILL', 'is killed with SIGKILL'],
] as const) {
  test(`the embedded nats-server is gone after its parent ${how}`, async () => {
    const { child, dir, info } = await startChild(mode.startsWith('SIG') ? 'hang' : mode);
    try {
      if (mode.startsWith('SIG')) {
        assert.ok(alive(info.pid), 'server running while the parent lives');
        const nc = await connect({ servers: info.url });
        await nc.close();
        child.kill(mode as NodeJS.Signals);
      }
      assert.ok(await waitGone(info.pid), `nats-server ${info.pid} outlived its parent`);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('no nats-server and no NATS_URL: a clear error that says what to install', async () => {
  const { startEmbeddedNats } = await import('../../runtime/bus/server.ts');
  const dir = mkdtempSync(join(tmpdir(), 'looptool-emb-'));
  try {
    await assert.rejects(startEmbeddedNats({ storeDir: dir, candidates: ['/nonexistent/nats-server'] }), (e: Error) => /apt-get install -y nats-server/.test(e.message) && /NATS_URL/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
