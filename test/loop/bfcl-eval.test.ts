import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BfclItemRecord, RoundEval } from '../../protocols/loop/index.ts';
import { resultFromAnswer } from '../../protocols/bfcl/index.ts';
import { readJsonl } from '../../runtime/corpus.ts';
import { bfclDataDir, loadBfclCategory } from '../../runtime/bfcl/files.ts';
import { checkBfclAnswer } from '../../runtime/loop/bfcl.ts';
import { CLI, startCli } from '../helpers/cli.ts';
import { TINY_LOOP_CONFIG } from './tiny.ts';

/*
 * loop.eval.bfcl end to end: a real run (sim brains, nano policy, embedded NATS) answers
 * BFCL v3 questions each round; the figures in eval.json are the checker's verdicts on the
 * answers kept in eval-bfcl.jsonl, a variant that adopts round 1 adopts its BFCL answers,
 * `looptool answers --split bfcl` reads them, and `eval bfcl run --model RUN` loads the
 * run's last policy and gives the same answers.
 */

const DATA = bfclDataDir();
const LIMIT = 3;
const CATEGORIES = ['simple', 'irrelevance'] as const;
const CONFIG = {
  ...TINY_LOOP_CONFIG,
  seed: 'bfcl-eval-test',
  loop: { ...TINY_LOOP_CONFIG.loop, rounds: 1, eval: { ...TINY_LOOP_CONFIG.loop.eval, bfcl: { categories: [...CATEGORIES], limit: LIMIT, max_new_tokens: 24 } } },
};

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'looptool-bfcl-eval-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(CONFIG));
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function answers(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...CLI, 'answers', ...args], { env: { ...process.env, NO_COLOR: '1' }, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

type Shown = {
  round: number;
  tally: { all: { n: number; accuracy: { k: number } }; category: Record<string, { n: number; accuracy: { k: number } }> };
  versus?: { paired: { all: { diff: { n: number } } } };
  answers: { id: string; category: string; correct: boolean; miss: string | null; errorType: string | null; expected: unknown }[];
};

test('each round answers BFCL questions as `eval bfcl run --mode fc` would, keeps the answers, and `looptool answers --split bfcl` shows them', { skip: !existsSync(join(DATA, 'BFCL_v3_simple.json')) && 'no BFCL data here' }, async () => {
  const out = join(dir, 'ablate');
  const cli = startCli(['ablate', '--config', join(dir, 'config.json'), '--variants', 'full,no-hppl', '--out', out], { LOOPTOOL_TORCH_THREADS: '1' });
  assert.equal(await cli.exited, 0, cli.output().slice(-3000));
  const run = join(out, 'full');
  // BFCL's questions count as the evaluating stage's progress, by category
  assert.match(cli.output(), /full r1 evaluating 3\/6 \(50%\) [\d.]+s BFCL v3 simple/);
  assert.match(cli.output(), /full r1 evaluating 6\/6 \(100%\) [\d.]+s BFCL v3 irrelevance/);
  const datasets = Object.fromEntries(CATEGORIES.map((c) => [c, loadBfclCategory(DATA, c)]));

  for (const j of [0, 1]) {
    const items = readJsonl(join(run, `round-${j}/eval-bfcl.jsonl`), BfclItemRecord).records;
    assert.deepEqual(
      items.map((i) => [i.category, i.id]),
      CATEGORIES.flatMap((c) => datasets[c]!.order.slice(0, LIMIT).map((id) => [c, id])),
      'the first questions of each category, in order',
    );
    for (const i of items) {
      assert.equal(i.round, j);
      assert.ok(i.tools.length > 0 && i.tools.every((t) => !t.includes('.')), `${i.id}: offered under FC names`);
      assert.equal(i.correct, checkBfclAnswer(datasets[i.category]!, i.id, i.text).valid, `${i.id}: the kept verdict is the checker's on the kept text`);
      assert.equal(i.expected === null, i.category === 'irrelevance');
    }
    const bfcl = RoundEval.parse(JSON.parse(readFileSync(join(run, `round-${j}/eval.json`), 'utf8'))).bfcl!;
    for (const c of CATEGORIES) {
      const mine = items.filter((i) => i.category === c);
      assert.equal(bfcl.categories[c]!.n, mine.length);
      assert.equal(bfcl.categories[c]!.correct, mine.filter((i) => i.correct).length, `${c}: the figure counts the kept verdicts`);
      assert.ok(bfcl.categories[c]!.se !== undefined);
    }
    assert.equal(bfcl.overall, CATEGORIES.reduce((a, c) => a + bfcl.categories[c]!.accuracy, 0) / CATEGORIES.length);
    assert.equal(bfcl.neverCall, 0.5, 'never calling: right on irrelevance, wrong on simple');
  }
  // no-hppl trains on full's D_1 and so adopts its round 1, BFCL answers included
  assert.match(readFileSync(join(out, 'no-hppl/round-1/train.json'), 'utf8'), /"base"/);
  assert.deepEqual(readFileSync(join(out, 'no-hppl/round-1/eval-bfcl.jsonl'), 'utf8'), readFileSync(join(run, 'round-1/eval-bfcl.jsonl'), 'utf8'));
  assert.match(readFileSync(join(run, 'report.md'), 'utf8'), /### BFCL v3[\s\S]*\| round \| overall \| never call \| simple \| irrelevance \|\n\|[-|]+\|\n\| 0 \| [\d.]+ ± [\d.]+ \| 50\.0% \|/);

  const all = answers([run, '--split', 'bfcl', '--show', 'all', '--json']);
  assert.equal(all.code, 0, all.stderr);
  const shown = JSON.parse(all.stdout) as Shown;
  const items = readJsonl(join(run, 'round-1/eval-bfcl.jsonl'), BfclItemRecord).records;
  assert.equal(shown.round, 1);
  assert.deepEqual(
    shown.answers.map((a) => [a.id, a.correct, a.errorType]),
    items.map((i) => [i.id, i.correct, i.errorType]),
  );
  assert.ok(shown.answers.every((a) => (a.miss === null) === a.correct));
  assert.equal(shown.tally.all.n, CATEGORIES.length * LIMIT);
  for (const c of CATEGORIES) assert.equal(shown.tally.category[c]!.accuracy.k, items.filter((i) => i.category === c && i.correct).length);
  // an irrelevance answer is wrong exactly when it calls a function
  for (const a of shown.answers.filter((x) => x.category === 'irrelevance' && !x.correct)) assert.equal(a.miss, 'spurious_call');

  const vs = answers([run, '--split', 'bfcl', '--versus-round', '0', '--json']);
  assert.equal(vs.code, 0, vs.stderr);
  assert.equal((JSON.parse(vs.stdout) as Shown).versus!.paired.all.diff.n, CATEGORIES.length * LIMIT);

  const text = answers([run, '--split', 'bfcl', '--category', 'simple', '--show', 'all']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`round 1, BFCL v3 \\(category simple\\): \\d/${LIMIT} right`));
  assert.match(text.stdout, /scored by the BFCL v3 leaderboard's checker \(FC mode\)/);
  assert.match(text.stdout, /expected\s+│ → \w+\(/);
  for (const i of items.filter((x) => x.category === 'simple' && !x.correct)) assert.match(text.stdout, new RegExp(`checker\\s+│ ${i.errorType!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));

  for (const [args, message] of [
    [['--skill', 'x'], /--split bfcl has categories, not skills or kinds: use --category C/],
    [['--category', 'nope'], /--category "nope" has no answer here \(categories in this split: simple, irrelevance\)/],
    [['--round', '5'], /round 5 has no BFCL answers \(rounds with them: 0, 1\)/],
  ] as const) {
    const bad = answers([run, '--split', 'bfcl', ...args]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, message);
  }
  const simulated = answers([run, '--category', 'simple']);
  assert.match(simulated.stderr, /--category is for --split bfcl/);

  // `eval bfcl run --model RUN` loads the run's last policy and answers as the loop's evaluation did
  const evalOut = join(dir, 'eval-run');
  const ev = spawnSync(process.execPath, [...CLI, 'eval', 'bfcl', 'run', '--model', run, '--mode', 'fc', '--categories', CATEGORIES.join(','), '--limit', String(LIMIT), '--max-tokens', '24', '--out', evalOut], {
    env: { ...process.env, NO_COLOR: '1', LOOPTOOL_TORCH_THREADS: '1' },
    encoding: 'utf8',
  });
  assert.equal(ev.status, 0, ev.stderr);
  assert.match(ev.stderr, /round 1's policy, .*checkpoints\/ckpt-\d+-grpo-r1/);
  const results = new Map(
    CATEGORIES.flatMap((c) =>
      readFileSync(join(evalOut, `BFCL_v3_${c}_result.json`), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { id: string; result: unknown })
        .map((r) => [r.id, r.result] as const),
    ),
  );
  for (const i of items) assert.deepEqual(results.get(i.id), resultFromAnswer('fc', { content: i.text, toolCalls: [] }), `${i.id}: the same answer from eval bfcl run`);
  // --round N: that round's policy (round 0: after the warm-up), whose answers are the loop's round-0 ones
  const r0Out = join(dir, 'eval-r0');
  const r0 = spawnSync(process.execPath, [...CLI, 'eval', 'bfcl', 'run', '--model', run, '--round', '0', '--mode', 'fc', '--categories', CATEGORIES.join(','), '--limit', String(LIMIT), '--max-tokens', '24', '--out', r0Out], {
    env: { ...process.env, NO_COLOR: '1', LOOPTOOL_TORCH_THREADS: '1' },
    encoding: 'utf8',
  });
  assert.equal(r0.status, 0, r0.stderr);
  assert.match(r0.stderr, /round 0's policy, .*checkpoints\/ckpt-\d+-sft/);
  const r0Items = readJsonl(join(run, 'round-0/eval-bfcl.jsonl'), BfclItemRecord).records;
  for (const c of CATEGORIES) {
    const got = new Map(readFileSync(join(r0Out, `BFCL_v3_${c}_result.json`), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string; result: unknown }).map((r) => [r.id, r.result] as const));
    for (const i of r0Items.filter((x) => x.category === c)) assert.deepEqual(got.get(i.id), resultFromAnswer('fc', { content: i.text, toolCalls: [] }), `${i.id}: round 0's answer`);
  }
  for (const [args, message] of [
    [['--model', run, '--round', '5'], /round 5 did not train \(rounds that did: 0, 1\)/],
    [['--model', 'nano', '--round', '1'], /--round 1 picks a round of a loop run, and --model nano is not one/],
  ] as const) {
    const bad = spawnSync(process.execPath, [...CLI, 'eval', 'bfcl', 'run', ...args, '--out', join(dir, 'never')], { encoding: 'utf8' });
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, message);
  }

  // a checkpoint whose base model is gone is refused before anything loads
  const moved = join(dir, 'moved-ckpt');
  const ckpt = /checkpoints\/ckpt-\d+-grpo-r1/.exec(ev.stderr)![0];
  cpSync(join(run, ckpt), moved, { recursive: true });
  const meta = JSON.parse(readFileSync(join(moved, 'meta.json'), 'utf8')) as { spec: { path: string } };
  writeFileSync(join(moved, 'meta.json'), JSON.stringify({ ...meta, spec: { ...meta.spec, path: join(dir, 'no-such-base') } }));
  const refused = spawnSync(process.execPath, [...CLI, 'eval', 'bfcl', 'run', '--model', moved, '--out', join(dir, 'refused')], { encoding: 'utf8' });
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr, /checkpoint .*moved-ckpt cannot be loaded: its base model .*no-such-base is not on this machine/);

  // train starts from a model, not from a run's checkpoint (whose base it would lose track of)
  const train = spawnSync(process.execPath, [...CLI, 'train', join(run, 'round-0/pool.jsonl'), '--model', run], { encoding: 'utf8' });
  assert.equal(train.status, 2, train.stderr);
  assert.match(train.stderr, /is a loop run or a trainer checkpoint: train starts from a preset or a Hugging Face model directory/);

  // a reader that stops early (`| head`) ends the command quietly, not with a stack trace
  const child = spawn(process.execPath, [...CLI, 'answers', run, '--split', 'bfcl', '--show', 'all', '--full'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  const code = await new Promise((r) => child.on('close', r));
  assert.equal(code, 0, stderr);
  assert.equal(stderr, '');
});
