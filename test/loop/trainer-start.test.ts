import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Manifest } from '../../protocols/loop/index.ts';
import { processAlive } from '../../runtime/process.ts';
import { startCli } from '../helpers/cli.ts';
import { TINY_LOOP_CONFIG } from './tiny.ts';

/*
 * A run serves the trainer's roles (the policy worker, the model's load) while seeding
 * runs, and every other stage waits for them (runtime/loop/driver.ts). Seen from outside:
 * a model that cannot load no longer stops a run before its seeding, and the run is
 * recorded as failed with the worker's error rather than left "running". A run stopped
 * before any stage (here a preset not built on the machine) is recorded as failed too, and
 * a run interrupted while the policy loads calls the load off instead of waiting for it.
 */

test('the policy loads while seeding runs: a model that cannot load fails the run after seeding, with the load error, and seeding is kept', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'looptool-trainer-start-'));
  try {
    const missing = join(dir, 'no-model');
    const config = { ...TINY_LOOP_CONFIG, seed: 'trainer-start-test', trainer: { ...TINY_LOOP_CONFIG.trainer, model: { path: missing } } };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const run = join(dir, 'run');
    const cli = startCli(['run', '--config', join(dir, 'config.json'), '--out', run], { LOOPTOOL_TORCH_THREADS: '1' });
    assert.equal(await cli.exitedWithin(180_000), 1, cli.output());
    assert.match(cli.output(), new RegExp(`policy worker load: model\\.path: ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a directory`));
    const m = Manifest.parse(JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8')));
    assert.equal(m.status, 'failed');
    assert.deepEqual(m.stages.map((s) => `${s.stage}@${s.round}`), ['seeding@0'], 'seeding ran and was recorded; nothing after it');
    assert.ok(existsSync(join(run, 'round-0/samples.jsonl')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a run stopped before its first stage (its model preset is not built) is recorded as failed, not running', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'looptool-trainer-start-'));
  try {
    const config = { ...TINY_LOOP_CONFIG, seed: 'trainer-start-test', trainer: { ...TINY_LOOP_CONFIG.trainer, model: { preset: 'smollm2' } } };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const run = join(dir, 'run');
    const cli = startCli(['run', '--config', join(dir, 'config.json'), '--out', run], { LOOPTOOL_MODELS: join(dir, 'models') });
    assert.equal(await cli.exitedWithin(60_000), 1, cli.output());
    assert.match(cli.output(), /model preset "smollm2" is not built on this machine/);
    const m = Manifest.parse(JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8')));
    assert.equal(m.status, 'failed');
    assert.deepEqual(m.stages, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Ctrl-C while the policy loads stops the run without waiting for the load: the worker is killed, the run recorded as failed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'looptool-trainer-start-'));
  try {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...TINY_LOOP_CONFIG, seed: 'trainer-start-test' }));
    const run = join(dir, 'run');
    const workerLog = join(run, 'logs', 'policy-worker.log');
    const cli = startCli(['run', '--config', join(dir, 'config.json'), '--out', run], { LOOPTOOL_TORCH_THREADS: '1' });
    // interrupted as soon as the worker is spawned: it has torch to import and the model to load
    let pid: number | undefined;
    for (let i = 0; i < 1200 && pid === undefined; i++) {
      pid = Number(/policy worker pid (\d+)/.exec(existsSync(workerLog) ? readFileSync(workerLog, 'utf8') : '')?.[1]) || undefined;
      if (pid === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(pid, cli.output());
    cli.child.kill('SIGINT');
    assert.equal(await cli.exitedWithin(60_000), 130, cli.output());
    assert.ok(!processAlive(pid), 'the policy worker is gone');
    // the run's log (looptool.log) and the worker's (logs/)
    const logs = [join(run, 'looptool.log'), ...readdirSync(join(run, 'logs')).map((f) => join(run, 'logs', f))].map((f) => readFileSync(f, 'utf8')).join('\n');
    assert.doesNotMatch(logs, /policy loaded/, 'the run did not wait for the model to load');
    assert.doesNotMatch(cli.output() + logs, /trainer roles could not start/, 'an interrupted start is not reported as a failure');
    const m = Manifest.parse(JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8')));
    assert.equal(m.status, 'failed', cli.output());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
