import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunConfig } from '../../protocols/config.ts';
import { LooptoolError } from '../../protocols/errors.ts';
import { Manifest, type StageEntry } from '../../protocols/loop/records.ts';
import { RunStore } from '../../runtime/loop/store.ts';
import { planResume, verifyStages } from '../../runtime/loop/verify.ts';
import { FileCheckpointer } from '../../runtime/loop/checkpoint/index.ts';

/*
 * Resume verifies a run's finished stages against the manifest before it continues. These
 * runs are made by hand (no policy worker needed): a few stage files, a manifest written
 * the way the loop's stages write it, a snapshot, and a checkpoint directory.
 */

const ROOT = join(import.meta.dirname, '..', '..');

function makeRun(dir: string): RunStore {
  mkdirSync(join(dir, 'round-0'), { recursive: true });
  mkdirSync(join(dir, 'round-1'), { recursive: true });
  const store = new RunStore(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(RunConfig.parse({})));
  const stages: StageEntry[] = [];
  const finish = (round: number, stage: StageEntry['stage'], files: Record<string, unknown[] | object>) => {
    const info: StageEntry['files'] = {};
    for (const [f, v] of Object.entries(files)) info[f] = Array.isArray(v) ? store.write(f, v) : store.writeJson(f, v);
    stages.push({ round, stage, finishedAt: new Date().toISOString(), seconds: 0, files: info, counts: {} });
  };
  finish(0, 'seeding', { 'round-0/pool.jsonl': [{ n: 1 }, { n: 2 }, { n: 3 }], 'round-1/data.jsonl': [{ n: 1 }] });
  // a checkpoint directory of the trainer's, kept relative to the run directory
  mkdirSync(join(dir, 'checkpoints', 'ckpt-1-warmup'), { recursive: true });
  writeFileSync(join(dir, 'checkpoints', 'ckpt-1-warmup', 'meta.json'), '{}');
  finish(0, 'warmup', { 'round-0/train.json': { kind: 'sft', checkpoint: 'checkpoints/ckpt-1-warmup' } });
  finish(1, 'probing', { 'round-1/probes.jsonl': [{ id: 'a' }, { id: 'b' }] });
  finish(1, 'verifying', { 'round-1/verdicts.jsonl': [{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }] });
  const now = new Date().toISOString();
  new FileCheckpointer(store).put(
    'manifest',
    Manifest.parse({ version: 1, run: 'hand', created: now, variant: 'full', ablations: { jglv: true, edde: true, hppl: true, static: false }, rounds: 1, status: 'failed', stages, checkpoint: 'checkpoints/ckpt-1-warmup', updated: now }),
  );
  writeFileSync(join(dir, 'snapshot.json'), JSON.stringify({ status: 'active', value: 'expanding', context: { round: 1 } }));
  return store;
}

function refusal(fn: () => unknown): LooptoolError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof LooptoolError, String(err));
    return err;
  }
  assert.fail('expected a refusal');
}

function fresh(): { dir: string; store: RunStore; done: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'looptool-verify-'));
  const dir = join(root, 'run');
  return { dir, store: makeRun(dir), done: () => rmSync(root, { recursive: true, force: true }) };
}

test('an intact run passes; a copied or moved run too (paths are relative to the run directory)', () => {
  const { dir, store, done } = fresh();
  try {
    assert.deepEqual(verifyStages(store, new FileCheckpointer(store).get('manifest')!), []);
    const copy = `${dir}-copy`;
    cpSync(dir, copy, { recursive: true });
    rmSync(join(dir, 'checkpoints'), { recursive: true });
    const copied = new RunStore(copy);
    assert.deepEqual(planResume(copied).rerun, []);
    const moved = `${dir}-moved`;
    renameSync(copy, moved);
    assert.deepEqual(planResume(new RunStore(moved)).rerun, []);
    // the original lost its checkpoint: that is damage of the warm-up
    const d = verifyStages(store, new FileCheckpointer(store).get('manifest')!);
    assert.deepEqual(d, [{ stage: 'warmup@0', file: 'checkpoints/ckpt-1-warmup', problem: 'checkpoint missing' }]);
  } finally {
    done();
  }
});

test('a stage file cut at a line boundary, changed, or deleted is refused, naming the file and what differs', () => {
  const { dir, store, done } = fresh();
  try {
    const verdicts = join(dir, 'round-1/verdicts.jsonl');
    const lines = readFileSync(verdicts, 'utf8').split('\n').filter(Boolean);
    writeFileSync(verdicts, lines.slice(0, 3).join('\n') + '\n');
    let e = refusal(() => planResume(store));
    assert.match(e.message, /round-1\/verdicts\.jsonl: 3 records, the manifest recorded 4 \(verifying@1\)/);
    assert.match(e.message, /--rerun-damaged/);

    writeFileSync(verdicts, lines.map((l) => l.replace('"a"', '"z"')).join('\n') + '\n');
    e = refusal(() => planResume(store));
    assert.match(e.message, /round-1\/verdicts\.jsonl: checksum differs/);

    rmSync(join(dir, 'round-1/probes.jsonl'));
    e = refusal(() => planResume(store));
    assert.match(e.message, /round-1\/probes\.jsonl: missing \(probing@1\)/);
    // refused means untouched
    assert.equal(new FileCheckpointer(store).get('manifest')!.stages.length, 4);
    assert.ok(existsSync(join(dir, 'snapshot.json')));
  } finally {
    done();
  }
});

test('--rerun-damaged drops the damaged stage and every stage after it, and the snapshot', () => {
  const { dir, store, done } = fresh();
  try {
    rmSync(join(dir, 'checkpoints'), { recursive: true });
    const plan = planResume(store, { rerunDamaged: true });
    assert.deepEqual(plan.rerun, ['warmup@0', 'probing@1', 'verifying@1']);
    const m = new FileCheckpointer(store).get('manifest')!;
    assert.deepEqual(m.stages.map((s) => `${s.stage}@${s.round}`), ['seeding@0']);
    assert.equal(m.checkpoint, null, 'no training stage is left finished');
    assert.ok(!existsSync(join(dir, 'snapshot.json')), 'the machine starts over; finished stages answer from their files');
  } finally {
    done();
  }
});

test('a deleted manifest is refused (or everything runs again); a directory that is not a loop run is refused', () => {
  const { dir, store, done } = fresh();
  try {
    rmSync(join(dir, 'manifest.json'));
    let e = refusal(() => planResume(store));
    assert.match(e.message, /manifest\.json: missing/);
    assert.deepEqual(planResume(store, { rerunDamaged: true }), { manifest: undefined, rerun: ['all'] });
    // what `looptool seed` leaves: config.json and round-0, no manifest, no snapshot
    e = refusal(() => planResume(store));
    assert.match(e.message, /is not a loop run .*looptool seed/);
  } finally {
    done();
  }
});

test('a corrupted snapshot.json is an error that names the file', () => {
  const { dir, store, done } = fresh();
  try {
    writeFileSync(join(dir, 'snapshot.json'), '{"value": "expand');
    const e = refusal(() => new FileCheckpointer(store).get('snapshot'));
    assert.ok(e.message.includes(join(dir, 'snapshot.json')), e.message);
    assert.match(refusal(() => planResume(store)).message, /snapshot\.json/);
    assert.deepEqual(planResume(store, { rerunDamaged: true }).rerun, []);
    assert.ok(!existsSync(join(dir, 'snapshot.json')));
    // corrupted snapshot and no manifest: still a loop run, every stage runs again
    writeFileSync(join(dir, 'snapshot.json'), '{');
    rmSync(join(dir, 'manifest.json'));
    assert.deepEqual(planResume(store, { rerunDamaged: true }).rerun, ['all']);
  } finally {
    done();
  }
});

test('looptool resume refuses a damaged run and a seed directory before starting anything', () => {
  const { dir, done } = fresh();
  try {
    writeFileSync(join(dir, 'round-0/pool.jsonl'), '');
    const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'runtime/cli/main.ts', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    let r = cli(['resume', dir]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /round-0\/pool\.jsonl: 0 records, the manifest recorded 3 \(seeding@0\)/);
    assert.ok(!existsSync(join(dir, 'nats')), 'no bus was started');
    rmSync(join(dir, 'manifest.json'));
    rmSync(join(dir, 'snapshot.json'));
    r = cli(['resume', dir]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /is not a loop run/);
  } finally {
    done();
  }
});
