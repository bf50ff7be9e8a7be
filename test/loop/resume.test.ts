import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EvalItemRecord, Manifest, ProbeRecord, VerdictRecord, ExpansionRecord, SampleRecord, RoundEval, Composition, LoopConfig, votesToDecide } from '../../protocols/loop/index.ts';
import { readJsonl } from '../../runtime/corpus.ts';
import { TINY_LOOP_CONFIG } from './tiny.ts';

/*
 * The closed loop end to end with real roles over an embedded NATS server and a real torch
 * worker (sim brains, tiny policy): one uninterrupted reference run, and one run killed with
 * SIGKILL inside every stage in turn (LOOPTOOL_CRASH_AT) and resumed each time with
 * `looptool resume`. The resumed run must end with the same artifacts as the reference.
 */

const ROOT = join(import.meta.dirname, '..', '..');
// with a validation split, so that its pass inside evaluating is killed and resumed too
const CONFIG = { ...TINY_LOOP_CONFIG, seed: 'resume-test', loop: { ...TINY_LOOP_CONFIG.loop, eval: { ...TINY_LOOP_CONFIG.loop.eval, validationSize: 6 } } };
const VOTES = LoopConfig.parse(CONFIG.loop).jglvVotes;

let dir: string;
let configPath: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'looptool-resume-'));
  configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify(CONFIG));
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Exit = { code: number | null; signal: NodeJS.Signals | null; stderr: string };

function looptool(args: string[], env: Record<string, string> = {}): Promise<Exit> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'runtime/cli/main.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', LOOPTOOL_TORCH_THREADS: '1', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

function manifest(run: string): Manifest {
  return Manifest.parse(JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8')));
}

const finished = (run: string, stage: string, round: number) => manifest(run).stages.some((s) => s.stage === stage && s.round === round);

/** Every stage output of a run, with what legitimately differs between runs (times, paths) left out. */
function artifacts(run: string): Record<string, unknown> {
  const volatile = new Set(['seconds', 'tokens_per_s', 'rollout_tokens_per_s', 'checkpoint', 'path', 'finishedAt', 'created', 'updated']);
  const clean = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(clean);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => !volatile.has(k)).map(([k, x]) => [k, clean(x)]));
    return v;
  };
  const out: Record<string, unknown> = {};
  for (const d of readdirSync(run).filter((x) => /^round-\d+$/.test(x)).sort()) {
    for (const f of readdirSync(join(run, d)).sort()) {
      if (f.includes('.partial.') || f === 'dialogues.jsonl' || f === 'rejected.jsonl' || f === 'summary.json') continue;
      const text = readFileSync(join(run, d, f), 'utf8');
      out[`${d}/${f}`] = f.endsWith('.jsonl') ? text.split('\n').filter(Boolean).map((l) => clean(JSON.parse(l))) : clean(JSON.parse(text));
    }
  }
  return out;
}

test('the closed loop runs end to end, and a run SIGKILLed inside every stage resumes to the same artifacts', async (t) => {
  const ref = join(dir, 'reference');
  const r = await looptool(['run', '--config', configPath, '--out', ref]);
  assert.equal(r.code, 0, r.stderr.slice(-3000));
  const m = manifest(ref);
  assert.equal(m.status, 'done');

  await t.test('every stage left its output, consistent with the stage before', () => {
    for (const j of [1, 2]) {
      const data = readJsonl(join(ref, `round-${j}/data.jsonl`), SampleRecord).records;
      assert.ok(data.length > 0 && data.length <= CONFIG.loop.budget);
      const probes = readJsonl(join(ref, `round-${j}/probes.jsonl`), ProbeRecord).records;
      assert.deepEqual(probes.map((p) => p.id), data.map((d) => d.sample.id), 'one probe per sample of D_j, in order');
      const verdicts = readJsonl(join(ref, `round-${j}/verdicts.jsonl`), VerdictRecord).records;
      assert.deepEqual(verdicts.map((v) => v.id), probes.filter((p) => !p.mastered).map((p) => p.id), 'a verdict for every failed sample');
      for (const v of verdicts) assert.ok(v.votes.length >= votesToDecide(VOTES) && v.votes.length <= VOTES, `a majority of ${VOTES} votes (the rest only when needed)`);
      const ex = readJsonl(join(ref, `round-${j}/expansions.jsonl`), ExpansionRecord).records;
      const seeds = verdicts.filter((v) => v.verdict === 'PRED_WRONG').map((v) => v.id);
      assert.equal(ex.length, seeds.length * CONFIG.loop.expansions, 'k slots per PRED_WRONG sample');
      for (const e of ex.filter((x) => x.accepted)) assert.equal(e.sample!.provenance.parent, e.parent);
      const next = readJsonl(join(ref, `round-${j + 1}/data.jsonl`), SampleRecord).records;
      const comp = Composition.parse(JSON.parse(readFileSync(join(ref, `round-${j + 1}/composition.json`), 'utf8')));
      assert.equal(comp.total, next.length);
      const ids = next.map((x) => x.sample.id);
      assert.equal(new Set(ids).size, ids.length, 'no duplicate samples in D_j+1');
      const ev = RoundEval.parse(JSON.parse(readFileSync(join(ref, `round-${j}/eval.json`), 'utf8')));
      assert.ok(ev.test.n > 0);
      assert.equal(ev.validation?.n, 6, 'the validation split, evaluated each round');
      assert.equal(readJsonl(join(ref, `round-${j}/eval-validation.jsonl`), EvalItemRecord).records.filter((i) => i.split === 'validation').length, 6);
      assert.ok(ev.jglv, 'JGLV scores against the truth');
      assert.ok(ev.noise, 'label noise of D_j');
    }
    // fresh probing (loop.probe.fresh, test/loop/fresh-probe.test.ts) is off by default, as in the paper
    assert.ok(!existsSync(join(ref, 'round-1/fresh.jsonl')) && !existsSync(join(ref, 'round-1/fresh-probes.jsonl')));
    assert.equal(Composition.parse(JSON.parse(readFileSync(join(ref, 'round-2/composition.json'), 'utf8'))).fresh, undefined);
    assert.doesNotMatch(readFileSync(join(ref, 'report.md'), 'utf8'), /fresh probed|from fresh probes/);
    assert.ok(existsSync(join(ref, 'report.md')) && existsSync(join(ref, 'accuracy.svg')));
    assert.match(readFileSync(join(ref, 'report.md'), 'utf8'), /JGLV against the hidden truth/);
  });

  await t.test('killed inside each stage, resumed each time: same artifacts as the uninterrupted run', async () => {
    const run = join(dir, 'killed');
    const points: [string, number, number][] = [
      ['seeding', 0, 3],
      ['warmup', 0, 0],
      ['baseline', 0, 1],
      ['training', 1, 0],
      ['probing', 1, 1],
      ['verifying', 1, 1],
      ['expanding', 1, 1],
      ['merging', 1, 0],
      ['evaluating', 1, 1],
      ['validating', 1, 1],
      ['training', 2, 0],
      ['expanding', 2, 2],
    ];
    let first = true;
    for (const [stage, round, items] of points) {
      const args = first ? ['run', '--config', configPath, '--out', run] : ['resume', run];
      first = false;
      const e = await looptool(args, { LOOPTOOL_CRASH_AT: `${stage}@${round}:${items}` });
      assert.equal(e.signal, 'SIGKILL', `expected a kill inside ${stage}@${round}; exit ${e.code}: ${e.stderr.slice(-2000)}`);
      assert.ok(!finished(run, stage, round), `${stage}@${round} must not be recorded as finished`);
    }
    const last = await looptool(['resume', run]);
    assert.equal(last.code, 0, last.stderr.slice(-3000));
    assert.equal(manifest(run).status, 'done');
    const a = artifacts(ref);
    assert.ok(Object.keys(a).length >= 20, `compared ${Object.keys(a).length} files`);
    assert.deepEqual(artifacts(run), a);
  });

  await t.test('a damaged finished stage is refused, then run again with --rerun-damaged; a moved run resumes', async () => {
    const run = join(dir, 'killed');
    const probes = join(run, 'round-1/probes.jsonl');
    const lines = readFileSync(probes, 'utf8').split('\n').filter(Boolean);
    writeFileSync(probes, lines.slice(0, -1).map((l) => `${l}\n`).join(''));
    const refused = await looptool(['resume', run]);
    assert.equal(refused.code, 1, refused.stderr.slice(-2000));
    assert.match(refused.stderr, new RegExp(`round-1/probes\\.jsonl: ${lines.length - 1} records, the manifest recorded ${lines.length} \\(probing@1\\)`));
    // moved: checkpoint paths in train.json and the manifest are relative to the run directory
    const moved = join(dir, 'moved');
    renameSync(run, moved);
    const again = await looptool(['resume', '--rerun-damaged', moved]);
    assert.equal(again.code, 0, again.stderr.slice(-3000));
    assert.match(again.stderr, /running again probing@1, verifying@1/);
    assert.deepEqual(artifacts(moved), artifacts(ref));
  });
});
