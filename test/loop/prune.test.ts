import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Manifest, type StageEntry } from '../../protocols/loop/records.ts';
import { pruneCheckpoints, unlessPruned } from '../../runtime/loop/prune.ts';
import { dependentsOf, recordDependent } from '../../runtime/loop/dependents.ts';
import { RunStore } from '../../runtime/loop/store.ts';
import { verifyStages } from '../../runtime/loop/verify.ts';
import { startCli } from '../helpers/cli.ts';

/*
 * An ablation folder laid out as `ablate` leaves it: full (the base) trains every round into
 * its own checkpoints; static adopts full's warm-up and round 1 (its train.json names
 * full's checkpoints) and trains rounds 2-3 into its own. Seed 2's static has not finished.
 */

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'looptool-prune-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function makeRun(run: string, opts: { base?: string; status: 'done' | 'running'; own: number[]; adopted?: number[]; rounds: number }): void {
  const store = new RunStore(run);
  const stages: StageEntry[] = [];
  let last: string | null = null;
  for (let j = 0; j <= opts.rounds; j++) {
    const adopted = opts.adopted?.includes(j);
    if (!adopted && !opts.own.includes(j)) continue;
    const ckpt = adopted ? `../${opts.base}/checkpoints/ckpt-r${j}` : `checkpoints/ckpt-r${j}`;
    if (!adopted) {
      mkdirSync(join(run, ckpt), { recursive: true });
      writeFileSync(join(run, ckpt, 'model.safetensors'), Buffer.alloc(1000 * (j + 1)));
    }
    mkdirSync(join(run, `round-${j}`), { recursive: true });
    const info = store.writeJson(`round-${j}/train.json`, { kind: j ? 'grpo' : 'sft', checkpoint: ckpt, ...(adopted ? { base: opts.base } : {}) });
    stages.push({ round: j, stage: j ? 'training' : 'warmup', finishedAt: 'now', seconds: 1, files: { [`round-${j}/train.json`]: info }, counts: {} });
    last = ckpt;
  }
  const m: Manifest = Manifest.parse({
    version: 1,
    run: run.split('/').at(-1),
    created: 'now',
    variant: opts.base ? 'static' : 'full',
    ablations: { static: !!opts.base },
    rounds: opts.rounds,
    ...(opts.base ? { base: opts.base } : {}),
    status: opts.status,
    stages,
    checkpoint: last,
    updated: 'now',
  });
  writeFileSync(join(run, 'manifest.json'), JSON.stringify(m));
}

function ablation(): string {
  const out = join(dir, 'ablate');
  makeRun(join(out, 'seed-1', 'full'), { status: 'done', own: [0, 1, 2, 3], rounds: 3 });
  makeRun(join(out, 'seed-1', 'static'), { base: 'full', status: 'done', own: [2, 3], adopted: [0, 1], rounds: 3 });
  makeRun(join(out, 'seed-2', 'full'), { status: 'done', own: [0, 1, 2, 3], rounds: 3 });
  makeRun(join(out, 'seed-2', 'static'), { base: 'full', status: 'running', own: [2], adopted: [0, 1], rounds: 3 });
  return out;
}

const ck = (out: string, seed: number, v: string, j: number) => join(out, `seed-${seed}`, v, 'checkpoints', `ckpt-r${j}`);
const manifestOf = (run: string) => Manifest.parse(JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8')));

test('prune keeps the last checkpoint and what later variants start from; removes the rest of finished runs only', () => {
  const out = ablation();
  const dry = pruneCheckpoints([out], { dryRun: true });
  assert.ok(existsSync(ck(out, 1, 'full', 2)), 'a dry run removes nothing');
  const r = pruneCheckpoints([out]);
  assert.deepEqual(r, dry, 'the dry run said exactly what was done');
  for (const seed of [1, 2]) {
    for (const j of [0, 1, 3]) assert.ok(existsSync(ck(out, seed, 'full', j)), `full r${j} of seed ${seed} stays (a base's warm-up and round 1, and the last)`);
    assert.ok(!existsSync(ck(out, seed, 'full', 2)), `full r2 of seed ${seed} is removed`);
  }
  assert.ok(!existsSync(ck(out, 1, 'static', 2)) && existsSync(ck(out, 1, 'static', 3)), 'a finished variant keeps its last only');
  assert.ok(existsSync(ck(out, 2, 'static', 2)), 'an unfinished run keeps everything');
  const s2 = r.find((x) => x.run.endsWith(join('seed-2', 'static')))!;
  assert.match(s2.note ?? '', /not finished/);
  const s1 = r.find((x) => x.run.endsWith(join('seed-1', 'full')))!;
  assert.equal(s1.bytes, 3000, 'the bytes of what was removed');
  assert.deepEqual(manifestOf(join(out, 'seed-1', 'full')).pruned, ['checkpoints/ckpt-r2']);
  assert.equal(manifestOf(join(out, 'seed-2', 'static')).pruned, undefined);
  // resume's check counts a pruned checkpoint as removed on purpose, a missing one as damage
  const run = join(out, 'seed-1', 'full');
  assert.deepEqual(verifyStages(new RunStore(run), manifestOf(run)), []);
  // a stage that would restore a pruned checkpoint says so instead of failing in the worker
  assert.throws(() => unlessPruned(manifestOf(run), 'checkpoints/ckpt-r2', ck(out, 1, 'full', 2)), /ckpt-r2 was removed by `looptool prune`, and this stage needs it/);
  assert.equal(unlessPruned(manifestOf(run), 'checkpoints/ckpt-r3', ck(out, 1, 'full', 3)), ck(out, 1, 'full', 3));
  rmSync(ck(out, 1, 'full', 3), { recursive: true });
  assert.deepEqual(
    verifyStages(new RunStore(run), manifestOf(run)).map((d) => [d.stage, d.problem]),
    [['training@3', 'checkpoint missing']],
  );
});

test('--keep last also removes what variants start from, unless an unfinished run names it; every run naming a removed one records it', () => {
  const out = ablation();
  pruneCheckpoints([out], { keep: 'last' });
  for (const j of [0, 1]) {
    assert.ok(!existsSync(ck(out, 1, 'full', j)), `seed 1's variants are finished: full r${j} goes`);
    assert.ok(existsSync(ck(out, 2, 'full', j)), `seed 2's static is not: full r${j} stays`);
  }
  assert.deepEqual(manifestOf(join(out, 'seed-1', 'static')).pruned, ['../full/checkpoints/ckpt-r0', '../full/checkpoints/ckpt-r1', 'checkpoints/ckpt-r2']);
  const run = join(out, 'seed-1', 'static');
  assert.deepEqual(verifyStages(new RunStore(run), manifestOf(run)), [], 'the variant does not count its base\'s pruned checkpoints as damage');
});

test('a base pruned alone keeps what an unfinished variant beside it names, even with --keep last', () => {
  const out = ablation();
  pruneCheckpoints([join(out, 'seed-2', 'full')], { keep: 'last' });
  for (const j of [0, 1]) assert.ok(existsSync(ck(out, 2, 'full', j)), `full r${j} stays: seed 2's static names it`);
  assert.ok(!existsSync(ck(out, 2, 'full', 2)));
  assert.ok(existsSync(ck(out, 2, 'static', 2)), 'the variant itself was not asked to be pruned');
});

test('a run pruned alone keeps what an unfinished replicate in its <run>-replicates set names; once it is done, the replicate records the removal', () => {
  const base = join(dir, 'a');
  const rep = join(dir, 'a-replicates', 'replicate-1', 'full');
  makeRun(base, { status: 'done', own: [0, 1], rounds: 1 });
  makeRun(rep, { base: '../../a', status: 'running', own: [], adopted: [0], rounds: 1 });
  const warm = join(base, 'checkpoints', 'ckpt-r0');
  pruneCheckpoints([base], { keep: 'last' });
  assert.ok(existsSync(warm), 'the unfinished replicate restores the base warm-up');
  makeRun(rep, { base: '../../a', status: 'done', own: [1], adopted: [0], rounds: 1 });
  pruneCheckpoints([base], { keep: 'last' });
  assert.ok(!existsSync(warm));
  assert.deepEqual(manifestOf(rep).pruned, ['../../../a/checkpoints/ckpt-r0']);
});

test('a run started on a base elsewhere (replicate --out, run --base) lists itself in the base, and prune of the base keeps what it names', () => {
  const base = join(dir, 'a');
  const rep = join(dir, 'elsewhere', 'set', 'replicate-1', 'full');
  makeRun(base, { status: 'done', own: [0, 1], rounds: 1 });
  makeRun(rep, { base: '../../../a', status: 'running', own: [], adopted: [0], rounds: 1 });
  const warm = join(base, 'checkpoints', 'ckpt-r0');
  recordDependent(base, rep);
  recordDependent(base, rep);
  assert.equal(readFileSync(join(base, 'dependents.jsonl'), 'utf8'), '{"run":"../elsewhere/set/replicate-1/full"}\n', 'listed once, relative to the base');
  pruneCheckpoints([base], { keep: 'last' });
  assert.ok(existsSync(warm), 'the unfinished run elsewhere restores the base warm-up');
  // the same base without the listing: nothing finds the run, and the warm-up goes
  const other = join(dir, 'b');
  makeRun(other, { status: 'done', own: [0, 1], rounds: 1 });
  makeRun(join(dir, 'elsewhere', 'b-rep'), { base: '../b', status: 'running', own: [], adopted: [0], rounds: 1 });
  pruneCheckpoints([other], { keep: 'last' });
  assert.ok(!existsSync(join(other, 'checkpoints', 'ckpt-r0')), 'an unlisted run elsewhere is not seen');
  // a listed run that was deleted is skipped; a damaged listing names its line
  rmSync(rep, { recursive: true });
  assert.deepEqual(dependentsOf(base), []);
  writeFileSync(join(base, 'dependents.jsonl'), '{"run":""}\n');
  assert.throws(() => dependentsOf(base), /dependents\.jsonl:1: invalid record.*line 1: run/);
});

test('looptool prune prints what it removes and refuses a folder without runs', async () => {
  const out = ablation();
  const dry = startCli(['prune', out, '--dry-run']);
  assert.equal(await dry.exited, 0, dry.output());
  assert.match(dry.output(), /seed-1\/full {2}would remove 1 \(0\.00 GiB\), kept 3/);
  assert.match(dry.output(), /seed-2\/static {2}not finished: resume needs its checkpoints/);
  assert.match(dry.output(), /would free 0\.00 GiB in 3 of 4 runs/);
  const none = startCli(['prune', dir + '/nothing-here']);
  assert.equal(await none.exited, 2);
  assert.match(none.output(), /no loop run at or below ".*nothing-here"/);
  const bad = startCli(['prune', out, '--keep', 'some']);
  assert.equal(await bad.exited, 2);
  assert.match(bad.output(), /--keep expects "continuations" or "last", got "some"/);
});
