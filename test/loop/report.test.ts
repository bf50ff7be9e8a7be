import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accuracySvg, compositionSvg, reportMarkdown } from '../../runtime/loop/report.ts';
import { ablationText, type VariantResult } from '../../runtime/loop/ablate.ts';
import { jglvScores, type Manifest, type RoundEval } from '../../protocols/loop/index.ts';

const manifest: Manifest = {
  version: 1,
  run: 'r',
  created: '',
  updated: '',
  variant: 'full',
  ablations: { jglv: true, edde: true, hppl: true, static: false, randomExpansion: false, balanced: false },
  rounds: 2,
  status: 'done',
  stages: [],
  checkpoint: null,
};
const acc = (a: number) => ({ n: 10, correct: Math.round(a * 10), accuracy: a, byKind: { single: { n: 10, correct: Math.round(a * 10), accuracy: a } } });
const comp = (round: number) => ({
  round,
  budget: 10,
  total: 10,
  seedNewShare: 0.5,
  parts: { seed: round === 1 ? 10 : 0, es: round === 1 ? 0 : 2, ee: round === 1 ? 0 : 4, hppl: round === 1 ? 0 : 2, seed_new: round === 1 ? 0 : 2, fill: 0 },
  corrected: round === 1 ? 0 : 1,
  available: { es: 2, ee: 4, candidates: 3, unusedSeed: 20 },
  duplicates: 0,
  shortfall: 0,
  hpplRandom: false,
  noCall: round === 1 ? 2 : 3,
});
const evals: RoundEval[] = [
  { type: 'eval', round: 0, test: acc(0.2) },
  { type: 'eval', round: 1, test: acc(0.3), composition: comp(1), noise: { n: 10, withTruth: 10, noisy: 1, rate: 0.1 }, jglv: jglvScores([{ label: { type: 'text', text: 'x' }, prediction: { type: 'calls', calls: [{ name: 'f', arguments: {} }] }, truth: { label: { type: 'calls', calls: [{ name: 'f', arguments: {} }] }, noisy: true }, verdict: 'LABEL_WRONG' }]) },
  { type: 'eval', round: 2, test: acc(0.4), composition: comp(2) },
];

test('the report has accuracy, composition and the JGLV confusion table; the charts are SVG with one point per round', () => {
  const md = reportMarkdown(manifest, evals, [{ name: 'static', evals: evals.map((e) => ({ ...e, test: acc(e.test.accuracy - 0.05) })) }]);
  assert.match(md, /\| round \| full \| static \|/);
  assert.match(md, /\| 2 \| 40\.0% \| 35\.0% \|/);
  // … fill, no-call labels, duplicates
  assert.match(md, /\| D_2 \| 10 \| 0 \| 2 \| 1 \| 4 \| 2 \| 2 \| 0 \| 3 \| 0 \|/);
  assert.doesNotMatch(md, /no-call target/, 'the balance columns only in a balanced run');
  const balanced = evals.map((e) => (e.round === 2 ? { ...e, composition: { ...e.composition!, balance: { noCallTarget: 2, passedOver: 5 } } } : e));
  assert.match(reportMarkdown({ ...manifest, variant: 'balanced' }, balanced), /\| D_2 \| 10 \| 0 \| 2 \| 1 \| 4 \| 2 \| 2 \| 0 \| 3 \| 2 \| 5 \| 0 \|/);
  assert.match(md, /Confusion/);
  assert.match(md, /\| LABEL_WRONG \| 0 \| 1 \| 0 \| 0 \|/);
  const svg = accuracySvg([{ name: 'full', points: evals.map((e) => ({ round: e.round, value: e.test.accuracy })) }]);
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal((svg.match(/<circle /g) ?? []).length, 3);
  assert.match(svg, /<\/svg>\n$/);
  const bars = compositionSvg([{ round: 1, composition: comp(1) }, { round: 2, composition: comp(2) }]);
  assert.equal((bars.match(/<rect x="\d/g) ?? []).length >= 5, true);
});

test('the ablation table shows every round and the gap to the first variant', () => {
  const row = (variant: VariantResult['variant'], a: number[]): VariantResult => ({
    variant,
    result: { run: variant, dir: '', status: 'done', error: null, manifest: { ...manifest, variant }, history: [] },
    evals: a.map((x, round) => ({ type: 'eval', round, test: acc(x) })),
  });
  const text = ablationText([row('full', [0.2, 0.3, 0.45]), row('static', [0.2, 0.3, 0.35])]);
  const lines = text.split('\n');
  assert.match(lines[0]!, /variant\s+r0\s+r1\s+r2\s+Δ last vs full/);
  assert.match(lines[2]!, /^static\s+20\.0\s+30\.0\s+35\.0\s+-10\.0$/);
});
