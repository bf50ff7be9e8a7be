import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Manifest, RoundEval, type SeedFigures } from '../../protocols/loop/index.ts';
import { packSeedsRun, poolAblationDirs } from '../../runtime/loop/seed-runs.ts';
import { compareRuns } from '../../runtime/loop/compare-runs.ts';
import { writeJsonAtomic } from '../../runtime/rundir.ts';
import { TINY_LOOP_CONFIG } from './tiny.ts';

const ROOT = join(import.meta.dirname, '..', '..');
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'looptool-ablate-'));
  // a validation split beside the test split: every variant evaluates it, and the summaries choose a round on it
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...TINY_LOOP_CONFIG, seed: 'ablate-test', loop: { ...TINY_LOOP_CONFIG.loop, rounds: 1, eval: { ...TINY_LOOP_CONFIG.loop.eval, validationSize: 4 } } }));
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function looptool(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'runtime/cli/main.ts', ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', LOOPTOOL_TORCH_THREADS: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const read = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as unknown;

test('looptool ablate runs the variants on the same round 0 and prints the ablation table', async () => {
  const out = join(dir, 'ablate');
  const r = await looptool(['ablate', '--config', join(dir, 'config.json'), '--variants', 'full,no-jglv,no-edde,balanced,static', '--out', out]);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0]!, /^variant\s+r0\s+r1\s+Δ last vs full/);
  for (const v of ['full', 'no-jglv', 'no-edde', 'balanced', 'static']) assert.ok(lines.some((l) => l.startsWith(v)), `a row for ${v}`);
  // every variant starts from the first one's round 0: same pool, test split and baseline
  const pool = readFileSync(join(out, 'full', 'round-0', 'pool.jsonl'), 'utf8');
  const r0 = RoundEval.parse(read(join(out, 'full', 'round-0', 'eval.json')));
  const validation = readFileSync(join(out, 'full', 'round-0', 'validation.jsonl'), 'utf8');
  const ids = (text: string) => text.trim().split('\n').map((l) => (JSON.parse(l) as { sample: { id: string } }).sample.id);
  assert.equal(ids(validation).length, 4);
  const heldOut = new Set([...ids(pool), ...ids(readFileSync(join(out, 'full', 'round-0', 'test.jsonl'), 'utf8'))]);
  assert.ok(ids(validation).every((id) => !heldOut.has(id)), 'the validation split shares no sample with the seed pool or the test split');
  assert.equal(r0.validation?.n, 4, 'round 0 is evaluated on the validation split too');
  for (const v of ['no-jglv', 'no-edde', 'balanced', 'static']) {
    assert.equal(readFileSync(join(out, v, 'round-0', 'pool.jsonl'), 'utf8'), pool);
    assert.equal(readFileSync(join(out, v, 'round-0', 'validation.jsonl'), 'utf8'), validation);
    assert.deepEqual(RoundEval.parse(read(join(out, v, 'round-0', 'eval.json'))).test, r0.test);
    const m = Manifest.parse(read(join(out, v, 'manifest.json')));
    assert.equal(m.variant, v);
    assert.equal(m.base, 'full');
  }
  // and its round 1, trained on the same D_1 with the same settings: taken from full, not repeated
  const full1 = RoundEval.parse(read(join(out, 'full', 'round-1', 'eval.json')));
  const fullCkpt = resolve(out, 'full', (read(join(out, 'full', 'round-1', 'train.json')) as { checkpoint: string }).checkpoint);
  for (const v of ['no-jglv', 'no-edde', 'balanced', 'static']) {
    const training = Manifest.parse(read(join(out, v, 'manifest.json'))).stages.find((x) => x.stage === 'training' && x.round === 1)!;
    assert.equal(training.counts.base, 1, `${v} took round 1's training from full`);
    assert.equal(resolve(out, v, (read(join(out, v, 'round-1', 'train.json')) as { checkpoint: string }).checkpoint), fullCkpt);
    assert.deepEqual(RoundEval.parse(read(join(out, v, 'round-1', 'eval.json'))).test, full1.test);
    assert.deepEqual(RoundEval.parse(read(join(out, v, 'round-1', 'eval.json'))).validation, full1.validation);
  }
  assert.equal(full1.validation?.n, 4);
  assert.match(readFileSync(join(out, 'full', 'report.md'), 'utf8'), /### Validation split\n\n.* It chooses round [01] \(/);
  const probes = (v: string) => readFileSync(join(out, v, 'round-1', 'probes.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown);
  assert.deepEqual(probes('no-jglv'), probes('full'));
  // what GRPO could learn is reported by part of D_j: D_1 is seed data only
  const byPart = (read(join(out, 'full', 'round-1', 'train.json')) as { groups: number; by_part: Record<string, { groups: number; withSignal: number }> }).by_part;
  assert.deepEqual(Object.keys(byPart), ['seed']);
  assert.equal(byPart.seed!.groups, (read(join(out, 'full', 'round-1', 'train.json')) as { groups: number }).groups);
  assert.match(readFileSync(join(out, 'full', 'report.md'), 'utf8'), /## GRPO signal by part of D_j/);
  // the switches took: no verdicts without JGLV, no expansions without EDDE, neither in static
  assert.ok(existsSync(join(out, 'full', 'round-1', 'verdicts.jsonl')) && existsSync(join(out, 'full', 'round-1', 'expansions.jsonl')));
  assert.ok(!existsSync(join(out, 'no-jglv', 'round-1', 'verdicts.jsonl')) && existsSync(join(out, 'no-jglv', 'round-1', 'expansions.jsonl')));
  assert.ok(existsSync(join(out, 'no-edde', 'round-1', 'verdicts.jsonl')) && !existsSync(join(out, 'no-edde', 'round-1', 'expansions.jsonl')));
  assert.ok(!existsSync(join(out, 'static', 'round-1', 'probes.jsonl')));
  assert.match(readFileSync(join(out, 'ablation.md'), 'utf8'), /\| static \|/);
  // balanced merged D_2 from the same probes as full, kept to the seed pool's mix of no-call labels
  const labels = (text: string) => text.trim().split('\n').map((l) => (JSON.parse(l) as { sample: { label: { type: string } } }).sample.label.type);
  const poolNoCall = labels(pool).filter((t) => t !== 'calls').length / labels(pool).length;
  const composition = (v: string) => read(join(out, v, 'round-2', 'composition.json')) as { budget: number; total: number; noCall: number; balance?: { noCallTarget: number; passedOver: number } };
  const balance = composition('balanced').balance ?? assert.fail('balanced records its balance');
  assert.equal(balance.noCallTarget, Math.round(composition('balanced').budget * poolNoCall));
  const noCall = composition('balanced').noCall;
  assert.equal(labels(readFileSync(join(out, 'balanced', 'round-2', 'data.jsonl'), 'utf8')).filter((t) => t !== 'calls').length, noCall);
  assert.ok(noCall === balance.noCallTarget || composition('balanced').total === composition('full').total, 'the mix is kept unless a side ran out');
  assert.equal(composition('full').balance, undefined);

  // a finished run continues with more rounds; what it had is not redone
  const before = Manifest.parse(read(join(out, 'static', 'manifest.json'))).stages.map((x) => `${x.stage}@${x.round}:${x.finishedAt}`);
  const more = await looptool(['resume', join(out, 'static'), '--rounds', '2']);
  assert.equal(more.code, 0, more.stderr.slice(-3000));
  const after = Manifest.parse(read(join(out, 'static', 'manifest.json'))).stages;
  assert.deepEqual(after.slice(0, before.length).map((x) => `${x.stage}@${x.round}:${x.finishedAt}`), before);
  assert.ok(after.some((x) => x.stage === 'evaluating' && x.round === 2));
  assert.match(more.stdout, /^\s+2\s+\d+\.\d%/m);
});

test('looptool answers shows a run\'s test answers beside their questions, and pairs them with another run\'s item by item as its evals count them', async () => {
  const out = join(dir, 'ablate');
  const items = (v: string, j: number) =>
    readFileSync(join(out, v, `round-${j}`, 'eval.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; correct: boolean });
  const evalOf = (v: string, j: number) => RoundEval.parse(read(join(out, v, `round-${j}`, 'eval.json')));
  type Shown = { round: number; matching: number; answers: { id: string; correct: boolean; miss: string | null; expected: { type: string }; versus?: { correct: boolean } }[] };
  type Paired = Shown & { versus: { round: number; paired: { all: { both: number; onlyA: number; onlyB: number; neither: number; diff: { n: number; lo: number; hi: number } } } } };

  const all = await looptool(['answers', join(out, 'full'), '--show', 'all', '--json']);
  assert.equal(all.code, 0, all.stderr.slice(-3000));
  const shown = JSON.parse(all.stdout) as Shown;
  assert.equal(shown.round, 1, 'the last evaluated round by default');
  assert.deepEqual(
    shown.answers.map((a) => [a.id, a.correct]),
    items('full', 1).map((i) => [i.id, i.correct]),
  );
  assert.ok(shown.answers.every((a) => (a.miss === null) === a.correct));
  // the misses add up to the figures eval.json reports: a wrong call decision is a spurious call, no call, or a call that does not parse where one was due
  const figures = evalOf('full', 1).figures!;
  const count = (f: (a: Shown['answers'][number]) => boolean) => shown.answers.filter(f).length;
  assert.equal(figures.callDecision.k, shown.answers.length - count((a) => a.miss === 'spurious_call' || a.miss === 'no_call' || (a.miss === 'unparsed' && a.expected.type === 'calls')));
  assert.equal(figures.exactCall.k, count((a) => a.correct && a.expected.type === 'calls'));
  assert.equal(figures.exactCall.n, count((a) => a.expected.type === 'calls'));

  // static, resumed to round 2, against full's round 1 (the policy static took over): paired by item
  const vs = await looptool(['answers', join(out, 'static'), '--versus', join(out, 'full'), '--show', 'all', '--json']);
  assert.equal(vs.code, 0, vs.stderr.slice(-3000));
  const p = JSON.parse(vs.stdout) as Paired;
  assert.deepEqual([p.round, p.versus.round], [2, 1]);
  const t = p.versus.paired.all;
  assert.equal(t.diff.n, evalOf('static', 2).test.n);
  assert.equal(t.both + t.onlyA, evalOf('static', 2).test.correct);
  assert.equal(t.both + t.onlyB, evalOf('full', 1).test.correct);
  assert.equal(t.both + t.onlyA + t.onlyB + t.neither, t.diff.n);
  assert.ok(t.diff.lo <= 0 || t.onlyA > t.onlyB);
  const fullById = new Map(items('full', 1).map((i) => [i.id, i.correct]));
  assert.ok(p.answers.every((a) => a.versus?.correct === fullById.get(a.id)));

  // the same run at two rounds, in text: a header, the paired table, and only the answers that changed
  const rounds = await looptool(['answers', join(out, 'static'), '--versus-round', '0']);
  assert.equal(rounds.code, 0, rounds.stderr.slice(-3000));
  assert.match(rounds.stdout, /static round 2, test split: \d+\/\d+ right/);
  assert.match(rounds.stdout, /against .*static round 0: the same \d+ items, paired/);
  const atZero = new Map(items('static', 0).map((i) => [i.id, i.correct]));
  const changed = items('static', 2).filter((i) => i.correct !== atZero.get(i.id)).length;
  assert.match(rounds.stdout, new RegExp(`^${changed} changed answers`, 'm'));

  const validation = await looptool(['answers', join(out, 'full'), '--split', 'validation', '--show', 'all', '--json']);
  assert.equal(validation.code, 0, validation.stderr.slice(-3000));
  assert.equal((JSON.parse(validation.stdout) as Shown).answers.length, 4, 'the validation split\'s answers');

  for (const [args, said] of [
    [['--show', 'changed'], /--show changed needs --versus/],
    [['--skill', 'juggling'], /--skill "juggling" has no answer here \(skills in this split: /],
    [['--round', '7'], /round 7 has no answers on the test split \(rounds with answers: 0, 1\)/],
    [['--split', 'train'], /--split expects one of test, validation/],
  ] as const) {
    const bad = await looptool(['answers', join(out, 'full'), ...args]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, said);
  }
  // the ablation's folder is not a run: the error lists the runs in it
  const folder = await looptool(['answers', out]);
  assert.equal(folder.code, 2);
  assert.match(folder.stderr, /no loop run at .*; it holds runs: .*ablate\/full, .*ablate\/no-jglv/);
});

test('looptool ablate --seeds pairs every variant with static over seeds (two at once), with raw per-seed figures; every eval carries its uncertainty and baselines', async () => {
  const out = join(dir, 'seeds');
  const r = await looptool(['ablate', '--config', join(dir, 'config.json'), '--seeds', '2', '--parallel', '2', '--variants', 'full,random-expansion,static', '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  const j = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
    complete: boolean;
    summary: {
      seeds: string[];
      reference: string;
      variants: { variant: string; seeds: number; accuracy: { mean: number }; vsReference: { n: number; mean: number } | null; selected: { n: number; mean: number } | null; selectedVsReference: { n: number; mean: number } | null; perSeed: SeedFigures[] }[];
      neverCall: { n: number };
    };
    runs: { seed: string; variants: { variant: string; rounds: { round: number; accuracy: number; se: number; baselines: { neverCall: number }; signalByPart?: Record<string, { groups: number }> }[] }[] }[];
  };
  // every trained round says what its GRPO could learn from, by part of D_j; round 0 did not train by GRPO
  for (const run of j.runs)
    for (const v of run.variants) {
      assert.equal(v.rounds.find((x) => x.round === 0)?.signalByPart, undefined);
      assert.ok(Object.values(v.rounds.find((x) => x.round === 1)!.signalByPart ?? {}).some((p) => p.groups > 0), `${run.seed} ${v.variant}: round 1's groups by part`);
    }
  assert.equal(j.complete, true);
  // one line per finished pair on stderr beside the JSON, the time left on all but the last
  const pairs = r.stderr.split('\n').filter((l) => /^\[\d+\/6\] ablate-test-\d /.test(l));
  assert.equal(pairs.length, 6, r.stderr.slice(-3000));
  // durations read in s, min or h as they fall (a loaded machine takes minutes)
  const took = String.raw`(\d+ s|\d+ min|\d+ h \d+ min)`;
  assert.ok(pairs.slice(0, -1).every((l) => new RegExp(`: done in ${took}; about ${took} left$`).test(l)), pairs.join('\n'));
  assert.match(pairs.at(-1)!, new RegExp(`^\\[6/6\\] .*: done in ${took}$`));
  assert.deepEqual(j.summary.seeds, ['ablate-test-1', 'ablate-test-2']);
  assert.equal(j.summary.reference, 'static');
  assert.equal(j.summary.neverCall.n, 2);
  for (const v of j.summary.variants) {
    assert.equal(v.seeds, 2);
    assert.equal(v.perSeed.length, 2);
    // the paired difference is the mean of the per-seed differences
    if (v.variant === 'static') assert.equal(v.vsReference, null);
    else {
      const stat = j.summary.variants.find((x) => x.variant === 'static')!;
      const diffs = v.perSeed.map((p, i) => p.accuracy - stat.perSeed[i]!.accuracy);
      assert.ok(Math.abs(v.vsReference!.mean - (diffs[0]! + diffs[1]!) / 2) < 1e-12);
    }
  }
  // each run's validation split chose a round, whose test accuracy the summary pairs with static's own choice
  for (const v of j.summary.variants) {
    assert.equal(v.selected?.n, 2, `${v.variant}: a chosen round on both seeds`);
    for (const p of v.perSeed) {
      const rounds = j.runs.find((x) => x.seed === p.seed)!.variants.find((x) => x.variant === v.variant)!.rounds;
      assert.equal(p.selected!.accuracy, rounds.find((x) => x.round === p.selected!.round)!.accuracy, 'the chosen round\'s test accuracy');
    }
    assert.equal(v.selectedVsReference?.n, v.variant === 'static' ? undefined : 2);
  }
  // per seed, the variants share round 0; the seeds differ
  const r0 = (seed: number, v: string) => readFileSync(join(out, `seed-${seed}`, v, 'round-0', 'test.jsonl'), 'utf8');
  assert.equal(r0(1, 'static'), r0(1, 'full'));
  assert.notEqual(r0(1, 'full'), r0(2, 'full'));
  // random-expansion expanded samples of D_1 drawn at random, as many as full's error seeds would be
  assert.ok(existsSync(join(out, 'seed-1', 'random-expansion', 'round-1', 'expansions.jsonl')));
  const ev = RoundEval.parse(read(join(out, 'seed-1', 'full', 'round-1', 'eval.json')));
  assert.ok(ev.figures && ev.baselines && ev.cutOff && ev.cutOffLooping);
  assert.ok(ev.cutOffLooping.value <= ev.cutOff.value, 'loops are counted among the answers cut off');
  assert.equal(ev.figures.n, ev.test.n);
  assert.ok(Math.abs(ev.figures.toolMatch.value - ev.test.accuracy) < 1e-12);
  assert.ok(ev.figures.toolMatch.se > 0 || ev.figures.toolMatch.value === 0 || ev.figures.toolMatch.value === 1);
  assert.equal(ev.baselines['never call'], ev.figures.neverCall.value);
  // the test split is its own stream, tagged by skill and stratified
  const test = readFileSync(join(out, 'seed-1', 'full', 'round-0', 'test.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { sample: { id: string; skills: string[] } });
  const pool = new Set(readFileSync(join(out, 'seed-1', 'full', 'round-0', 'pool.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { sample: { id: string } }).sample.id));
  assert.ok(test.every((t) => !pool.has(t.sample.id)), 'no test sample is in the seed pool');
  assert.ok(test.every((t) => t.sample.skills.length > 0), 'every test sample carries its skills');
  assert.ok(Object.keys(ev.figures.bySkill).length >= 3, `skills in the split: ${Object.keys(ev.figures.bySkill).join(', ')}`);
  const md = readFileSync(join(out, 'ablation.md'), 'utf8');
  assert.match(md, /Ablation over 2 seeds/);
  assert.match(md, /^ToolMatch % on the test split at the round each run's validation split chose .*\n {2}full: .* \(rounds chosen: [01], [01]\); Δ vs static /m);
  assert.match(md, /\| ablate-test-2 \|/);
  // every variant of a seed reports the same starting policy: round 0 is shared
  for (const [i, seed] of j.summary.seeds.entries()) {
    const starts = j.summary.variants.map((v) => v.perSeed[i]!.start);
    assert.ok(starts[0], `${seed}: a starting policy`);
    for (const st of starts) assert.deepEqual(st, starts[0]);
    const r0eval = RoundEval.parse(read(join(out, `seed-${i + 1}`, 'full', 'round-0', 'eval.json')));
    assert.equal(starts[0]!.accuracy, r0eval.test.accuracy);
  }
  assert.match(md, /## Per seed: exact calls/);
  // beside the summary: the compared pair by skill from its start, and what each variant's GRPO could learn from
  assert.match(md, /^skill\s+n\/seed\s+start\s+full ToolMatch.*static exact call\s+full − static\s+never call$/m);
  assert.match(md, /^curve\s+part of D_j\s+groups\s+with signal\s+mean reward$/m);
  for (const v of j.summary.variants.map((x) => x.variant)) assert.match(md, new RegExp(`^${v}\\s+\\w+\\s+\\d+\\s+\\d+ \\(`, 'm'), `${v} has a signal row`);
});

test('looptool ablate --pool summarises finished runs as one, says what their settings differ in, and refuses a seed counted twice', async () => {
  const seeds = join(dir, 'seeds'); // the two-seed run of the test above
  const one = await looptool(['ablate', '--pool', `${seeds},${join(dir, 'ablate')}`]);
  assert.notEqual(one.code, 0);
  assert.match(one.stderr, /ablate holds no seed-<i> or replicate-<k> folders/, 'a folder that is not an --seeds run is named');
  // the same run split in two: seed 1 in a, seed 2 in b, with one setting of b changed
  const a = join(dir, 'pool-a');
  const b = join(dir, 'pool-b');
  cpSync(join(seeds, 'seed-1'), join(a, 'seed-1'), { recursive: true });
  cpSync(join(seeds, 'seed-2'), join(b, 'seed-1'), { recursive: true });
  const cfgPath = join(b, 'seed-1', 'full', 'config.json');
  const cfg = read(cfgPath) as { loop: { jglvVotes: number; train: Record<string, unknown> } };
  const votes = cfg.loop.jglvVotes;
  // b was also written before loop.train had eps_low and mu: absent settings are not differences
  const { eps_low: _eps, mu: _mu, ...olderTrain } = cfg.loop.train;
  assert.ok(_eps !== undefined && _mu !== undefined, 'the stored config lists every setting');
  writeFileSync(cfgPath, JSON.stringify({ ...cfg, loop: { ...cfg.loop, jglvVotes: votes + 2, train: olderTrain } }));

  const r = await looptool(['ablate', '--pool', `${a},${b}`, '--json']);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  const pooled = JSON.parse(r.stdout) as { runs: { dir: string; seeds: string[] }[]; summary: unknown; configDifferences: { path: string; values: string[] }[] };
  assert.deepEqual(pooled.runs, [
    { dir: a, seeds: ['ablate-test-1'] },
    { dir: b, seeds: ['ablate-test-2'] },
  ]);
  assert.deepEqual(pooled.summary, read(join(seeds, 'ablation.json')), 'pooled, the halves give the whole run\'s summary');
  assert.deepEqual(pooled.configDifferences, [{ path: 'loop.jglvVotes', values: [String(votes), String(votes + 2)] }]);
  const text = await looptool(['ablate', '--pool', `${a},${b}`]);
  assert.match(text.stdout, /Pooled 2 seeds from 2 ablations/);
  assert.match(text.stdout, new RegExp(`loop\\.jglvVotes: ${votes} \\(.*pool-a\\); ${votes + 2} \\(.*pool-b\\)`));
  assert.match(text.stdout, /^full\s+2\s/m);
  assert.ok(!('columns' in pooled), 'the JSON holds figures, not every evaluation');
  // the tables beside the summary come out as the whole run's ablation.md has them
  const tables = (s: string) => s.slice(s.indexOf('Per seed, last round'), s.indexOf('mean reward'));
  assert.ok(tables(text.stdout).includes('full − static'), text.stdout);
  assert.match(tables(text.stdout), /^ablate-test-1 .*\n^ablate-test-2 /m, 'one row per seed');
  assert.equal(tables(text.stdout), tables(readFileSync(join(seeds, 'ablation.md'), 'utf8')));

  // a seed whose settings differ from the rest of its own run is named by its folder, not hidden behind its run's first seed
  const c = join(dir, 'pool-c');
  const d = join(dir, 'pool-d');
  cpSync(seeds, c, { recursive: true });
  const cCfg = join(c, 'seed-2', 'full', 'config.json');
  writeFileSync(cCfg, JSON.stringify({ ...cfg, seed: 'ablate-test-2', loop: { ...cfg.loop, jglvVotes: votes + 2 } }));
  cpSync(join(seeds, 'seed-1'), join(d, 'seed-1'), { recursive: true });
  const dCfg = join(d, 'seed-1', 'full', 'config.json');
  writeFileSync(dCfg, JSON.stringify({ ...(read(dCfg) as object), seed: 'ablate-test-3' }));
  const split = await looptool(['ablate', '--pool', `${c},${d}`, '--json']);
  assert.equal(split.code, 0, split.stderr.slice(-3000));
  const sj = JSON.parse(split.stdout) as { configSources: { dir: string; seedDir: string }[]; configDifferences: { path: string; values: string[] }[] };
  assert.deepEqual(sj.configSources, [
    { dir: c, seedDir: 'seed-1' },
    { dir: c, seedDir: 'seed-2' },
    { dir: d, seedDir: 'seed-1' },
  ]);
  assert.deepEqual(sj.configDifferences, [{ path: 'loop.jglvVotes', values: [String(votes), String(votes + 2), String(votes)] }]);
  const splitText = await looptool(['ablate', '--pool', `${c},${d}`]);
  assert.match(splitText.stdout, new RegExp(`loop\\.jglvVotes: ${votes} \\(\\S*pool-c/seed-1, \\S*pool-d\\); ${votes + 2} \\(\\S*pool-c/seed-2\\)`));

  const twice = await looptool(['ablate', '--pool', `${a},${seeds}`]);
  assert.notEqual(twice.code, 0);
  assert.match(twice.stderr, /seed ablate-test-1 is in both .*pool-a and .*seeds: each seed may count once/);
  const mixed = await looptool(['ablate', '--pool', `${a},${b}`, '--seeds', '2']);
  assert.equal(mixed.code, 2);
  assert.match(mixed.stderr, /--pool reads finished runs and runs nothing: drop --seeds/);
  const single = await looptool(['ablate', '--pool', a]);
  assert.equal(single.code, 2);
  assert.match(single.stderr, /--pool needs two or more ablation folders/);
});

test('looptool ablate --compare pairs runs of different settings seed by seed, says what they differ in, and names bad columns', async () => {
  const seeds = join(dir, 'seeds'); // the two-seed run above: full, random-expansion, static
  const b = join(dir, 'cmp-b');
  cpSync(seeds, b, { recursive: true });
  let votes = 0;
  for (const sd of ['seed-1', 'seed-2'])
    for (const v of ['full', 'random-expansion', 'static']) {
      const p = join(b, sd, v, 'config.json');
      const cfg = read(p) as { loop: { jglvVotes: number } };
      votes = cfg.loop.jglvVotes;
      writeFileSync(p, JSON.stringify({ ...cfg, loop: { ...cfg.loop, jglvVotes: votes + 2 } }));
    }
  const r = await looptool(['ablate', '--compare', `${seeds}:full,more-votes=${b}:static`, '--json']);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  type Out = {
    columns: { name: string; variant: string; seeds: string[] }[];
    summary: { reference: string; variants: { variant: string; vsReference: { mean: number; lo: number | null; hi: number | null } | null }[] };
    configDifferences: { path: string; values: string[] }[];
    testSplitsDiffer: string[];
  };
  const j = JSON.parse(r.stdout) as Out;
  assert.deepEqual(
    j.columns.map((c) => [c.name, c.seeds]),
    [
      ['seeds/full', ['ablate-test-1', 'ablate-test-2']],
      ['more-votes', ['ablate-test-1', 'ablate-test-2']],
    ],
  );
  assert.equal(j.summary.reference, 'more-votes', 'the static column is the reference');
  // cmp-b is a copy, so its static pairs with seeds/full exactly as the run's own static did
  const own = read(join(seeds, 'ablation.json')) as Out['summary'];
  assert.deepEqual(j.summary.variants[0]!.vsReference, own.variants.find((v) => v.variant === 'full')!.vsReference);
  assert.deepEqual(j.configDifferences, [{ path: 'loop.jglvVotes', values: [String(votes), String(votes + 2)] }]);
  assert.deepEqual(j.testSplitsDiffer, []);

  // DIR alone brings every finished variant (NAME= renames the folder part); --reference picks another column
  const text = await looptool(['ablate', '--compare', `base=${seeds},${b}:full`, '--reference', 'cmp-b/full']);
  assert.equal(text.code, 0, text.stderr.slice(-3000));
  assert.match(text.stdout, /^Compared 4 columns over 2 seeds, paired by seed \(Δ: a column minus cmp-b\/full\): base\/full \(2\), base\/random-expansion \(2\), base\/static \(2\), cmp-b\/full \(2\)$/m);
  assert.match(text.stdout, new RegExp(`loop\\.jglvVotes: ${votes} \\(base/full, base/random-expansion, base/static\\); ${votes + 2} \\(cmp-b/full\\)`));
  assert.match(text.stdout, /Each seed has the same test split in every column/);
  assert.match(text.stdout, /^base\/full\s+2\s+[\d.]+ ± [\d.]+\s+[+-]?[\d.]+ ± [\d.]+/m);

  // a seed whose test split is another file is named: the pairing there is by seed only
  const t = join(b, 'seed-2', 'full', 'round-0', 'test.jsonl');
  writeFileSync(t, readFileSync(t, 'utf8').split('\n').reverse().join('\n'));
  const split = JSON.parse((await looptool(['ablate', '--compare', `${seeds}:full,${b}:full`, '--json'])).stdout) as Out;
  assert.deepEqual(split.testSplitsDiffer, ['ablate-test-2']);

  const bad = await looptool(['ablate', '--compare', `${seeds}:fulll,${b}:static`]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /:fulll: unknown variant "fulll" \(known: full, /);
  const notCol = await looptool(['ablate', '--compare', `${seeds}:full,${b}:static`, '--reference', 'seeds/static']);
  assert.notEqual(notCol.code, 0);
  assert.match(notCol.stderr, /--reference seeds\/static: not a column \(columns: seeds\/full, cmp-b\/static\)/);
  const one = await looptool(['ablate', '--compare', `${seeds}:full`]);
  assert.notEqual(one.code, 0);
  assert.match(one.stderr, /--compare needs two or more columns/);
  const notRun = await looptool(['ablate', '--compare', `${join(dir, 'ablate')}:full,${b}:static`]);
  assert.match(notRun.stderr, /ablate holds no seed-<i> or replicate-<k> folders/);
  const mixed = await looptool(['ablate', '--compare', `${seeds},${b}`, '--seeds', '2']);
  assert.equal(mixed.code, 2);
  assert.match(mixed.stderr, /--compare reads finished runs and runs nothing: drop --seeds/);
  const stray = await looptool(['ablate', '--reference', 'x', '--seeds', '1']);
  assert.equal(stray.code, 2);
  assert.match(stray.stderr, /--reference goes with --compare/);
});

test('looptool ablate --pack keeps a run\'s figures in one file that --pool and --compare read as they read the folder', async () => {
  const [a, b, seeds, cmp] = ['pool-a', 'pool-b', 'seeds', 'cmp-b'].map((d) => join(dir, d)) as [string, string, string, string];
  const packA = join(dir, 'pool-a.pack.json');
  const r = await looptool(['ablate', '--pack', a, '--out', packA]);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  assert.match(r.stdout, /packed 1 seed folders \(3 finished runs\) of .*pool-a into .*pool-a\.pack\.json/);
  const pack = read(packA) as { format: string; seeds: { finished: Record<string, { evals: unknown[] }> }[] };
  assert.equal(pack.format, 'looptool-seed-pack');
  assert.deepEqual(Object.keys(pack.seeds[0]!.finished).sort(), ['full', 'random-expansion', 'static']);

  // pooled from the pack, the figures are the folder's, to the digit; only where they came from differs
  const fromDirs = poolAblationDirs([a, b]);
  const fromPack = poolAblationDirs([packA, b]);
  assert.deepEqual(fromPack.summary, fromDirs.summary);
  assert.deepEqual(fromPack.configDifferences, fromDirs.configDifferences);
  assert.deepEqual(fromPack.runs.map((x) => x.dir), [packA, b]);

  // --compare pairs by the test split's checksum kept in the pack: cmp-b's seed 2 split was reordered above
  const packCmp = join(dir, 'cmp-b.pack.json');
  writeJsonAtomic(packCmp, packSeedsRun(cmp));
  const byFolder = compareRuns([{ dir: seeds, variant: 'full' }, { dir: cmp, variant: 'full', name: 'other' }]);
  const byPack = compareRuns([{ dir: seeds, variant: 'full' }, { dir: packCmp, variant: 'full', name: 'other' }]);
  assert.deepEqual(byPack.summary, byFolder.summary);
  assert.deepEqual(byPack.testSplitsDiffer, ['ablate-test-2']);

  // a damaged pack is refused with the field named; --pack needs somewhere to write and a folder to read
  const broken = join(dir, 'broken.pack.json');
  const bad = read(packA) as { seeds: { present: string[] }[] };
  bad.seeds[0]!.present = ['fulll'];
  writeFileSync(broken, JSON.stringify(bad));
  assert.throws(() => poolAblationDirs([broken, b]), /invalid .*broken\.pack\.json: seeds\.0\.present\.0: /);
  assert.throws(() => packSeedsRun(packA), /pool-a\.pack\.json is a file: pack a run folder/);
  const noOut = await looptool(['ablate', '--pack', a]);
  assert.equal(noOut.code, 2);
  assert.match(noOut.stderr, /--pack needs --out FILE/);
});
