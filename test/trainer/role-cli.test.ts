import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainerSamples } from './fixtures/samples.ts';
import { processAlive } from '../../runtime/process.ts';

// `looptool train` as a person runs it: a child process on a small corpus, with the
// embedded nats-server and the torch worker, to its summary.

const CLI = ['bin/looptool.js', 'train'];
let dir: string;

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...CLI, ...args], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d.toString()));
    child.stderr.on('data', (d) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'looptool-train-cli-'));
  writeFileSync(join(dir, 'samples.jsonl'), trainerSamples(16).map((s) => JSON.stringify(s)).join('\n') + '\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('looptool train on a small corpus: warm-up, GRPO, held-out accuracy before and after, a summary and a checkpoint', async () => {
  const corpus = join(dir, 'samples.jsonl');
  const out = join(dir, 'run');
  const args = [corpus, '--warmup-epochs', '6', '--warmup-lr', '3e-3', '--group-size', '4', '--batch-size', '4', '--epochs', '1'];
  args.push('--lr', '1e-4', '--max-new-tokens', '40', '--eval-split', '0.25', '--threads', '1', '--seed', '3', '--out', out);
  const r = await runCli(args);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /train: 12 samples \(4 held out\)/);
  assert.match(r.stdout, /warm-up +6 steps, loss [\d.]+ → [\d.]+/);
  assert.match(r.stdout, /GRPO +\d+ steps, rollout reward [\d.]+ → [\d.]+/);
  assert.match(r.stdout, /held-out +greedy accuracy [\d.]+% before → [\d.]+% after warm-up → [\d.]+% after GRPO/);
  assert.match(r.stdout, /checkpoint .*ckpt-0002-grpo-r1/);
  assert.match(r.stderr, /warm-up .*6\/6/, 'a progress bar per phase');
  const summary = JSON.parse(readFileSync(join(out, 'train-summary.json'), 'utf8')) as {
    warmup: { loss_first: number; loss_last: number };
    reward_by_batch: number[];
    checkpoint: string;
    held_out_accuracy: { before: number; after: number };
  };
  assert.ok(summary.warmup.loss_last < summary.warmup.loss_first);
  assert.equal(summary.reward_by_batch.length, 3, '12 samples in batches of 4, one epoch');
  assert.ok(existsSync(join(summary.checkpoint, 'meta.json')));
  assert.ok(existsSync(join(out, 'checkpoints', 'latest.json')));

  // Again on the same --out: every phase is done, nothing is trained twice.
  const again = await runCli([...args, '--json']);
  assert.equal(again.code, 0, again.stderr);
  const s2 = JSON.parse(again.stdout.trim().split('\n').at(-1)!) as { checkpoint: string; held_out_accuracy: unknown };
  assert.equal(s2.checkpoint, summary.checkpoint);
  assert.deepEqual(s2.held_out_accuracy, summary.held_out_accuracy);
});

test('Ctrl-C stops looptool train mid-phase with exit code 130 and leaves no worker behind; only finished phases are recorded', async () => {
  const corpus = join(dir, 'samples.jsonl');
  const out = join(dir, 'interrupted');
  const args = [corpus, '--warmup-epochs', '400', '--eval-split', '0.25', '--threads', '1', '--out', out];
  const child = spawn(process.execPath, [...CLI, ...args], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const warming = new Promise<void>((resolve) =>
    child.stderr.on('data', (d) => {
      stderr += d.toString();
      if (/warm-up \d+\/\d+/.test(stderr)) resolve();
    }),
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await Promise.race([warming, exited]);
  const log = readFileSync(join(out, 'logs', 'policy-worker.log'), 'utf8');
  const pid = Number(/policy worker pid (\d+)/.exec(log)?.[1]);
  assert.ok(pid > 0, log);
  child.kill('SIGINT');
  assert.equal(await exited, 130, stderr);
  assert.match(stderr, /interrupted; run the same command again/);
  for (let i = 0; i < 50 && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(!processAlive(pid), `worker ${pid} outlived looptool train`);
  const state = JSON.parse(readFileSync(join(out, 'train.json'), 'utf8')) as { phases: Record<string, unknown> };
  assert.deepEqual(Object.keys(state.phases), ['eval_before'], 'only the finished phase is recorded');
});

test('looptool train names the line and the field of a bad corpus record, and bad flags are usage errors', async () => {
  const corpus = join(dir, 'bad.jsonl');
  const good = trainerSamples(2);
  const bad = { ...good[1]!, label: { type: 'calls', calls: [] } };
  writeFileSync(corpus, `${JSON.stringify(good[0])}\n${JSON.stringify(bad)}\n`);
  const r = await runCli([corpus, '--out', join(dir, 'bad-run')]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /bad\.jsonl:2: invalid record/);
  assert.match(r.stderr, /line 2: label\.calls/);

  const u = await runCli([corpus, '--loss', 'mean-ish']);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /--loss expects token-mean \| seq-mean \| dr-grpo/);
  const m = await runCli([join(dir, 'nope.jsonl')]);
  assert.equal(m.code, 2);
  assert.match(m.stderr, /no such file/);
});
