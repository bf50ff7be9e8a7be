import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diskFullHint } from '../../runtime/cli/disk-full.ts';

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
