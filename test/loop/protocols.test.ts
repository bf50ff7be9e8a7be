import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Sample, type Label } from '../../protocols/sample.ts';
import {
  LoopConfig,
  Manifest,
  ProbeRecord,
  VerdictRecord,
  applyVerdict,
  routeRound,
  routeSample,
  byPplDesc,
  contentHash,
  decided,
  initialRound,
  jglvScores,
  labelNoiseRate,
  majorityVerdict,
  mergeRound,
  perplexity,
  perplexityFromSum,
  roundRobinByParent,
  interleaveEvenly,
  seedNewShare,
  staticRound,
  stripReasoning,
  trueVerdict,
  accuracy,
  variantOf,
  VARIANTS,
} from '../../protocols/loop/index.ts';
import { RunConfig } from '../../protocols/config.ts';

const tool = {
  name: 'search_flights',
  description: 'Search flights',
  parameters: { type: 'object' as const, properties: { origin: { type: 'string' as const }, n: { type: 'integer' as const } }, required: ['origin'] },
};

function sample(id: string, origin = id, extra: Partial<Sample> = {}): Sample {
  return Sample.parse({
    id,
    kind: 'single',
    tools: [tool],
    context: [{ role: 'user', content: `flights from ${origin}` }],
    label: { type: 'calls', calls: [{ name: 'search_flights', arguments: { origin } }] },
    provenance: { source: 'seed', round: 0 },
    ...extra,
  });
}
const calls = (origin: string, n?: number): Label => ({
  type: 'calls',
  calls: [{ name: 'search_flights', arguments: n === undefined ? { origin } : { origin, n } }],
});
const text: Label = { type: 'text', text: 'Which city?' };

// ------------------------------------------------------------------ hashes

test('content hash ignores ids, provenance, meta, call ids and key order; sees label and context', () => {
  const a = sample('a', 'Paris');
  const b = sample('b', 'Paris', { provenance: { source: 'expansion', round: 2, parent: 'a' } });
  assert.equal(contentHash(a), contentHash(b));
  const withMeta = { ...a, tools: [{ ...tool, meta: { source: 'synth' } }] };
  assert.equal(contentHash(withMeta), contentHash(a));
  const reordered = { ...a, label: { type: 'calls' as const, calls: [{ id: 'call_9', name: 'search_flights', arguments: { origin: 'Paris' } }] } };
  assert.equal(contentHash(reordered), contentHash(a));
  assert.notEqual(contentHash(sample('c', 'Rome')), contentHash(a));
  assert.notEqual(contentHash({ ...a, label: calls('Paris', 2) }), contentHash(a));
  assert.notEqual(contentHash({ ...a, label: calls('Paris', '2' as unknown as number) }), contentHash({ ...a, label: calls('Paris', 2) }));
});

// ------------------------------------------------------------------ perplexity

test('perplexity is exp of the negative mean log-prob; unknown for empty or non-finite input', () => {
  assert.equal(perplexity([0, 0, 0]), 1);
  assert.ok(Math.abs(perplexity([Math.log(0.5), Math.log(0.5)])! - 2) < 1e-12);
  assert.equal(perplexity([]), null);
  assert.equal(perplexity([Number.NEGATIVE_INFINITY]), null);
  assert.ok(Math.abs(perplexityFromSum(-3 * Math.log(4), 3)! - 4) < 1e-9);
  assert.equal(perplexityFromSum(-1, 0), null);
  const order = byPplDesc([
    { id: 'b', ppl: 1.5 },
    { id: 'a', ppl: 1.5 },
    { id: 'c', ppl: null },
    { id: 'd', ppl: 9 },
  ]).map((x) => x.id);
  assert.deepEqual(order, ['c', 'd', 'a', 'b']);
});

// ------------------------------------------------------------------ JGLV decisions

test('majority verdict: plurality wins, ties go to the conservative verdict, never to a label rewrite', () => {
  assert.equal(majorityVerdict(['LABEL_WRONG', 'LABEL_WRONG', 'PRED_WRONG']).verdict, 'LABEL_WRONG');
  assert.equal(majorityVerdict(['LABEL_WRONG', 'PRED_WRONG']).verdict, 'PRED_WRONG');
  assert.equal(majorityVerdict(['LABEL_WRONG', 'BOTH_WRONG']).verdict, 'BOTH_WRONG');
  assert.equal(majorityVerdict(['BOTH_CORRECT', 'BOTH_WRONG', 'LABEL_WRONG']).verdict, 'BOTH_CORRECT');
  const t = majorityVerdict(['PRED_WRONG', 'PRED_WRONG', 'PRED_WRONG']);
  assert.equal(t.unanimous, true);
  assert.equal(t.counts.PRED_WRONG, 3);
  assert.throws(() => majorityVerdict([]), /no votes/);
  assert.throws(() => majorityVerdict(['MAYBE' as never]));
  assert.equal(decided(['PRED_WRONG', 'PRED_WRONG'], 3), true);
  assert.equal(decided(['PRED_WRONG', 'LABEL_WRONG'], 3), false);
  assert.equal(decided(['PRED_WRONG'], 1), true);
  // a majority can never be overturned by the votes not yet cast
  fc.assert(
    fc.property(fc.array(fc.constantFrom('PRED_WRONG', 'LABEL_WRONG', 'BOTH_CORRECT', 'BOTH_WRONG' as const), { minLength: 1, maxLength: 9 }), fc.nat(4), (votes, extra) => {
      const total = votes.length + extra;
      if (!decided(votes, total)) return;
      const now = majorityVerdict(votes).verdict;
      for (const more of ['PRED_WRONG', 'LABEL_WRONG', 'BOTH_CORRECT', 'BOTH_WRONG'] as const) {
        assert.equal(majorityVerdict([...votes, ...Array(extra).fill(more)]).verdict, now);
      }
    }),
  );
});

test('applying a verdict: LABEL_WRONG rewrites the label with lineage, BOTH_WRONG drops, others keep', () => {
  const s = sample('s1', 'Paris');
  const fixed = applyVerdict(s, 'LABEL_WRONG', calls('Rome'), 2)!;
  assert.deepEqual(fixed.label, calls('Rome'));
  assert.equal(fixed.provenance.source, 'corrected');
  assert.equal(fixed.provenance.parent, 's1');
  assert.notEqual(fixed.id, 's1');
  assert.equal(applyVerdict(s, 'BOTH_WRONG', calls('Rome'), 2), null);
  assert.equal(applyVerdict(s, 'PRED_WRONG', calls('Rome'), 2), s);
  assert.equal(applyVerdict(s, 'BOTH_CORRECT', calls('Rome'), 2), s);
  assert.equal(stripReasoning('<think>hmm</think> Which date?'), 'Which date?');
  assert.equal(stripReasoning('Sure. <think>unfinished'), 'Sure.');
});

test('routing a probed sample: mastered is an HPPL candidate; failed is an error seed (corrected on LABEL_WRONG), a candidate on BOTH_CORRECT, dropped on BOTH_WRONG', () => {
  const s = sample('s1', 'Paris');
  const probe = (mastered: boolean) => ({ id: 's1', mastered, prediction: calls('Rome'), ppl: 1.5 });
  assert.deepEqual(routeSample(s, probe(true), null, 2), { to: 'candidate', sample: s, ppl: 1.5 });
  assert.deepEqual(routeSample(s, probe(false), null, 2), { to: 'error_seed', sample: s, prediction: calls('Rome'), analysis: '' });
  assert.deepEqual(routeSample(s, probe(false), { verdict: 'PRED_WRONG', analysis: 'a' }, 2), { to: 'error_seed', sample: s, prediction: calls('Rome'), analysis: 'a' });
  const fixed = routeSample(s, probe(false), { verdict: 'LABEL_WRONG', analysis: 'b' }, 2);
  assert.ok(fixed.to === 'error_seed');
  assert.deepEqual(fixed.sample, applyVerdict(s, 'LABEL_WRONG', calls('Rome'), 2));
  assert.deepEqual(routeSample(s, probe(false), { verdict: 'BOTH_CORRECT', analysis: '' }, 2), { to: 'candidate', sample: s, ppl: 1.5 });
  assert.deepEqual(routeSample(s, probe(false), { verdict: 'BOTH_WRONG', analysis: '' }, 2), { to: 'drop' });
  // a round keeps probe order; with JGLV on, a failed sample without a verdict is an error
  const a = sample('a', 'Paris');
  const b = sample('b', 'Oslo');
  const byId = new Map([a, b].map((x) => [x.id, x]));
  const probes = [
    { id: 'a', mastered: false, prediction: calls('Rome'), ppl: 2 },
    { id: 'b', mastered: true, prediction: calls('Oslo'), ppl: 3 },
  ];
  const r = routeRound(1, byId, probes, null);
  assert.deepEqual(r.errorSeeds.map((e) => e.sample.id), ['a']);
  assert.deepEqual(r.candidates, [{ sample: b, ppl: 3 }]);
  assert.throws(() => routeRound(1, byId, probes, new Map()), /failed sample a has no verdict/);
});

// ------------------------------------------------------------------ metrics vs truth

test('true verdicts, noise rate and JGLV precision/recall are computed from the labels against the truth', () => {
  const truthParis = { label: calls('Paris'), noisy: false };
  assert.equal(trueVerdict(calls('Paris'), calls('Rome'), truthParis), 'PRED_WRONG');
  assert.equal(trueVerdict(calls('Rome'), calls('Paris'), truthParis), 'LABEL_WRONG');
  assert.equal(trueVerdict(calls('Rome'), calls('Oslo'), truthParis), 'BOTH_WRONG');
  assert.equal(trueVerdict(text, { type: 'text', text: 'which one?' }, { label: text, noisy: false }), 'BOTH_CORRECT');

  const corpus = [
    sample('a', 'Paris', { truth: { label: calls('Paris'), noisy: false } }),
    sample('b', 'Rome', { truth: { label: calls('Paris'), noisy: true } }),
    sample('c', 'Oslo', { truth: { label: calls('Oslo', 2), noisy: true } }),
    sample('d', 'Lima'),
  ];
  assert.deepEqual(labelNoiseRate(corpus), { n: 4, withTruth: 3, noisy: 2, rate: 2 / 3 });
  // a corrected label is no longer noisy, whatever its flag says
  assert.equal(labelNoiseRate([{ ...corpus[1]!, label: calls('Paris') }]).noisy, 0);

  const s = jglvScores(
    [
      { label: calls('Rome'), prediction: calls('Paris'), truth: corpus[1]!.truth, verdict: 'LABEL_WRONG' }, // right rewrite
      { label: calls('Oslo'), prediction: calls('Oslo', 3), truth: corpus[2]!.truth, verdict: 'LABEL_WRONG' }, // wrong rewrite (both wrong)
      { label: calls('Paris'), prediction: calls('Rome'), truth: corpus[0]!.truth, verdict: 'PRED_WRONG' }, // right
      { label: calls('Paris'), prediction: calls('Rome'), truth: corpus[0]!.truth, verdict: 'LABEL_WRONG' }, // harmful rewrite
      { label: calls('Rome'), prediction: calls('Paris'), truth: corpus[1]!.truth, verdict: 'PRED_WRONG' }, // missed
      { label: calls('Rome'), prediction: calls('Paris'), verdict: 'PRED_WRONG' }, // no truth: not counted
    ],
    corpus,
  );
  assert.equal(s.verified, 5);
  assert.equal(s.labelWrongJudged, 3);
  assert.equal(s.corrected, 1);
  assert.equal(s.precision, 1 / 3);
  assert.equal(s.labelWrongTrue, 2);
  assert.equal(s.recall, 1 / 2);
  assert.equal(s.noisyInCorpus, 2);
  assert.equal(s.recallOfCorpus, 1 / 2);
  assert.equal(s.confusion.LABEL_WRONG!.LABEL_WRONG, 1);
  assert.equal(s.confusion.LABEL_WRONG!.PRED_WRONG, 1);
  assert.equal(s.confusion.BOTH_WRONG!.LABEL_WRONG, 1);
  assert.equal(s.confusion.PRED_WRONG!.LABEL_WRONG, 1);
  assert.equal(s.agreement, 2 / 5);
  assert.equal(jglvScores([]).precision, null);
});

test('accuracy by kind keeps the schema order of kinds', () => {
  const a = accuracy([
    { kind: 'parallel', correct: true },
    { kind: 'single', correct: false },
    { kind: 'single', correct: true },
  ]);
  assert.equal(a.accuracy, 2 / 3);
  assert.deepEqual(Object.keys(a.byKind), ['single', 'parallel']);
  assert.deepEqual(a.byKind.single, { n: 2, correct: 1, accuracy: 0.5 });
  assert.equal(accuracy([]).accuracy, 0);
});

// ------------------------------------------------------------------ merge arithmetic

test('seed-new share halves every round after D_2', () => {
  assert.equal(seedNewShare(0.5, 1), 1);
  assert.equal(seedNewShare(0.5, 2), 0.5);
  assert.equal(seedNewShare(0.5, 3), 0.25);
  assert.equal(seedNewShare(0.5, 4), 0.125);
});

test('merge fills the budget in order: seed quota, HPPL reserve, ES, EE round-robin, HPPL by PPL, fill', () => {
  const seeds = Array.from({ length: 6 }, (_, i) => sample(`es${i}`, `E${i}`));
  seeds[0] = { ...seeds[0]!, provenance: { source: 'corrected', round: 1, parent: 'x' } };
  const exps = seeds.flatMap((p, i) =>
    Array.from({ length: 4 }, (_, k) => sample(`ee${i}.${k}`, `X${i}.${k}`, { provenance: { source: 'expansion', round: 1, parent: p.id } })),
  );
  const cands = Array.from({ length: 10 }, (_, i) => ({ sample: sample(`m${i}`, `M${i}`), ppl: 1 + i / 10 }));
  const unused = Array.from({ length: 20 }, (_, i) => sample(`u${i}`, `U${i}`));
  const m = mergeRound({ round: 2, budget: 40, seedNewShare: 0.5, hpplMinShare: 0.2, errorSeeds: seeds, expansions: exps, candidates: cands, unusedSeed: unused, hppl: true, seed: 's' });
  // seed quota 20, HPPL reserve 8, room for errors 12, shared 6:24 → 2 ES + 10 EE; 20 seed-new, 8 HPPL
  assert.deepEqual(m.composition.parts, { seed: 0, es: 2, ee: 10, hppl: 8, seed_new: 20, fill: 0 });
  assert.equal(m.composition.total, 40);
  assert.equal(m.composition.corrected, 1);
  const ee = m.samples.filter((p) => p.part === 'ee').map((p) => p.sample.provenance.parent);
  assert.deepEqual(new Set(ee.slice(0, 6)).size, 6, 'one expansion per error seed before any second one');
  const hppl = m.samples.filter((p) => p.part === 'hppl').map((p) => p.sample.id);
  assert.deepEqual(hppl, ['m9', 'm8', 'm7', 'm6', 'm5', 'm4', 'm3', 'm2']);
  assert.equal(m.used.length, 20);

  // D_3: the seed share halves (10)
  const m3 = mergeRound({ round: 3, budget: 40, seedNewShare: 0.5, hpplMinShare: 0.2, errorSeeds: seeds, expansions: exps, candidates: cands, unusedSeed: unused, hppl: true, seed: 's' });
  assert.equal(m3.composition.parts.seed_new, 10);
  assert.equal(m3.composition.parts.es + m3.composition.parts.ee, 22);

  // without expansions, the error seeds take the whole error room
  const noEe = mergeRound({ round: 2, budget: 40, seedNewShare: 0.5, hpplMinShare: 0.2, errorSeeds: seeds, expansions: [], candidates: cands, unusedSeed: unused, hppl: true, seed: 's' });
  assert.equal(noEe.composition.parts.es, 6);
  assert.deepEqual([noEe.composition.parts.hppl, noEe.composition.parts.fill, noEe.composition.shortfall], [10, 0, 4], 'all 10 candidates; nothing left to fill with');

  // without HPPL the same count is drawn, not the highest-PPL ones
  const r = mergeRound({ round: 2, budget: 40, seedNewShare: 0.5, hpplMinShare: 0.2, errorSeeds: seeds, expansions: exps, candidates: cands, unusedSeed: unused, hppl: false, seed: 's' });
  assert.equal(r.composition.parts.hppl, 8);
  assert.equal(r.composition.hpplRandom, true);
  assert.notDeepEqual(r.samples.filter((p) => p.part === 'hppl').map((p) => p.sample.id), hppl);
});

test('merge removes duplicates by content and records a shortfall instead of hiding it', () => {
  const a = sample('a', 'Paris');
  const dup = sample('b', 'Paris'); // same content as a
  const m = mergeRound({
    round: 2,
    budget: 10,
    seedNewShare: 0.5,
    hpplMinShare: 0,
    errorSeeds: [a],
    expansions: [dup, sample('c', 'Rome', { provenance: { source: 'expansion', round: 1, parent: 'a' } })],
    candidates: [{ sample: sample('d', 'Paris'), ppl: 3 }],
    unusedSeed: [sample('e', 'Oslo')],
    hppl: true,
    seed: 's',
  });
  assert.equal(m.composition.duplicates, 2);
  assert.equal(m.composition.total, 3);
  assert.equal(m.composition.shortfall, 7);
  const ids = m.samples.map((p) => p.sample.id);
  assert.equal(new Set(ids).size, ids.length);
});

test('merge invariants hold for any input sizes (property)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 60 }),
      fc.integer({ min: 0, max: 30 }),
      fc.integer({ min: 0, max: 60 }),
      fc.integer({ min: 0, max: 40 }),
      fc.integer({ min: 0, max: 40 }),
      fc.integer({ min: 2, max: 6 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.boolean(),
      (budget, nEs, nEe, nC, nU, round, share, hppl) => {
        const es = Array.from({ length: nEs }, (_, i) => sample(`es${i}`, `E${i}`));
        const ee = Array.from({ length: nEe }, (_, i) => sample(`ee${i}`, `X${i}`, { provenance: { source: 'expansion', round: 1, parent: `es${i % Math.max(1, nEs)}` } }));
        const c = Array.from({ length: nC }, (_, i) => ({ sample: sample(`c${i}`, `C${i}`), ppl: (i * 7) % 5 }));
        const u = Array.from({ length: nU }, (_, i) => sample(`u${i}`, `U${i}`));
        const m = mergeRound({ round, budget, seedNewShare: share, hpplMinShare: 0.2, errorSeeds: es, expansions: ee, candidates: c, unusedSeed: u, hppl, seed: 'p' });
        const p = m.composition.parts;
        assert.equal(m.samples.length, m.composition.total);
        assert.equal(p.es + p.ee + p.hppl + p.seed_new + p.fill, m.composition.total);
        assert.ok(m.composition.total <= budget);
        assert.equal(m.composition.total, Math.min(budget, nEs + nEe + nC + nU), 'the budget is met whenever the inputs allow');
        assert.ok(p.seed_new <= Math.round(budget * seedNewShare(share, round)));
        assert.equal(m.used.length, p.seed_new + m.samples.filter((x) => x.part === 'fill' && x.sample.id.startsWith('u')).length);
      },
    ),
    { numRuns: 300 },
  );
});

test('D_1 takes the head of the seed pool; the static baseline walks through fresh windows and never wraps', () => {
  const pool = Array.from({ length: 10 }, (_, i) => sample(`p${i}`, `P${i}`));
  const d1 = initialRound(pool, 4);
  assert.deepEqual(d1.samples.map((p) => p.sample.id), ['p0', 'p1', 'p2', 'p3']);
  assert.deepEqual(d1.used, ['p0', 'p1', 'p2', 'p3']);
  assert.deepEqual(staticRound(pool, 4, 1).samples.map((p) => p.sample.id), ['p0', 'p1', 'p2', 'p3']);
  assert.deepEqual(staticRound(pool, 4, 2).samples.map((p) => p.sample.id), ['p4', 'p5', 'p6', 'p7']);
  assert.throws(() => staticRound(pool, 4, 3), /needs 12 fresh seed samples for D_3 .* holds 10/);
  assert.throws(() => staticRound([], 4, 1), /needs 4 fresh seed samples/);
  assert.deepEqual(
    roundRobinByParent([
      sample('x1', 'a', { provenance: { source: 'expansion', round: 1, parent: 'A' } }),
      sample('x2', 'b', { provenance: { source: 'expansion', round: 1, parent: 'A' } }),
      sample('y1', 'c', { provenance: { source: 'expansion', round: 1, parent: 'B' } }),
    ]).map((s) => s.id),
    ['x1', 'y1', 'x2'],
  );
});

test('two lists interleaved evenly keep their shares in every prefix, each in its own order', () => {
  assert.deepEqual(interleaveEvenly(['a0', 'a1', 'a2', 'a3'], ['b0', 'b1']), ['a0', 'b0', 'a1', 'a2', 'b1', 'a3']);
  assert.deepEqual(interleaveEvenly(['a0', 'a1'], ['b0', 'b1']), ['a0', 'b0', 'a1', 'b1']);
  assert.deepEqual(interleaveEvenly(['a0'], []), ['a0']);
  assert.deepEqual(interleaveEvenly([], ['b0', 'b1']), ['b0', 'b1']);
  // property: any prefix of the merge holds each list's items in proportion, give or take one
  for (const [n, m] of [[32, 9], [5, 17], [12, 12], [1, 30]] as const) {
    const a = Array.from({ length: n }, (_, i) => `a${i}`);
    const b = Array.from({ length: m }, (_, i) => `b${i}`);
    const out = interleaveEvenly(a, b);
    assert.deepEqual(out.filter((x) => x.startsWith('a')), a);
    assert.deepEqual(out.filter((x) => x.startsWith('b')), b);
    for (let k = 1; k <= out.length; k++) {
      const fromA = out.slice(0, k).filter((x) => x.startsWith('a')).length;
      assert.ok(Math.abs(fromA - (k * n) / (n + m)) <= 1, `prefix ${k} of ${n}+${m} holds ${fromA} of a`);
    }
  }
});

// ------------------------------------------------------------------ config and records

test('loop config: {} is the embedded default; bad values name the field', () => {
  const c = LoopConfig.parse({});
  assert.equal(c.expansions, 4);
  assert.equal(c.ablations.jglv, true);
  const bad = LoopConfig.safeParse({ budget: 0, ablations: { hppl: 'no' } });
  assert.equal(bad.success, false);
  const paths = bad.error!.issues.map((i) => i.path.join('.'));
  assert.ok(paths.includes('budget'));
  assert.ok(paths.includes('ablations.hppl'));
  assert.equal(variantOf(VARIANTS['no-edde']), 'no-edde');
  assert.equal(variantOf({ jglv: false, edde: false, hppl: true, static: false, randomExpansion: false, balanced: false }), 'custom');
  assert.equal(RunConfig.parse({}).loop.rounds, c.rounds);
});

test('records validate on read and carry their type', () => {
  const p = ProbeRecord.parse({ type: 'probe', round: 1, id: 'a', kind: 'single', mastered: false, prediction: text, text: 'Which city?', ppl: 1.2, tokens: 4 });
  assert.equal(p.mastered, false);
  assert.equal(ProbeRecord.safeParse({ ...p, round: 0 }).success, false);
  assert.equal(VerdictRecord.safeParse({ type: 'verdict', round: 1, id: 'a', verdict: 'NOPE', votes: [], analysis: '', action: 'drop' }).success, false);
  assert.equal(Manifest.safeParse({ version: 1 }).success, false);
});
