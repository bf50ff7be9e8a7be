import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { intSeed } from '../../protocols/rng.ts';
import { startCli } from '../helpers/cli.ts';
import { TINY_LOOP_CONFIG } from './tiny.ts';

/*
 * loop.trainSeed seeds training's own randomness apart from the world: a run on another
 * run's round 0 (--base, here a run in another folder) with another trainSeed is a
 * replicate of training on the same seed data. A real run (sim brains, nano policy,
 * embedded NATS).
 */

const SEED = 'train-seed-test';
const CONFIG = { ...TINY_LOOP_CONFIG, seed: SEED, loop: { ...TINY_LOOP_CONFIG.loop, rounds: 1 } };

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'looptool-train-seed-'));
  writeFileSync(join(dir, 'a.json'), JSON.stringify(CONFIG));
  writeFileSync(join(dir, 'b.json'), JSON.stringify({ ...CONFIG, loop: { ...CONFIG.loop, trainSeed: 'replicate-2' } }));
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const json = (run: string, f: string) => JSON.parse(readFileSync(join(dir, run, f), 'utf8')) as Record<string, unknown>;
const text = (run: string, f: string) => readFileSync(join(dir, run, f), 'utf8');

test('loop.trainSeed reseeds warm-up and GRPO, not the world: a replicate on the same round 0 trains on the same D_1 with its own sampling; loop.train carries every GRPO setting (a KL brake, unscaled advantages, clipping, aggregation, passes) to GRPO', async () => {
  for (const [run, extra] of [
    ['a', []],
    ['reps/b', ['--base', join(dir, 'a')]],
  ] as const) {
    const cli = startCli(['run', '--config', join(dir, `${basename(run)}.json`), '--out', join(dir, run), '--quiet', ...extra], { LOOPTOOL_TORCH_THREADS: '1' });
    assert.equal(await cli.exited, 0, cli.output().slice(-3000));
  }
  // without trainSeed, training is seeded from the run seed as before
  assert.equal(json('a', 'round-0/train.json').seed, intSeed(SEED, 'warmup'));
  assert.equal(json('a', 'round-1/train.json').seed, intSeed(SEED, 'grpo', 1));
  // b takes a's round 0 (seed pool, test split, warm-up) ...
  assert.equal(text('reps/b', 'round-0/test.jsonl'), text('a', 'round-0/test.jsonl'));
  assert.equal(json('reps/b', 'round-0/train.json').seed, intSeed(SEED, 'warmup'));
  // ... and the same D_1, but trains round 1 itself with its own seed: a setting differs, so round 1 is not adopted
  assert.equal(text('reps/b', 'round-1/data.jsonl'), text('a', 'round-1/data.jsonl'));
  const b1 = json('reps/b', 'round-1/train.json');
  assert.equal(b1.base, undefined, 'round 1 trained, not taken from a');
  assert.equal(b1.seed, intSeed(SEED, 'train', 'replicate-2', 'grpo', 1));
  // every step of a trained round is in its steps.jsonl, as the trainer reported it
  const stepLines = (run: string, j: number) =>
    text(run, `round-${j}/steps.jsonl`)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(stepLines('a', 0).filter((m) => m.kind === 'sft_step').length, json('a', 'round-0/train.json').steps);
  const aSteps = stepLines('a', 1).filter((m) => m.kind === 'grpo_step');
  assert.equal(aSteps.length, json('a', 'round-1/train.json').steps);
  assert.ok(aSteps.every((m) => m.kl_to === 'sampling' && typeof m.reward_mean === 'number' && m.round === 1));
  // the base is stored as a path from the run's parent, so resume finds it again
  assert.equal(json('reps/b', 'manifest.json').base, '../a');

  // a round's GRPO settings are in its train.json; a KL brake, Dr. GRPO's unscaled advantages and the trainer's other settings reach it from loop.train
  assert.deepEqual((json('a', 'round-1/train.json').settings as { beta: number; advantage_scale: string }).beta, 0);
  writeFileSync(join(dir, 'c.json'), JSON.stringify({ ...CONFIG, loop: { ...CONFIG.loop, train: { ...CONFIG.loop.train, beta: 0.05, advantage_scale: 'none', eps_high: 0.3, aggregation: 'seq-mean', mu: 2, max_grad_norm: 0.5, batch_size: 2, epochs: 3, lr: 2e-4, lr_warmup_steps: 1 } } }));
  const braked = startCli(['run', '--config', join(dir, 'c.json'), '--out', join(dir, 'reps', 'braked'), '--quiet', '--base', join(dir, 'a')], { LOOPTOOL_TORCH_THREADS: '1' });
  assert.equal(await braked.exited, 0, braked.output().slice(-3000));
  const c1 = json('reps/braked', 'round-1/train.json');
  assert.equal(c1.base, undefined, 'another setting: round 1 trained again');
  // the KL brake is measured to the round's reference, and mu passes make as many updates again
  const cSteps = stepLines('reps/braked', 1).filter((m) => m.kind === 'grpo_step');
  assert.ok(cSteps.length > 0 && cSteps.every((m) => m.kl_to === 'reference' && (m.updates as number) % 2 === 0));
  // a one-step warm-up: the round's first update at half the lr, the others at the lr
  const lrOf = (m: Record<string, unknown>) => Number((m.lr as number).toPrecision(6));
  assert.ok(cSteps.length >= 2, `${cSteps.length} steps`);
  assert.deepEqual(cSteps.map(lrOf), cSteps.map((_, k) => (k === 0 ? 1e-4 : 2e-4)));
  const aLr = (json('a', 'round-1/train.json').settings as { lr: number }).lr;
  assert.ok(aSteps.every((m) => lrOf(m) === Number(aLr.toPrecision(6))), 'without a warm-up every step takes the lr');
  const { beta, advantage_scale, eps_low, eps_high, aggregation, mu, max_grad_norm, lr_warmup_steps } = c1.settings as Record<string, unknown>;
  assert.deepEqual(
    { beta, advantage_scale, eps_low, eps_high, aggregation, mu, max_grad_norm, lr_warmup_steps },
    { beta: 0.05, advantage_scale: 'none', eps_low: 0.2, eps_high: 0.3, aggregation: 'seq-mean', mu: 2, max_grad_norm: 0.5, lr_warmup_steps: 1 },
  );

  const bad = startCli(['run', '--config', join(dir, 'b.json'), '--out', join(dir, 'reps', 'c'), '--base', 'nowhere']);
  assert.notEqual(await bad.exited, 0);
  assert.match(bad.output(), /--base nowhere: no run at \S+reps\/nowhere or \S+nowhere \(a run folder holds manifest\.json\)/);
});

test('looptool replicate trains a finished run\'s round 0 again under training seeds of its own, summarises the spread, continues a stopped set, and pairs with another set by replicate in ablate --compare', async () => {
  const a = join(dir, 'a'); // the first test's run
  const reps = join(dir, 'sets', 'base');
  const run = (args: string[], threads = '1') => startCli(['replicate', a, '--replicates', '2', '--out', reps, '--quiet', ...args], { LOOPTOOL_TORCH_THREADS: threads });
  // two at once, each on its own worker, the cores shared out between them as their threads
  const first = run(['--json', '--parallel', '2'], '');
  assert.equal(await first.exited, 0, first.output().slice(-3000));
  type Set = { complete: boolean; variant: string; settings: unknown[]; sdInterval: { lo: number; hi: number } | null; baseFigures: { accuracy: number }; summary: { accuracy: { n: number; sd: number }; perSeed: { seed: string; accuracy: number }[] } };
  const s = JSON.parse(first.output().split('\n').find((l) => l.startsWith('{'))!) as Set;
  assert.equal(s.complete, true);
  assert.equal(s.variant, 'full');
  assert.deepEqual(s.settings, [], "the base run's own setting");
  assert.deepEqual(s.summary.perSeed.map((f) => f.seed), [`${SEED}/replicate-1`, `${SEED}/replicate-2`]);
  // each replicate takes a's round 0 and trains round 1 under its own training seed
  for (const k of [1, 2]) {
    const r = `sets/base/replicate-${k}/full`;
    assert.equal(text(r, 'round-0/test.jsonl'), text('a', 'round-0/test.jsonl'));
    assert.equal(text(r, 'round-1/data.jsonl'), text('a', 'round-1/data.jsonl'));
    assert.equal(json(r, 'round-1/train.json').seed, intSeed(SEED, 'train', `replicate-${k}`, 'grpo', 1));
  }
  // the base lists every run started on it (the first test's `run --base` runs too), so that its prune sees them wherever they are
  assert.deepEqual(text('a', 'dependents.jsonl').split('\n').filter(Boolean).map((l) => JSON.parse(l).run).sort(), ['../reps/b', '../reps/braked', '../sets/base/replicate-1/full', '../sets/base/replicate-2/full']);
  const aLast = (json('a', 'round-1/eval.json').test as { accuracy: number }).accuracy;
  assert.equal(s.baseFigures.accuracy, aLast);
  // the spread comes with its own interval, which holds it
  assert.equal(s.summary.accuracy.n, 2);
  assert.ok(s.sdInterval && s.sdInterval.lo <= s.summary.accuracy.sd && s.summary.accuracy.sd <= s.sdInterval.hi, JSON.stringify(s.sdInterval));
  assert.match(first.output(), /^\[1\/2\] replicate-[12] full: done in \d+ s; about \d+ s left$/m);
  assert.match(first.output(), /^\[2\/2\] replicate-[12] full: done in \d+ s$/m);
  const span = (k: number) => {
    const m = json(`sets/base/replicate-${k}/full`, 'manifest.json') as { created: string; stages: { finishedAt: string }[] };
    return { from: Date.parse(m.created), to: Math.max(...m.stages.map((x) => Date.parse(x.finishedAt))) };
  };
  assert.ok(span(1).from < span(2).to && span(2).from < span(1).to, 'with --parallel 2 the two replicates ran at the same time');
  for (const k of [1, 2]) assert.equal((json(`sets/base/replicate-${k}/full`, 'config.json').trainer as { threads?: number }).threads, Math.max(1, Math.floor(availableParallelism() / 2)));
  assert.match(text('sets/base', 'replicates.md'), /2 replicates of full on the round 0 of/);

  // the same command again: nothing runs again, the same figures
  const again = run([]);
  assert.equal(await again.exited, 0, again.output().slice(-3000));
  assert.match(again.output(), /^\[2\/2\] replicate-2 full: done before$/m);
  assert.match(again.output(), /^mean .* % \(95 % interval over replicates\); sd \d+\.\d points, 95 % interval \[/m);

  // another setting in the same set is refused: one spread, one setting
  const warmCfg = join(dir, 'warm.json');
  writeFileSync(warmCfg, JSON.stringify({ ...CONFIG, loop: { ...CONFIG.loop, train: { ...CONFIG.loop.train, lr_warmup_steps: 1 } } }));
  const mixed = run(['--config', warmCfg, '--first', '3']);
  assert.notEqual(await mixed.exited, 0);
  assert.match(mixed.output(), /replicate-1 was trained under another setting \(loop\.train\.lr_warmup_steps: 0 there, 1 here\); give this setting a set of its own \(--out\)/);

  // a second set of another setting, paired by replicate: here a copy with a warm-up written in, so every difference is 0
  const other = join(dir, 'sets', 'warm');
  cpSync(reps, other, { recursive: true });
  for (const k of [1, 2]) {
    const p = join(other, `replicate-${k}`, 'full', 'config.json');
    const c = JSON.parse(readFileSync(p, 'utf8')) as { loop: { train: Record<string, unknown> } };
    writeFileSync(p, JSON.stringify({ ...c, loop: { ...c.loop, train: { ...c.loop.train, lr_warmup_steps: 2 } } }));
  }
  const cmp = startCli(['ablate', '--compare', `${reps},${other}`, '--reference', 'base/full', '--json']);
  assert.equal(await cmp.exited, 0, cmp.output().slice(-3000));
  const c = JSON.parse(cmp.output().split('\n').find((l) => l.startsWith('{'))!) as { summary: { seeds: string[]; variants: { variant: string; vsReference: { n: number; mean: number } | null }[] }; configDifferences: { path: string }[] };
  assert.deepEqual(c.summary.seeds, [`${SEED}/replicate-1`, `${SEED}/replicate-2`]);
  assert.deepEqual(c.configDifferences.map((d) => d.path), ['loop.train.lr_warmup_steps']);
  const warm = c.summary.variants.find((v) => v.variant === 'warm/full')!;
  assert.equal(warm.vsReference!.n, 2);
  assert.equal(warm.vsReference!.mean, 0);
  // a set holding only its second replicate still pairs by replicate, its training seed no setting
  const late = join(dir, 'sets', 'late');
  cpSync(join(other, 'replicate-2'), join(late, 'replicate-2'), { recursive: true });
  const cmpText = startCli(['ablate', '--compare', `${reps},${late}`, '--reference', 'base/full']);
  assert.equal(await cmpText.exited, 0, cmpText.output().slice(-3000));
  assert.match(cmpText.output(), /^Compared 2 columns over 2 replicates, paired by replicate \(Δ: a column minus base\/full\): base\/full \(2\), late\/full \(1\)$/m);
  assert.match(cmpText.output(), /^The columns' settings differ \(besides the replicate\):\n {2}loop\.train\.lr_warmup_steps: 0 \(base\/full\); 2 \(late\/full\)\nEach replicate has/m);
  assert.match(cmpText.output(), /^variant\s+replicates\s+final % \(95% CI\)/m);
  assert.match(cmpText.output(), /^By skill, mean % over replicates: .* paired over replicates:$/m);
  assert.doesNotMatch(cmpText.output(), /over seeds/);
  rmSync(late, { recursive: true });

  // a setting that changes the world is refused, naming the field; so is a run that is not finished
  const world = join(dir, 'world.json');
  writeFileSync(world, JSON.stringify({ ...CONFIG, seed: 'another-world' }));
  const moved = startCli(['replicate', a, '--replicates', '1', '--config', world, '--out', join(dir, 'sets', 'moved')]);
  assert.notEqual(await moved.exited, 0);
  assert.match(moved.output(), /config\.seed differs from the base run's .*: a replicate trains on its base's world/);
  assert.deepEqual(readdirSync(join(dir, 'sets')).sort(), ['base', 'warm'], 'nothing was written for the refused set');
  // a validation split comes with the base's seed data: a base that drew none cannot give one
  const valid = join(dir, 'valid.json');
  writeFileSync(valid, JSON.stringify({ ...CONFIG, loop: { ...CONFIG.loop, eval: { ...CONFIG.loop.eval, validationSize: 4 } } }));
  const unsplit = startCli(['replicate', a, '--replicates', '1', '--config', valid, '--out', join(dir, 'sets', 'valid')]);
  assert.notEqual(await unsplit.exited, 0);
  assert.match(unsplit.output(), /loop\.eval\.validationSize is 4, but base run .* drew no validation split \(round-0\/validation\.jsonl\); set it to 0, or start from a base run that set it/);
  assert.match(unsplit.output(), /Not finished:\n  replicate-1: failed: .*validationSize is 4/);
  assert.match(unsplit.output(), /incomplete: mend what stopped replicate-1 \(above\), then run the same command to continue/, 'a failure is not closed as if running again would do');
  // another model than the base trained is refused before the replicate's folder holds a config that would block a rerun
  const otherModel = join(dir, 'other-model.json');
  writeFileSync(otherModel, JSON.stringify({ ...CONFIG, trainer: { ...CONFIG.trainer, model: { preset: 'smollm2' } } }));
  const om = startCli(['replicate', a, '--replicates', '1', '--config', otherModel, '--out', join(dir, 'sets', 'other-model')]);
  assert.notEqual(await om.exited, 0);
  assert.match(om.output(), /holds another model than the config names \(trainer\.model\.preset: \S+nano there, preset "smollm2" \(\S+smollm2\) here\)/);
  assert.ok(!existsSync(join(dir, 'sets', 'other-model', 'replicate-1', 'full', 'config.json')), 'nothing of the refused replicate stays');
  const none = startCli(['replicate', a]);
  assert.equal(await none.exited, 2);
  assert.match(none.output(), /--replicates N is required/);
});
