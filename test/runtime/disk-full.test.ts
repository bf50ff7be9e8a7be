import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diskFullHint } from '../../runtime/cli/disk-full.ts';
import { startEmbeddedNats } from '../../runtime/bus/server.ts';
import { startCli } from '../helpers/cli.ts';

test('a full disk gets a hint that names it, the free space and what to do; other errors get none', () => {
  for (const message of [
    'insufficient storage resources available', // nats-server's JetStream
    "ENOSPC: no space left on device, write '/runs/x/round-2/eval.jsonl'",
    'trainer.grpo round 4: policy update failed: OSError: [Errno 28] No space left on device',
  ]) {
    const hint = diskFullHint(message, process.cwd());
    assert.ok(hint, message);
    assert.match(hint, /the disk is full \(\d+\.\d GiB free under /);
    assert.match(hint, /checkpoints\/ckpt-/);
    assert.match(hint, /run the same command again/);
  }
  assert.match(diskFullHint('ENOSPC', '/no/such/dir')!, /an unknown amount free under \/no\/such\/dir/);
  assert.equal(diskFullHint('worker killed by SIGKILL'), null);
  assert.equal(diskFullHint('loop.budget: expected a number'), null);
});

test('a bus with no room for the trace stream: the command reports it with the hint and exits instead of hanging on an open connection', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'looptool-full-'));
  // JetStream refuses the trace stream's 2 GiB reservation as it does on a full disk
  const server = await startEmbeddedNats({ storeDir: join(dir, 'nats'), config: 'jetstream { max_file_store: 1048576 }\n' });
  try {
    const p = startCli(['seed', '--dialogues', '1', '--nats', server.url, '--out', join(dir, 'run')], { NATS_URL: '' });
    assert.equal(await p.exitedWithin(30_000), 1, p.output());
    assert.match(p.output(), /insufficient storage resources available/);
    assert.match(p.output(), /the disk is full/);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
