import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkerError, WorkerProcess } from '../../agents/trainer/worker-process.ts';
import { resolveModelSpec } from '../../agents/trainer/presets.ts';

/** The test cache's nano (scripts/run-tests.mjs builds it). */
const NANO = resolveModelSpec({ preset: 'nano' });

const here = dirname(fileURLToPath(import.meta.url));
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'looptool-crash-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const prompts = [{ text: '<|im_start|>user\nhello there<|im_end|>\n<|im_start|>assistant\n' }];
// A step long enough to be killed in the middle of: ~60k tokens.
const bigStep = { samples: Array.from({ length: 160 }, (_, i) => ({ prompt: { text: `${i} ${'p'.repeat(300)}` }, completion: 'c'.repeat(80) })) };
const gone = (pid: number) => !existsSync(`/proc/${pid}`);
/** Dead: gone, or a zombie waiting for init (no longer running anything). */
const dead = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
  } catch {
    return true;
  }
};
async function waitFor(cond: () => boolean, ms: number) {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  return cond();
}

test('a worker killed in the middle of a step is reported and replaced from the last checkpoint', async () => {
  const log = join(dir, 'worker.log');
  const w = await WorkerProcess.start({ threads: 1, logFile: log });
  try {
    await w.load({ model: NANO, seed: 2, optimizer: { lr: 3e-3 } });
    await w.sftStep({ samples: [{ prompt: prompts[0], completion: 'general kenobi' }] });
    const ckpt = join(dir, 'ckpt');
    await w.save({ path: ckpt });
    const atCheckpoint = await w.generate({ prompts, greedy: true, max_new_tokens: 20 });
    const oldPid = w.pid!;

    const exits: unknown[] = [];
    w.on('exit', (e) => exits.push(e));
    const restarted = once(w, 'restarted');
    w.once('started', ({ verb }: { verb: string }) => {
      if (verb === 'sft_step') process.kill(oldPid, 'SIGKILL');
    });
    const step = w.sftStep(bigStep);
    const queued = w.stats(); // waits behind the step; must be served by the replacement
    await assert.rejects(step, (e: WorkerError) => {
      assert.equal(e.type, 'worker_died');
      assert.match(e.message, /died while serving sft_step/);
      assert.match(e.message, /SIGKILL \(if nothing here sent it, most likely the kernel's out-of-memory killer/);
      assert.equal(e.exit?.signal, 'SIGKILL');
      assert.equal(e.reply.retryable, true);
      return true;
    });
    const [ev] = (await restarted) as [{ pid: number; replayed: string | null; error?: string }];
    assert.equal(ev.replayed, 'restore', ev.error);
    assert.notEqual(ev.pid, oldPid);
    assert.ok(await waitFor(() => gone(oldPid), 5_000), 'the dead worker was reaped');
    const st = await queued;
    assert.equal(st.pid, w.pid);
    assert.notEqual(st.pid, oldPid);
    assert.equal(w.restarts, 1);
    assert.equal(exits.length, 1);
    // The replacement serves the model as of the last checkpoint.
    assert.deepEqual((await w.generate({ prompts, greedy: true, max_new_tokens: 20 })).results, atCheckpoint.results);
    assert.match(readFileSync(log, 'utf8'), new RegExp(`pid ${oldPid} exited \\(killed by SIGKILL`));
  } finally {
    await w.close();
  }
});

test('a request past its timeout fails, and the worker is replaced', async () => {
  const w = await WorkerProcess.start({ threads: 1 });
  try {
    await w.load({ model: NANO, seed: 2 });
    const oldPid = w.pid!;
    const restarted = once(w, 'restarted');
    await assert.rejects(w.sftStep(bigStep, { timeoutMs: 300 }), (e: WorkerError) => e.type === 'timeout' && e.reply.code === 'timeout');
    const [ev] = (await restarted) as [{ replayed: string | null }];
    assert.equal(ev.replayed, 'load');
    assert.ok(await waitFor(() => gone(oldPid), 5_000));
    assert.equal((await w.stats()).loaded, true);
  } finally {
    await w.close();
  }
});

test('an aborted request kills the step it was in and leaves a working worker', async () => {
  const w = await WorkerProcess.start({ threads: 1 });
  try {
    await w.load({ model: NANO, seed: 2 });
    const ac = new AbortController();
    w.once('started', () => ac.abort());
    await assert.rejects(w.sftStep(bigStep, { signal: ac.signal }), (e: WorkerError) => e.type === 'aborted');
    assert.equal((await w.ping()).pong, true);
  } finally {
    await w.close();
  }
});

test('no orphan: a worker dies with a parent killed by SIGKILL', async () => {
  const parent = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures/worker-parent.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  parent.stdout.setEncoding('utf8');
  parent.stdout.on('data', (c: string) => (out += c));
  assert.ok(await waitFor(() => out.includes('\n'), 60_000), 'the fixture started a worker');
  const workerPid = Number(out.trim());
  assert.ok(workerPid > 0 && !gone(workerPid));
  parent.kill('SIGKILL');
  await once(parent, 'exit');
  assert.ok(await waitFor(() => dead(workerPid), 5_000), 'the worker died with its parent');
});
