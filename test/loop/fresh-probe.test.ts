import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Composition, interleaveEvenly, ProbeRecord, RoundEval, SampleRecord, VerdictRecord } from '../../protocols/loop/index.ts';
import { readJsonl } from '../../runtime/corpus.ts';
import { startCli } from '../helpers/cli.ts';
import { TINY_LOOP_CONFIG } from './tiny.ts';

/*
 * loop.probe.fresh: each round the policy is also probed on seed samples it has never
 * trained on, drawn anew, and those samples are routed as D_j's are. A real run (sim
 * brains, nano policy, embedded NATS); the warm-up trains on a stream of its own, so the
 * seed pool holds untrained samples to draw from.
 */

const FRESH = 4;
const CONFIG = {
  ...TINY_LOOP_CONFIG,
  seed: 'fresh-probe-test',
  loop: {
    ...TINY_LOOP_CONFIG.loop,
    seedDialogues: 40,
    probe: { ...TINY_LOOP_CONFIG.loop.probe, fresh: FRESH },
    warmup: { ...TINY_LOOP_CONFIG.loop.warmup, source: 'stream', dialogues: 8 },
  },
};

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'looptool-fresh-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(CONFIG));
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const samples = (run: string, f: string) => readJsonl(join(run, f), SampleRecord).records;
const ids = (xs: { sample: { id: string } }[]) => xs.map((x) => x.sample.id);

test('fresh probes are untrained seed samples, new each round, verified, and merged as D_j\'s failures are', async () => {
  const out = join(dir, 'ablate');
  const cli = startCli(['ablate', '--config', join(dir, 'config.json'), '--variants', 'full,no-hppl', '--out', out], { LOOPTOOL_TORCH_THREADS: '1' });
  assert.equal(await cli.exited, 0, cli.output().slice(-3000));
  const run = join(out, 'full');
  // a variant that adopts round 1 from its base adopts its fresh probes too
  assert.deepEqual(samples(join(out, 'no-hppl'), 'round-1/fresh.jsonl'), samples(run, 'round-1/fresh.jsonl'));
  const probesOf = (r: string) => readJsonl(join(r, 'round-1/fresh-probes.jsonl'), ProbeRecord).records;
  assert.deepEqual(probesOf(join(out, 'no-hppl')), probesOf(run));

  const pool = new Set(ids(samples(run, 'round-0/pool.jsonl')));
  const seen = new Set<string>();
  let freshFailures = 0;
  let freshPlaced = 0;
  for (const j of [1, 2]) {
    const data = samples(run, `round-${j}/data.jsonl`);
    for (const id of ids(data)) seen.add(id);
    const fresh = samples(run, `round-${j}/fresh.jsonl`);
    assert.equal(fresh.length, FRESH, `round ${j} probes ${FRESH} fresh samples`);
    for (const id of ids(fresh)) {
      assert.ok(pool.has(id), `${id} comes from the seed pool`);
      assert.ok(!seen.has(id), `${id} was neither in D_1..D_${j} nor probed fresh before`);
    }
    for (const id of ids(fresh)) seen.add(id);

    const probes = readJsonl(join(run, `round-${j}/probes.jsonl`), ProbeRecord).records;
    assert.deepEqual(probes.map((p) => p.id), ids(data), 'probes.jsonl stays one probe per sample of D_j');
    const freshProbes = readJsonl(join(run, `round-${j}/fresh-probes.jsonl`), ProbeRecord).records;
    assert.deepEqual(freshProbes.map((p) => p.id), ids(fresh), 'one probe per fresh sample');

    const verdicts = readJsonl(join(run, `round-${j}/verdicts.jsonl`), VerdictRecord).records;
    const failed = interleaveEvenly(probes, freshProbes).filter((p) => !p.mastered).map((p) => p.id);
    assert.deepEqual(verdicts.map((v) => v.id), failed, 'JGLV judges the failed fresh samples among D_j\'s');

    const ev = RoundEval.parse(JSON.parse(readFileSync(join(run, `round-${j}/eval.json`), 'utf8')));
    assert.deepEqual(ev.probe?.fresh, { n: FRESH, mastered: freshProbes.filter((p) => p.mastered).length });
    assert.equal(ev.probe?.n, data.length);

    // what the merge placed from the fresh probes is counted, and is exactly the fresh samples D_j+1 holds
    const next = samples(run, `round-${j + 1}/data.jsonl`);
    const comp = Composition.parse(JSON.parse(readFileSync(join(run, `round-${j + 1}/composition.json`), 'utf8')));
    const freshIds = new Set(ids(fresh));
    const placed = next.filter((x) => freshIds.has(x.sample.id) || (x.part === 'es' && freshIds.has(x.sample.provenance.parent ?? '')));
    assert.equal(comp.fresh, placed.length);
    freshPlaced += placed.length;
    for (const x of placed) assert.notEqual(x.part, 'seed_new', 'a fresh sample enters D_j+1 by its route, not as Seed-new');
    freshFailures += verdicts.filter((v) => freshIds.has(v.id) && (v.verdict === 'PRED_WRONG' || v.verdict === 'LABEL_WRONG')).length;
  }
  assert.ok(freshFailures > 0 && freshPlaced > 0, `some fresh sample became an error seed (${freshFailures}) and was merged (${freshPlaced}), so the assertions above had something to check`);
  assert.match(readFileSync(join(run, 'report.md'), 'utf8'), /fresh probed/);
});
