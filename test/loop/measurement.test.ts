import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Sample } from '../../protocols/sample.ts';
import { BFCL_OVERALL, seedPairTable, seedRoundsTable, seedSignalTable, seedSkillTable, seedTablesText } from '../../runtime/loop/seed-tables.ts';
import { unfinishedText, type VariantResult } from '../../runtime/loop/ablate.ts';
import { seedsText } from '../../runtime/loop/seed-runs.ts';
import { Rng } from '../../protocols/rng.ts';
import { endsInLoop } from '../../protocols/repetition.ts';
import {
  addSignals,
  detectableEffect,
  detectionCounts,
  evalFigures,
  meanCi,
  mergeRound,
  pairedDiff,
  proportion,
  selectedRound,
  signalByPart,
  stratifiedTake,
  summarizeAblation,
  t80,
  t975,
  VARIANTS,
  variantOf,
  type Outcome,
  type RoundEval,
} from '../../protocols/loop/index.ts';

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) < eps, `${a} is not ${b}`);

// ------------------------------------------------------------------ standard errors and intervals

test('a proportion carries its binomial standard error; n = 0 is 0 ± 0, not NaN', () => {
  const p = proportion(30, 120);
  close(p.value, 0.25);
  close(p.se, Math.sqrt((0.25 * 0.75) / 120));
  assert.deepEqual(proportion(0, 0), { n: 0, k: 0, value: 0, se: 0 });
});

test('95% intervals over seeds use Student t: [1, 2, 3] gives 2 ± 4.303 / √3; one seed gives no interval', () => {
  const c = meanCi([1, 2, 3]);
  close(c.mean, 2);
  close(c.sd!, 1);
  close(c.hi! - c.mean, 4.303 / Math.sqrt(3), 1e-6);
  close(c.mean - c.lo!, 4.303 / Math.sqrt(3), 1e-6);
  const one = meanCi([0.4]);
  assert.equal(one.lo, null);
  assert.equal(one.hi, null);
  assert.equal(t975(4), 2.776);
  assert.equal(t975(200), 1.96);
  assert.throws(() => t975(0), /positive integer/);
});

test('the detectable effect is (t975 + t80) · sd / √n, null without spread to go on, and has the power it claims', () => {
  const c = meanCi([0.01, -0.03, 0.04, 0.0, -0.02]);
  close(detectableEffect(c)!, ((t975(4) + t80(4)) * c.sd!) / Math.sqrt(5));
  assert.equal(detectableEffect(meanCi([0.2])), null);
  close(detectableEffect(meanCi([0.1, 0.1, 0.1]))!, 0); // no spread: any gain shows
  assert.equal(t80(40), 0.842);
  assert.throws(() => t80(0), /positive integer/);
  // simulated experiments of 5 seeds whose true gain is the detectable effect: about 4 in 5 intervals lie above zero
  const r = new Rng('detectable-effect');
  const normal = () => Math.sqrt(-2 * Math.log(1 - r.next())) * Math.cos(2 * Math.PI * r.next());
  const sd = 0.03;
  const effect = ((t975(4) + t80(4)) * sd) / Math.sqrt(5);
  const trials = 20_000;
  let above = 0;
  for (let i = 0; i < trials; i++) if (meanCi(Array.from({ length: 5 }, () => effect + sd * normal())).lo! > 0) above++;
  assert.ok(above / trials > 0.77 && above / trials < 0.83, `power at the detectable effect: ${above / trials}`);
});

test('paired differences are taken seed by seed: a shared seed effect cancels', () => {
  // static varies a lot by seed; the loop is always 5 points above it
  const stat = [0.2, 0.5, 0.35, 0.6, 0.3];
  const loop = stat.map((x) => x + 0.05);
  const d = pairedDiff(loop, stat);
  close(d.mean, 0.05);
  close(d.lo!, 0.05, 1e-9);
  close(d.hi!, 0.05, 1e-9);
  // unpaired, the same numbers would give an interval far wider than the gap
  assert.ok(meanCi(loop).hi! - meanCi(loop).lo! > 0.2);
  assert.throws(() => pairedDiff([1, 2], [1]), /pair them by seed/);
});

test('property: the interval contains the mean and narrows as identical seeds are added', () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 2, maxLength: 12 }), (xs) => {
      const c = meanCi(xs);
      assert.ok(c.lo! <= c.mean + 1e-12 && c.mean <= c.hi! + 1e-12);
      const doubled = meanCi([...xs, ...xs]);
      assert.ok(doubled.hi! - doubled.lo! <= c.hi! - c.lo! + 1e-12);
    }),
    { numRuns: 200 },
  );
});

// ------------------------------------------------------------------ what an accuracy is made of

function outcome(kind: string, expectsCall: boolean, called: boolean, correct: boolean, skill = kind): Outcome {
  return { kind, skill, expectsCall, called, correct };
}

test('an answer cut off in a repetition loop is told from one cut off mid-answer', () => {
  // cut-off answers of SmolLM2 on irrelevant requests, the limit reached mid-word
  assert.ok(endsInLoop(`{"name":"lookup","arguments":{"id":"PARAMETER_${'PARAMETER_'.repeat(20)}PARAMET`));
  assert.ok(endsInLoop(`ING_${'PARKING_'.repeat(20)}PARK`));
  assert.ok(endsInLoop('<tool_call>\n' + '{"name":"a","arguments":{}}\n'.repeat(4)), 'one call again and again');
  // the same three arguments again (65 characters a turn), a multi-step answer of seed 25 cut off in its third turn
  assert.ok(endsInLoop(`{"name":"search_sports_events","arguments":{"city":"Cairo",${'"event_id":"EV-22103","home_team":"Eagles","away_team":"Red Sox",'.repeat(2)}"event_id":"EV-22103`));
  // a parallel answer cut off in its fifth call: the calls differ, so no loop
  const calls = ['POL-88341', 'POL-97101', 'POL-10293', 'POL-55120', 'POL-6'].map((p) => `<tool_call>\n{"name":"file_claim","arguments":{"policy_id":"${p}","amount":800}}\n</tool_call>\n`);
  assert.ok(!endsInLoop(calls.join('').slice(0, -30)));
  assert.ok(!endsInLoop('x'.repeat(47)), 'too short to call a loop');
  assert.ok(endsInLoop('x'.repeat(48)));
  assert.ok(!endsInLoop(`${'ab'.repeat(40)} and then the answer goes on in words that do not repeat`), 'a repeat that ended is no loop');
  assert.ok(!endsInLoop(''));
});

test('figures split ToolMatch into call decision and exact call, beside the never-call and always-call policies', () => {
  const rows = [
    // 6 call samples: 2 exact, 2 called wrongly, 2 answered in text
    outcome('single', true, true, true),
    outcome('single', true, true, true),
    outcome('single', true, true, false),
    outcome('parallel', true, true, false),
    outcome('parallel', true, false, false),
    outcome('single', true, false, false),
    // 4 text samples: 3 answered in text, 1 called
    outcome('clarify', false, false, true),
    outcome('clarify', false, false, true),
    outcome('irrelevant', false, false, true),
    outcome('irrelevant', false, true, false),
  ];
  const f = evalFigures(rows);
  assert.equal(f.n, 10);
  close(f.toolMatch.value, 5 / 10);
  close(f.callDecision.value, (4 + 3) / 10);
  assert.equal(f.exactCall.n, 6);
  close(f.exactCall.value, 2 / 6);
  close(f.neverCall.value, 4 / 10);
  close(f.alwaysCall.value, 6 / 10);
  assert.deepEqual(Object.keys(f.byKind), ['single', 'parallel', 'clarify', 'irrelevant']);
  close(f.byKind.single!.exactCall.value, 2 / 4);
  assert.equal(f.byKind.clarify!.exactCall.n, 0);
  close(f.byKind.irrelevant!.toolMatch.value, 0.5);
  // a policy that never calls scores exactly the never-call baseline, whatever the mix
  const never = evalFigures(rows.map((r) => ({ ...r, called: false, correct: !r.expectsCall })));
  close(never.toolMatch.value, never.neverCall.value);
  close(never.exactCall.value, 0);
});

test('figures by skill follow the given order, unknown skills after it, sorted', () => {
  const rows = [outcome('single', true, true, true, 'zeta'), outcome('single', true, true, true, 'number_words'), outcome('single', true, true, true, 'alpha'), outcome('single', true, true, true, 'copy_identifier')];
  assert.deepEqual(Object.keys(evalFigures(rows, ['copy_identifier', 'number_words']).bySkill), ['copy_identifier', 'number_words', 'alpha', 'zeta']);
});

// ------------------------------------------------------------------ the stratified test split

test('the stratified split takes the strata in turn: uniform while every stratum has items, the rest filled from the others', () => {
  const items = [
    ...Array.from({ length: 50 }, (_, i) => ({ id: `a${i}`, s: 'common' })),
    ...Array.from({ length: 20 }, (_, i) => ({ id: `b${i}`, s: 'mid' })),
    ...Array.from({ length: 3 }, (_, i) => ({ id: `c${i}`, s: 'rare' })),
  ];
  const split = stratifiedTake(items, 30, (x) => x.s, 'seed');
  const count = (s: string) => split.filter((x) => x.s === s).length;
  assert.equal(split.length, 30);
  assert.equal(count('rare'), 3);
  // strata in name order: the 30th item is the common stratum's turn
  assert.equal(count('common'), 14);
  assert.equal(count('mid'), 13);
  assert.equal(new Set(split.map((x) => x.id)).size, 30, 'no item twice');
  assert.deepEqual(stratifiedTake(items, 30, (x) => x.s, 'seed'), split, 'the same seed gives the same split');
  assert.notDeepEqual(stratifiedTake(items, 30, (x) => x.s, 'other').map((x) => x.id), split.map((x) => x.id));
  assert.equal(stratifiedTake(items, 500, (x) => x.s, 'seed').length, items.length, 'asking for more than there is gives everything');
  const even = stratifiedTake(items, 9, (x) => x.s, 'seed');
  assert.deepEqual(['common', 'mid', 'rare'].map((s) => even.filter((x) => x.s === s).length), [3, 3, 3]);
});

// ------------------------------------------------------------------ the ablation over seeds

function evalAt(round: number, accuracy: number, neverCall = 0.3): RoundEval {
  const n = 1000;
  const k = Math.round(accuracy * n);
  const f = evalFigures([
    ...Array.from({ length: k }, () => outcome('single', true, true, true)),
    ...Array.from({ length: n - k }, () => outcome('single', true, false, false)),
  ]);
  return { type: 'eval', round, test: { n, correct: k, accuracy: k / n, byKind: {} }, figures: { ...f, neverCall: proportion(Math.round(neverCall * n), n) } };
}

test('the ablation summary pairs every variant with static seed by seed and keeps the raw per-seed figures', () => {
  const seeds = ['s-1', 's-2', 's-3'];
  const runs = new Map([
    ['full', new Map(seeds.map((s, i) => [s, [evalAt(0, 0.1), evalAt(2, 0.4 + i * 0.1)]]))],
    ['static', new Map(seeds.map((s, i) => [s, [evalAt(0, 0.1), evalAt(2, 0.3 + i * 0.1)]]))],
    // no-hppl finished on two seeds only
    ['no-hppl', new Map(seeds.slice(0, 2).map((s, i) => [s, [evalAt(2, 0.35 + i * 0.1)]]))],
  ]);
  const sum = summarizeAblation(seeds, runs);
  assert.equal(sum.reference, 'static');
  const full = sum.variants.find((v) => v.variant === 'full')!;
  close(full.accuracy.mean, 0.5);
  close(full.vsReference!.mean, 0.1);
  close(full.vsReference!.lo!, 0.1, 1e-9);
  close(full.detectable!, 0); // the same gain on every seed: detectable at any size
  // every answer here is a single call, so exact calls move with ToolMatch: +10 points on each seed
  close(full.exactCallVsReference!.mean, 0.1);
  close(full.exactCallVsReference!.lo!, 0.1, 1e-9);
  // over the never-call floor of 30 %: +10, +20 and +30 points
  close(full.vsNeverCall!.mean, 0.2);
  assert.equal(full.vsNeverCall!.n, 3);
  close(sum.variants.find((v) => v.variant === 'static')!.vsNeverCall!.mean, 0.1);
  assert.equal(sum.variants.find((v) => v.variant === 'static')!.exactCallVsReference, null, 'the reference is not paired with itself');
  assert.match(seedsText(sum), /^final − never-call, points, paired over seeds: full \+20\.0 ± 24\.8 \[-4\.8, 44\.8\], static \+10\.0 ± 24\.8 \[-14\.8, 34\.8\], no-hppl \+10\.0 ± 63\.5 \[-53\.5, 73\.5\]$/m);
  assert.match(seedsText(sum), /^exact calls Δ vs static, points, paired over seeds: full \+10\.0 ± 0\.0 \[10\.0, 10\.0\], no-hppl \+5\.0 ± 0\.0 \[5\.0, 5\.0\]$/m);
  assert.deepEqual(full.perSeed.map((p) => p.seed), seeds);
  assert.equal(full.perSeed[0]!.round, 2, 'the last evaluated round counts');
  close(full.perSeed[0]!.start!.accuracy, 0.1);
  close(full.perSeed[0]!.start!.exactCall!, 0.1);
  assert.equal(full.cutOff, null, 'no round counted its cut-off answers: no figure, not zero');
  // the last round's cut-off share, as evaluating counts it: 2 %, 4 % and 6 % on the three seeds
  // of them, a quarter cut off in a repetition loop
  const cut = (e: RoundEval, k: number): RoundEval => ({ ...e, cutOff: proportion(k, e.test.n), cutOffLooping: proportion(k / 4, e.test.n) });
  const withCuts = summarizeAblation(seeds, new Map([['full', new Map(seeds.map((s, i) => [s, [cut(evalAt(0, 0.1), 500), cut(evalAt(2, 0.5), 20 * (i + 1))]]))]]));
  const cutCi = withCuts.variants[0]!.cutOff!;
  close(cutCi.mean, 0.04);
  assert.deepEqual(withCuts.variants[0]!.perSeed.map((p) => p.cutOff), [0.02, 0.04, 0.06]);
  assert.deepEqual(withCuts.variants[0]!.perSeed.map((p) => p.cutOffLooping), [0.005, 0.01, 0.015]);
  close(withCuts.variants[0]!.cutOffLooping!.mean, 0.01);
  assert.equal(full.cutOffLooping, null);
  assert.match(seedsText(withCuts), /^variant .*call decision %\s+cut off %/m);
  assert.match(seedsText(withCuts), /^full .* 4\.0 ± \d\.\d /m);
  assert.match(seedsText(withCuts), /^cut off in a repetition loop \(wrong at any length; counted in "cut off %"\), %: full 1\.0 ± \d\.\d/m);
  assert.doesNotMatch(seedsText(sum), /repetition loop/, 'runs that did not count loops get no line');
  // pooled with a run evaluated before loops were counted: the mean says over how many seeds it is
  const mixed = summarizeAblation(seeds, new Map([['full', new Map(seeds.map((s, i) => [s, [evalAt(0, 0.1), i === 0 ? { ...evalAt(2, 0.5), cutOff: proportion(20, 1000) } : cut(evalAt(2, 0.5), 20 * (i + 1))]]))]]));
  assert.match(seedsText(mixed), /repetition loop .*: full 1\.3 ± \d+\.\d \(2 of 3 seeds\)$/m);
  const noHppl = sum.variants.find((v) => v.variant === 'no-hppl')!;
  assert.equal(noHppl.seeds, 2);
  assert.equal(noHppl.vsReference!.n, 2, 'paired over the seeds both finished');
  assert.equal(noHppl.perSeed[0]!.start, null, 'no round 0 evaluated: no starting policy');
  close(noHppl.vsReference!.mean, 0.05);
  close(noHppl.detectable!, detectableEffect(noHppl.vsReference!)!);
  assert.match(seedsText(sum), /smallest Δ vs static these seeds would show above zero 4 times in 5 \(power 0\.8\): full 0\.0, no-hppl \d+\.\d points/);
  assert.equal(sum.variants.find((v) => v.variant === 'static')!.vsReference, null);
  assert.equal(sum.variants.find((v) => v.variant === 'static')!.detectable, null);
  close(sum.neverCall!.mean, 0.3);
});

test('the gap to static splits into what was won on call labels and on text labels, seed by seed, adding up to the gap', () => {
  // a test split of 100: 70 call labels, 30 text labels (clarify, irrelevant)
  const mixed = (round: number, callsRight: number, textRight: number): RoundEval => {
    const f = evalFigures([
      ...Array.from({ length: 70 }, (_, i) => outcome('single', true, true, i < callsRight)),
      ...Array.from({ length: 30 }, (_, i) => outcome('irrelevance', false, i >= textRight, i < textRight)),
    ]);
    const k = callsRight + textRight;
    return { type: 'eval', round, test: { n: 100, correct: k, accuracy: k / 100, byKind: {} }, figures: f };
  };
  const seeds = ['s-1', 's-2', 's-3'];
  // full wins 7, 14, 0 calls and loses 3, wins 6, 9 text answers: +4, +20, +9 points
  const sum = summarizeAblation(
    seeds,
    new Map([
      ['full', new Map([['s-1', [mixed(2, 42, 10)]], ['s-2', [mixed(2, 49, 20)]], ['s-3', [mixed(2, 35, 20)]]])],
      ['static', new Map([['s-1', [mixed(2, 35, 13)]], ['s-2', [mixed(2, 35, 14)]], ['s-3', [mixed(2, 35, 11)]]])],
    ]),
  );
  const full = sum.variants.find((v) => v.variant === 'full')!;
  assert.deepEqual(full.perSeed.map((f) => f.callShare), [0.7, 0.7, 0.7]);
  close(full.vsReference!.mean, 0.11);
  close(full.vsReferenceByPart!.calls.mean, 0.07);
  close(full.vsReferenceByPart!.noCalls.mean, 0.04);
  close(full.vsReferenceByPart!.calls.mean + full.vsReferenceByPart!.noCalls.mean, full.vsReference!.mean);
  // exact calls are a share of the call labels: 10 and 20 points there are 7 and 14 of the split
  close(full.exactCallVsReference!.mean, 0.1);
  assert.equal(sum.variants.find((v) => v.variant === 'static')!.vsReferenceByPart, null);
  assert.match(seedsText(sum), /^Δ vs static split by label \(points of the whole split, paired over seeds\): full on calls \+7\.0 ± 17\.4 \[-10\.4, 24\.4\], on text \+4\.0 ± 15\.5 \[-11\.5, 19\.5\]$/m);
  // an evaluation from before the figures were kept has no call share: its seed is left out of the split, not counted as zero
  const bare = (e: RoundEval): RoundEval => ({ type: 'eval', round: e.round, test: e.test });
  const older = summarizeAblation(
    [...seeds, 's-4'],
    new Map([
      ['full', new Map([['s-1', [mixed(2, 42, 10)]], ['s-2', [mixed(2, 49, 20)]], ['s-3', [mixed(2, 35, 20)]], ['s-4', [bare(mixed(2, 35, 20))]]])],
      ['static', new Map([['s-1', [mixed(2, 35, 13)]], ['s-2', [mixed(2, 35, 14)]], ['s-3', [mixed(2, 35, 11)]], ['s-4', [bare(mixed(2, 35, 11))]]])],
    ]),
  ).variants.find((v) => v.variant === 'full')!;
  assert.equal(older.vsReference!.n, 4);
  assert.equal(older.perSeed[3]!.callShare, null);
  assert.equal(older.vsReferenceByPart!.calls.n, 3);
  close(older.vsReferenceByPart!.noCalls.mean, 0.04);
});

test('the per-seed table gives each seed\'s gap and its split by label as the summary pairs them, "–" where a figure is missing', () => {
  const mixed = (callsRight: number, textRight: number, cutOff = 0): RoundEval => {
    const f = evalFigures([
      ...Array.from({ length: 70 }, (_, i) => outcome('single', true, true, i < callsRight)),
      ...Array.from({ length: 30 }, (_, i) => outcome('irrelevance', false, i >= textRight, i < textRight)),
    ]);
    const k = callsRight + textRight;
    return { type: 'eval', round: 2, test: { n: 100, correct: k, accuracy: k / 100, byKind: {} }, figures: f, cutOff: proportion(cutOff, 100), cutOffLooping: proportion(cutOff / 2, 100) };
  };
  const bare = (e: RoundEval): RoundEval => ({ type: 'eval', round: e.round, test: e.test });
  // D_1 and D_2 of 32 samples, with `noCall` of them labelled with text
  const trained = (round: number, noCall?: number) => ({
    round,
    budget: 32,
    total: 32,
    seedNewShare: 1,
    parts: { seed: 32, es: 0, ee: 0, hppl: 0, seed_new: 0, fill: 0 },
    corrected: 0,
    available: { es: 0, ee: 0, candidates: 0, unusedSeed: 0 },
    duplicates: 0,
    shortfall: 0,
    hpplRandom: false,
    ...(noCall === undefined ? {} : { noCall }),
  });
  const rounds = (last: RoundEval, d1?: number, d2?: number): RoundEval[] => [{ ...last, round: 1, composition: trained(1, d1) }, { ...last, composition: trained(2, d2) }];
  const sum = summarizeAblation(
    ['s-1', 's-2', 's-3'],
    new Map([
      ['full', new Map([['s-1', rounds(mixed(42, 10), 8, 2)], ['s-2', [mixed(49, 20, 4)]], ['s-3', [bare(mixed(35, 20))]]])],
      ['static', new Map([['s-1', rounds(mixed(35, 13), 8, 9)], ['s-2', [mixed(35, 14)]], ['s-3', [bare(mixed(35, 11))]]])],
    ]),
  );
  const lines = seedPairTable(sum, ['full', 'static']).split('\n');
  assert.match(lines[0]!, /^seed\s+start\s+full\s+static\s+never call\s+full − static\s+on calls\s+on text\s+exact call full \/ static\s+cut off \(in loops\) full \/ static\s+no-call labels in D_1… full \/ static$/);
  // s-1: 52 against 48, +7 on the 70 call labels (42 against 35 right), −3 on text; exact calls 42/70 and 35/70;
  // D_1 held 8 text labels of 32 for both (25 %), D_2 2 for full (6 %) and 9 for static (28 %)
  assert.match(lines[1]!, /^s-1\s+–\s+52\.0\s+48\.0\s+30\.0\s+\+4\.0\s+\+7\.0\s+-3\.0\s+60\.0 \/ 50\.0\s+0\.0 \(0\.0\) \/ 0\.0 \(0\.0\)\s+25 6 \/ 25 28$/);
  // a round without a recorded composition has no count
  assert.match(lines[2]!, /^s-2\s+–\s+69\.0\s+49\.0\s+30\.0\s+\+20\.0\s+\+14\.0\s+\+6\.0\s+70\.0 \/ 50\.0\s+4\.0 \(2\.0\) \/ 0\.0 \(0\.0\)\s+– \/ –$/);
  // an evaluation without figures: its gap is known, its split and exact calls are not
  assert.match(lines[3]!, /^s-3\s+–\s+55\.0\s+46\.0\s+–\s+\+9\.0\s+–\s+–\s+– \/ –\s+– \/ –\s+– \/ –$/);
  // a composition written before D_j's no-call labels were counted: the round is there, its share is not
  const older = summarizeAblation(['s-1'], new Map([['full', new Map([['s-1', rounds(mixed(42, 10), undefined, 3)]])]]));
  assert.deepEqual(older.variants[0]!.perSeed[0]!.noCallShares, [null, 3 / 32]);
  const full = sum.variants.find((v) => v.variant === 'full')!;
  close(full.vsReferenceByPart!.calls.mean, (0.07 + 0.14) / 2);
  assert.equal(seedPairTable(sum, ['full', 'no-hppl']), '–', 'a variant that did not run gives no table');
});

test('the validation split chooses the round of its highest figure, the earliest on a tie, round 0 included; the summary pairs each variant\'s chosen round with the reference\'s', () => {
  const v = (e: RoundEval, accuracy: number): RoundEval => ({ ...e, validation: { n: 100, correct: Math.round(100 * accuracy), accuracy, byKind: {} } });
  assert.equal(selectedRound([evalAt(0, 0.1), evalAt(1, 0.2)]), null, 'no validation split, no choice');
  assert.deepEqual(selectedRound([v(evalAt(2, 0.4), 0.5), v(evalAt(0, 0.1), 0.2), v(evalAt(1, 0.3), 0.5)]), { round: 1, validation: 0.5, accuracy: 0.3 });
  assert.deepEqual(selectedRound([v(evalAt(0, 0.25), 0.6), v(evalAt(1, 0.3), 0.4)]), { round: 0, validation: 0.6, accuracy: 0.25 }, 'no round helped');
  const seeds = ['s-1', 's-2'];
  const sum = summarizeAblation(
    seeds,
    new Map([
      // full peaks on validation at round 1 (test 0.5) and ends lower; static's best is its last round
      ['full', new Map(seeds.map((s) => [s, [v(evalAt(0, 0.1), 0.1), v(evalAt(1, 0.5), 0.6), v(evalAt(2, 0.3), 0.4)]]))],
      ['static', new Map(seeds.map((s, i) => [s, [v(evalAt(0, 0.1), 0.1), v(evalAt(1, 0.3), 0.3), v(evalAt(2, 0.4 + 0.02 * i), 0.45)]]))],
    ]),
  );
  const full = sum.variants.find((x) => x.variant === 'full')!;
  close(full.vsReference!.mean, -0.11, 1e-9);
  close(full.selected!.mean, 0.5);
  close(full.selectedVsReference!.mean, 0.09, 1e-9);
  assert.deepEqual(full.perSeed.map((p) => p.selected?.round), [1, 1]);
  assert.equal(sum.variants.find((x) => x.variant === 'static')!.selectedVsReference, null);
  assert.match(seedsText(sum), /^ {2}full: 50\.0 ± 0\.0 \(rounds chosen: 1, 1\); Δ vs static \+9\.0 ± \d+\.\d \[-?\d+\.\d, \d+\.\d\]$/m);
  assert.doesNotMatch(seedsText(summarizeAblation(seeds, new Map([['full', new Map(seeds.map((s) => [s, [evalAt(1, 0.5)]]))]]))), /validation split chose/);
});

test('BFCL over seeds: each variant\'s last-round overall, paired with the reference seed by seed, per round beside never calling; absent without loop.eval.bfcl', () => {
  const b = (e: RoundEval, overall: number): RoundEval => ({ ...e, bfcl: { overall, overallSe: 0.01, neverCall: 0.2, categories: {} } });
  const seeds = ['s-1', 's-2', 's-3'];
  const runs = new Map([
    ['full', new Map(seeds.map((s, i) => [s, [b(evalAt(0, 0.1), 0.3), b(evalAt(1, 0.4), 0.35 + 0.01 * i)]]))],
    ['static', new Map(seeds.map((s, i) => [s, [b(evalAt(0, 0.1), 0.3), b(evalAt(1, 0.4), 0.3 + 0.02 * i)]]))],
  ]);
  const sum = summarizeAblation(seeds, runs);
  const full = sum.variants.find((x) => x.variant === 'full')!;
  assert.deepEqual(full.perSeed.map((f) => [f.bfcl, f.bfclNeverCall]), [[0.35, 0.2], [0.36, 0.2], [0.37, 0.2]]);
  close(full.bfcl!.mean, 0.36);
  close(full.bfclVsReference!.mean, 0.04, 1e-9);
  assert.ok(full.bfclVsReference!.lo! < 0.04 && full.bfclVsReference!.hi! > 0.04, 'the gaps differ by seed: an interval');
  assert.equal(sum.variants.find((x) => x.variant === 'static')!.bfclVsReference, null);
  assert.match(seedsText(sum), /^BFCL v3 overall at the last round, % \(loop\.eval\.bfcl; never calling scores 20\.0\): full 36\.0 ± \d+\.\d, static 32\.0 ± \d+\.\d$/m);
  assert.match(seedsText(sum), /^BFCL Δ vs static, points, paired over seeds: full \+4\.0 ± \d+\.\d \[/m);
  const table = seedRoundsTable([{ name: 'full', bySeed: runs.get('full')! }, { name: 'static', bySeed: runs.get('static')! }], BFCL_OVERALL).split('\n');
  assert.match(table[0]!, /^round\s+full\s+static\s+full − static\s+never call$/);
  assert.match(table[1]!, /^0\s+30\.0 ± 0\.0\s+30\.0 ± 0\.0\s+0\.0 ± 0\.0\s+20\.0 ± 0\.0$/);
  assert.match(table[2]!, /^1\s+36\.0 ± \d+\.\d\s+32\.0 ± \d+\.\d\s+\+4\.0 ± \d+\.\d\s+20\.0 ± 0\.0$/);
  const tables = seedTablesText(sum, [{ name: 'full', bySeed: runs.get('full')! }, { name: 'static', bySeed: runs.get('static')! }]).join('\n');
  assert.ok(tables.includes(`BFCL v3 per round, mean % over seeds (loop.eval.bfcl: the leaderboard checker, the unweighted mean over its categories), full − static paired:\n${table.join('\n')}`), tables);
  const none = summarizeAblation(seeds, new Map([['full', new Map(seeds.map((s) => [s, [evalAt(1, 0.5)]]))]]));
  assert.doesNotMatch(seedTablesText(none, [{ name: 'full', bySeed: new Map(seeds.map((s) => [s, [evalAt(1, 0.5)]])) }]).join('\n'), /BFCL/);
  assert.equal(none.variants[0]!.bfcl, null);
  assert.doesNotMatch(seedsText(none), /BFCL/);
});

function withJglv(e: RoundEval, confusion: Record<string, Record<string, number>>): RoundEval {
  const verified = Object.values(confusion).reduce((a, row) => a + Object.values(row).reduce((x, y) => x + y, 0), 0);
  const jglv = { verified, agreement: null, labelWrongTrue: 0, labelWrongJudged: 0, corrected: 0, precision: null, recall: null, noisyInCorpus: 0, recallOfCorpus: null, detectionPrecision: null, detectionRecall: null, confusion };
  return { ...e, jglv };
}

test('JGLV detection is pooled over seeds and rounds from the confusion counts, with a binomial standard error', () => {
  // [truth][judged]: a label is wrong when the truth is LABEL_WRONG or BOTH_WRONG; flagged when judged so
  const r1 = { LABEL_WRONG: { LABEL_WRONG: 2 }, PRED_WRONG: { BOTH_WRONG: 1, PRED_WRONG: 7 }, BOTH_WRONG: { PRED_WRONG: 1 } };
  assert.deepEqual(detectionCounts(r1), { flagged: 3, flaggedWrong: 2, wrongLabels: 3 });
  const seeds = ['s-1', 's-2'];
  const full = new Map([
    ['s-1', [evalAt(0, 0.1), withJglv(evalAt(1, 0.2), r1), withJglv(evalAt(2, 0.2), { LABEL_WRONG: { LABEL_WRONG: 1 } })]],
    ['s-2', [evalAt(0, 0.1), withJglv(evalAt(1, 0.2), { BOTH_WRONG: { BOTH_WRONG: 1 } }), withJglv(evalAt(2, 0.2), {})]],
  ]);
  const stat = new Map(seeds.map((s) => [s, [evalAt(0, 0.1), evalAt(2, 0.2)]]));
  const sum = summarizeAblation(seeds, new Map([['full', full], ['static', stat]]));
  const f = sum.variants.find((v) => v.variant === 'full')!;
  assert.deepEqual(f.perSeed.map((p) => p.detection), [
    { flagged: 4, flaggedWrong: 3, wrongLabels: 4 },
    { flagged: 1, flaggedWrong: 1, wrongLabels: 1 },
  ]);
  assert.equal(f.pooledDetection!.precision.k, 4);
  assert.equal(f.pooledDetection!.precision.n, 5);
  close(f.pooledDetection!.precision.se, Math.sqrt((0.8 * 0.2) / 5));
  close(f.pooledDetection!.recall.value, 0.8);
  assert.equal(sum.variants.find((v) => v.variant === 'static')!.pooledDetection, null, 'no verifying, no detection');
  assert.match(seedsText(sum), /full: precision 80\.0 ± 17\.9 % \(4\/5\), recall 80\.0 ± 17\.9 % \(4\/5\)/);
  assert.doesNotMatch(seedsText(sum), /static: precision/);
});

test('random-expansion is a named variant that differs from full only in what EDDE expands', () => {
  assert.equal(variantOf(VARIANTS['random-expansion']), 'random-expansion');
  const { randomExpansion, ...rest } = VARIANTS['random-expansion'];
  const { randomExpansion: fullRandom, ...fullRest } = VARIANTS.full;
  assert.equal(randomExpansion, true);
  assert.equal(fullRandom, false);
  assert.deepEqual(rest, fullRest);
  assert.equal(variantOf({ ...VARIANTS['random-expansion'], jglv: false }), 'custom');
});

// ------------------------------------------------------------------ the merge's new rules

const tool = { name: 'lookup', description: 'Look up', parameters: { type: 'object' as const, properties: { q: { type: 'string' as const } }, required: ['q'] } };
function sample(id: string, label: 'call' | 'text'): Sample {
  return Sample.parse({
    id,
    kind: label === 'call' ? 'single' : 'clarify',
    tools: [tool],
    context: [{ role: 'user', content: `request ${id}` }],
    label: label === 'call' ? { type: 'calls', calls: [{ name: 'lookup', arguments: { q: id } }] } : { type: 'text', text: `Which ${id}?` },
    provenance: { source: 'seed', round: 0 },
  });
}

test('HPPL ranks only mastered samples whose label is a call; free-text ones only fill what is left', () => {
  // text answers have the highest perplexity: ranked with the calls they would take every HPPL slot
  const cands = [
    ...Array.from({ length: 6 }, (_, i) => ({ sample: sample(`t${i}`, 'text'), ppl: 9 + i })),
    ...Array.from({ length: 6 }, (_, i) => ({ sample: sample(`c${i}`, 'call'), ppl: 1 + i })),
  ];
  const base = { round: 2, budget: 4, seedNewShare: 0, hpplMinShare: 1, errorSeeds: [], expansions: [], candidates: cands, unusedSeed: [], hppl: true, seed: 's' };
  const m = mergeRound(base);
  assert.deepEqual(m.samples.map((p) => `${p.part}:${p.sample.id}`), ['hppl:c5', 'hppl:c4', 'hppl:c3', 'hppl:c2']);
  const all = mergeRound({ ...base, hpplOver: 'all' });
  assert.deepEqual(all.samples.map((p) => p.sample.id), ['t5', 't4', 't3', 't2']);
  // with more room than call candidates, text ones come in as fill, after every call
  const roomy = mergeRound({ ...base, budget: 8 });
  assert.deepEqual(roomy.samples.map((p) => p.part), ['hppl', 'hppl', 'hppl', 'hppl', 'hppl', 'hppl', 'fill', 'fill']);
  assert.ok(roomy.samples.slice(6).every((p) => p.sample.label.type === 'text'));
});

test('balanced is a named variant that differs from full only in how the merge mixes call and no-call labels', () => {
  assert.equal(variantOf(VARIANTS.balanced), 'balanced');
  const { balanced, ...rest } = VARIANTS.balanced;
  const { balanced: fullBalanced, ...fullRest } = VARIANTS.full;
  assert.equal(balanced, true);
  assert.equal(fullBalanced, false);
  assert.deepEqual(rest, fullRest);
  assert.equal(variantOf({ ...VARIANTS.balanced, hppl: false }), 'custom');
  assert.equal(variantOf({ ...VARIANTS.balanced, randomExpansion: true }), 'custom');
});

test('the balanced merge keeps the seed pool\'s share of no-call labels: the side the policy misses cannot crowd out the other', () => {
  // seed 21's round 4: most error seeds and expansions are text-labelled
  const errorSeeds = [...['a', 'b', 'c', 'd'].map((x) => sample(`es-t${x}`, 'text')), sample('es-c1', 'call'), sample('es-c2', 'call')];
  const expansions = errorSeeds.map((e) => ({ ...sample(`ee-${e.id}`, e.label.type === 'calls' ? 'call' : 'text'), provenance: { source: 'expansion' as const, round: 1, parent: e.id } }));
  const unusedSeed = [...Array.from({ length: 6 }, (_, i) => sample(`u-c${i}`, 'call')), sample('u-t0', 'text'), sample('u-t1', 'text')];
  const base = { round: 2, budget: 12, seedNewShare: 0.5, hpplMinShare: 0, errorSeeds, expansions, candidates: [], unusedSeed, hppl: true, seed: 's' };
  const noCall = (m: ReturnType<typeof mergeRound>) => m.samples.filter((p) => p.sample.label.type !== 'calls').length;
  const plain = mergeRound(base);
  assert.equal(noCall(plain), 6, 'without the balance the text side takes half of D_2, against a quarter in the pool');
  assert.equal(plain.composition.balance, undefined);
  const kept = mergeRound({ ...base, balance: { noCallShare: 0.25 } });
  assert.equal(kept.samples.length, 12);
  assert.equal(noCall(kept), 3);
  assert.deepEqual(kept.composition.balance, { noCallTarget: 3, passedOver: 5 });
  assert.equal(kept.composition.noCall, 3);
  assert.equal(plain.composition.noCall, 6);
  // the error-driven parts come first, in their own order: the first text error seeds, then every call one
  assert.deepEqual(kept.samples.filter((p) => p.part === 'es').map((p) => p.sample.id), ['es-ta', 'es-tb', 'es-tc', 'es-c1']);
  assert.deepEqual(kept.samples.filter((p) => p.part === 'ee').map((p) => p.sample.id), ['ee-es-c1', 'ee-es-c2']);
  // a seed sample passed over for the mix stays unused: a later round can still take it
  assert.ok(!kept.used.includes('u-t0') && !kept.used.includes('u-t1'));
  assert.deepEqual(kept.used, kept.samples.filter((p) => p.sample.id.startsWith('u-')).map((p) => p.sample.id));
  // when a side runs out, what was passed over fills the budget rather than leave a shortfall
  const short = mergeRound({ ...base, unusedSeed: [], balance: { noCallShare: 0 } });
  assert.equal(short.composition.shortfall, 0);
  assert.equal(short.samples.length, 12);
  assert.equal(short.composition.noCall, 8);
  assert.deepEqual(short.samples.slice(0, 4).map((p) => p.sample.id), ['es-c1', 'es-c2', 'ee-es-c1', 'ee-es-c2']);
});

test('property: the balanced merge meets its no-call target whenever both sides have enough, and never loses a seed sample it passed over', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 24 }), fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 30 }), fc.double({ min: 0, max: 1, noNaN: true }), (budget, nEsText, nEsCall, nUText, nUCall, share) => {
      const errorSeeds = [...Array.from({ length: nEsText }, (_, i) => sample(`et${i}`, 'text')), ...Array.from({ length: nEsCall }, (_, i) => sample(`ec${i}`, 'call'))];
      const unusedSeed = [...Array.from({ length: nUCall }, (_, i) => sample(`uc${i}`, 'call')), ...Array.from({ length: nUText }, (_, i) => sample(`ut${i}`, 'text'))];
      const m = mergeRound({ round: 2, budget, seedNewShare: 0.5, hpplMinShare: 0, errorSeeds, expansions: [], candidates: [], unusedSeed, hppl: true, seed: 'p', balance: { noCallShare: share } });
      const target = Math.round(budget * share);
      const noCall = m.samples.filter((p) => p.sample.label.type !== 'calls').length;
      assert.equal(m.composition.balance?.noCallTarget, target);
      assert.equal(m.composition.noCall, noCall);
      assert.equal(m.samples.length, Math.min(budget, errorSeeds.length + unusedSeed.length), 'the budget is met whenever the inputs allow');
      if (nEsText + nUText >= target && nEsCall + nUCall >= budget - target) assert.equal(noCall, target);
      const placed = new Set(m.samples.map((p) => p.sample.id));
      assert.deepEqual(m.used, unusedSeed.filter((s) => placed.has(s.id)).map((s) => s.id), 'used: exactly the seed samples placed');
    }),
    { numRuns: 300 },
  );
});

test('the per-skill table over seeds says when a skill was in only some seeds, where it can give no interval', () => {
  const evalOf = (rows: Outcome[]): RoundEval => ({ type: 'eval', round: 1, test: { n: rows.length, correct: 0, accuracy: 0, byKind: {} }, figures: evalFigures(rows) });
  const both = [outcome('single', true, true, true, 'copy_identifier'), outcome('single', true, false, false, 'copy_identifier')];
  const loop = { name: 'loop', bySeed: new Map([['s-1', [evalOf([...both, outcome('single', true, true, true, 'rare_skill')])]], ['s-2', [evalOf(both)]]]) };
  const lines = seedSkillTable([loop]).split('\n');
  const row = (k: string) => lines.find((l) => l.startsWith(k)) ?? assert.fail(`no row for ${k}`);
  assert.match(row('rare_skill'), /\b1 \(1 of 2 seeds\)/);
  assert.doesNotMatch(row('copy_identifier'), /of 2 seeds/);
  assert.match(row('copy_identifier'), /50\.0 ± 0\.0/);
});

test('the per-skill table sets the starting policy beside each curve and pairs the first curve with the second, seed by seed', () => {
  const evalAt = (round: number, rows: Outcome[]): RoundEval => ({ type: 'eval', round, test: { n: rows.length, correct: 0, accuracy: 0, byKind: {} }, figures: evalFigures(rows) });
  // copy_identifier: start 1 of 4 on both seeds; the loop ends on 3/4 and 2/4, static on 1/4 and 2/4
  const copies = (right: number) => Array.from({ length: 4 }, (_, i) => outcome('single', true, true, i < right, 'copy_identifier'));
  const start = evalAt(0, copies(1));
  const loop = { name: 'loop', bySeed: new Map([['s-1', [start, evalAt(2, copies(3))]], ['s-2', [start, evalAt(2, copies(2))]]]) };
  const stat = { name: 'static', bySeed: new Map([['s-1', [start, evalAt(2, copies(1))]], ['s-2', [start, evalAt(2, copies(2))]]]) };
  const lines = seedSkillTable([loop, stat]).split('\n');
  const head = lines[0]!.trim().split(/\s{2,}/);
  assert.deepEqual(head, ['skill', 'n/seed', 'start', 'loop ToolMatch', 'loop exact call', 'static ToolMatch', 'static exact call', 'loop − static', 'never call']);
  const cells = (lines.find((l) => l.startsWith('copy_identifier')) ?? assert.fail('no copy_identifier row')).trim().split(/\s{2,}/);
  assert.equal(cells[2], '25.0 ± 0.0', 'the start is round 0 of the first curve');
  assert.equal(cells[3], '62.5 ± 158.8', 'the loop: 75 % and 50 %, mean ± t(0.975, 1) × sd/√2');
  assert.equal(cells[5], '37.5 ± 158.8');
  assert.equal(cells[7], '+25.0 ± 317.6', 'paired differences +50 and 0 points: 12.706 × 25');
  // one curve: no pairing column, as before
  assert.ok(!seedSkillTable([loop]).split('\n')[0]!.includes('−'));
});

test('GRPO groups are summed by the part of D_j their sample came from: how many could teach anything', () => {
  const parts = new Map([
    ['a', 'es'],
    ['b', 'es'],
    ['c', 'seed_new'],
  ]);
  const by = signalByPart(
    [
      { id: 'a', reward: 0, signal: false },
      { id: 'b', reward: 0.25, signal: true },
      { id: 'c', reward: 1, signal: false },
      { id: 'c', reward: 0.5, signal: true },
      { id: 'z', reward: 0, signal: false },
    ],
    parts,
  );
  assert.deepEqual(by.es, { groups: 2, withSignal: 1, reward: 0.125 });
  assert.deepEqual(by.seed_new, { groups: 2, withSignal: 1, reward: 0.75 }, 'a sample trained twice counts twice');
  assert.deepEqual(by.unknown, { groups: 1, withSignal: 0, reward: 0 });
  assert.deepEqual(signalByPart([], parts), {});
});

test('signals add up over seeds part by part, the mean reward weighted by groups; the demo table shows each curve\'s last round', () => {
  const a = { es: { groups: 2, withSignal: 1, reward: 0.5 } };
  const b = { es: { groups: 6, withSignal: 0, reward: 0 }, hppl: { groups: 4, withSignal: 4, reward: 0.75 } };
  assert.deepEqual(addSignals([a, b]), { es: { groups: 8, withSignal: 1, reward: 0.125 }, hppl: { groups: 4, withSignal: 4, reward: 0.75 } });
  assert.deepEqual(addSignals([]), {});
  const evalWith = (round: number, by_part: unknown): RoundEval => ({ type: 'eval', round, test: { n: 1, correct: 0, accuracy: 0, byKind: {} }, train: { by_part } });
  const loop = { name: 'loop', bySeed: new Map([['s-1', [evalWith(1, { seed: { groups: 9, withSignal: 9, reward: 0.5 } }), evalWith(2, a)]], ['s-2', [evalWith(2, b)]]]) };
  const lines = seedSignalTable([loop]).split('\n');
  assert.match(lines.find((l) => /\bes\b/.test(l)) ?? assert.fail('no es row'), /loop\s+es\s+8\s+1 \(13%\)\s+0\.13/);
  assert.ok(!lines.some((l) => /\bseed\b\s+9/.test(l)), 'only the last round counts');
});

test('an incomplete ablation says which runs did not finish and why', () => {
  const run = (variant: 'full' | 'static', status: 'done' | 'failed', error: string | null) =>
    ({ variant, evals: [], result: { run: `r-${variant}`, dir: `/runs/x/${variant}`, status, error } }) as unknown as VariantResult;
  const r = {
    seeds: [
      { seed: 's-1', rows: [run('full', 'done', null), run('static', 'failed', 'training round 2: the policy worker (pid 7) died while serving grpo_step (r3): killed by SIGKILL')] },
      { seed: 's-2', rows: [run('full', 'failed', null)] },
    ],
  };
  assert.deepEqual(unfinishedText(r, ['s-1', 's-2', 's-3'], ['full', 'static']), [
    's-1 static: failed: training round 2: the policy worker (pid 7) died while serving grpo_step (r3): killed by SIGKILL (/runs/x/static)',
    's-2 full: failed: no error recorded (/runs/x/full)',
    's-2 static: not run (full did not finish on this seed)',
    's-3 full: not started',
    's-3 static: not run (full did not finish on this seed)',
  ]);
  assert.deepEqual(unfinishedText({ seeds: [{ seed: 's-1', rows: [run('full', 'done', null), run('static', 'done', null)] }] }, ['s-1'], ['full', 'static']), []);
});
