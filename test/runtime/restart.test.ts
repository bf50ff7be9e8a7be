import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { defineContract, defineRole } from '../../protocols/role.ts';
import { startEmbeddedNats, freePort } from '../../runtime/bus/server.ts';
import { LooptoolNode } from '../../runtime/bus/node.ts';

const add = defineContract({ name: 'adder', verbs: { add: { input: z.object({ a: z.number(), b: z.number() }), output: z.object({ sum: z.number() }) } } });
const adder = defineRole({ contract: add, concurrency: 2, verbs: { add: { handle: async ({ a, b }) => ({ sum: a + b }) } } });

test('a restarted nats-server: roles and callers reconnect, a call made during the outage is answered', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'looptool-restart-'));
  const port = await freePort();
  let server = await startEmbeddedNats({ storeDir: join(dir, 'nats'), port });
  const bus = { url: server.url, name: 'restart-test' };
  const serving = await LooptoolNode.start({ run: 'restart', runDir: dir, bus });
  const calling = await LooptoolNode.start({ run: 'restart', runDir: dir, bus });
  try {
    await serving.serve(adder);
    assert.deepEqual(await calling.call(add, 'add', { a: 1, b: 2 }), { sum: 3 });
    await server.stop();
    // Made while the server is down: retried until the server is back.
    const during = calling.call(add, 'add', { a: 20, b: 22 }, { timeoutMs: 1000, retries: 20 });
    await new Promise((r) => setTimeout(r, 500));
    server = await startEmbeddedNats({ storeDir: join(dir, 'nats'), port });
    assert.deepEqual(await during, { sum: 42 });
    assert.deepEqual(await calling.call(add, 'add', { a: 2, b: 3 }, { retries: 10 }), { sum: 5 });
  } finally {
    await calling.stop();
    await serving.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
