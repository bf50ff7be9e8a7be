import { Composition } from '../../../protocols/loop/merge.ts';
import { accuracy, evalFigures, jglvScores, labelNoiseRate } from '../../../protocols/loop/metrics.ts';
import { endsInLoop } from '../../../protocols/repetition.ts';
import { BfclItemRecord, EvalItemRecord, ProbeRecord, RoundEval } from '../../../protocols/loop/records.ts';
import { proportion } from '../../../protocols/loop/stats.ts';
import { primarySkill, type Sample } from '../../../protocols/sample.ts';
import type { StageSummary } from '../../../machines/loop.ts';
import { evalBfcl } from '../bfcl.ts';
import type { StageContext, TrainSummary } from './context.ts';
import { probeAll } from './probing.ts';

/**
 * Round j's policy on the held-out test split (and BFCL when configured), with what the
 * round did beside it: D_j's noise and composition, the trainer's report, probing, JGLV
 * against the hidden truth, and EDDE's counts. Round 0 is the baseline. A round this run
 * adopted from its base (StageContext.adoptedBaseRound) takes the base's answers.
 */
export async function evaluating(cx: StageContext, j: number): Promise<StageSummary> {
  const t0 = performance.now();
  const train = cx.trainSummary(j);
  const shared = cx.adoptedBaseRound(j) && cx.baseStore().exists(`round-${j}/eval.json`);
  const items = shared ? cx.baseStore().read(`round-${j}/eval.jsonl`, EvalItemRecord) : await evalItems(cx, j, train, 'test', cx.test());
  const validation = await validationItems(cx, j, train, shared);
  const { bfcl, bfclItems } = await bfclAnswers(cx, j, shared);
  const figures = evalFigures(items.map((i) => ({ kind: i.kind, skill: i.skill!, expectsCall: i.expectsCall!, called: i.called!, correct: i.correct })));
  const summary: RoundEval = {
    type: 'eval',
    round: j,
    test: accuracy(items),
    ...(validation.length ? { validation: accuracy(validation) } : {}),
    figures,
    baselines: { 'never call': figures.neverCall.value, 'always call (at most)': figures.alwaysCall.value },
    cutOff: proportion(items.filter((i) => i.cutOff).length, items.length),
    cutOffLooping: proportion(items.filter((i) => i.cutOff && endsInLoop(i.text)).length, items.length),
    ...(bfcl ? { bfcl } : {}),
  };
  if (j >= 1) {
    const data = cx.data(j);
    summary.noise = labelNoiseRate(data.map((p) => p.sample));
    if (cx.store.exists(`round-${j}/composition.json`)) summary.composition = cx.store.readJson(`round-${j}/composition.json`, Composition);
    if (train) summary.train = train;
    if (!cx.ablations.static) {
      const probes = cx.probes(j);
      const ppls = probes.map((p) => p.ppl).filter((x): x is number => x !== null);
      const fresh = cx.freshProbes(j);
      summary.probe = {
        n: probes.length,
        mastered: probes.filter((p) => p.mastered).length,
        meanPpl: ppls.length ? ppls.reduce((a, b) => a + b, 0) / ppls.length : null,
        ...(fresh.length ? { fresh: { n: fresh.length, mastered: fresh.filter((p) => p.mastered).length } } : {}),
      };
      const { samples: byId, probes: all } = cx.probed(j);
      const pred = new Map(all.map((p) => [p.id, p.prediction]));
      const verdicts = cx.verdicts(j);
      if (verdicts.length || cx.ablations.jglv)
        summary.jglv = jglvScores(
          verdicts.map((v) => {
            const s = byId.get(v.id)!;
            return { label: s.label, prediction: pred.get(v.id)!, truth: s.truth, verdict: v.verdict };
          }),
          [...data.map((p) => p.sample), ...cx.fresh(j)],
        );
      const ex = cx.expansions(j);
      summary.expansion = { seeds: new Set(ex.map((e) => e.parent)).size, accepted: ex.filter((e) => e.accepted).length, rejected: ex.filter((e) => !e.accepted).length };
    }
  }
  const files = [`round-${j}/eval.jsonl`, `round-${j}/eval.json`];
  cx.store.write(`round-${j}/eval.jsonl`, items);
  if (validation.length) {
    cx.store.write(`round-${j}/eval-validation.jsonl`, validation);
    files.push(`round-${j}/eval-validation.jsonl`);
  }
  if (bfclItems.length) {
    cx.store.write(`round-${j}/eval-bfcl.jsonl`, bfclItems);
    files.push(`round-${j}/eval-bfcl.jsonl`);
  }
  cx.store.writeJson(`round-${j}/eval.json`, summary);
  for (const stage of ['eval', 'validation'] as const) cx.checkpoints.items(`round-${j}/${stage}.partial.jsonl`, ProbeRecord, (r) => r.id).clear();
  return cx.finish(j, 'evaluating', t0, files, {
    accuracy: summary.test.accuracy,
    n: summary.test.n,
    ...(summary.validation ? { validation: summary.validation.accuracy } : {}),
    ...(bfcl?.overall != null ? { bfcl: bfcl.overall } : {}),
  });
}

/**
 * Round j's BFCL figures and answers when loop.eval.bfcl is set; a round adopted from its
 * base takes the base's (its answers only where the base kept them).
 */
async function bfclAnswers(cx: StageContext, j: number, shared: boolean): Promise<{ bfcl?: RoundEval['bfcl']; bfclItems: BfclItemRecord[] }> {
  const file = `round-${j}/eval-bfcl.jsonl`;
  if (shared) {
    const base = cx.baseStore();
    return { bfcl: base.readJson(`round-${j}/eval.json`, RoundEval).bfcl, bfclItems: base.exists(file) ? base.read(file, BfclItemRecord) : [] };
  }
  if (!cx.loop.eval.bfcl) return { bfclItems: [] };
  const { figures, items } = await evalBfcl(cx.call, cx.loop.eval.bfcl, j, `${cx.run}.r${j}.bfcl`, (done, total, category) => cx.progress('evaluating', j, done, total, `BFCL v3 ${category}`));
  return { bfcl: figures, bfclItems: items };
}

/**
 * Round j's answers on the validation split, when the run drew one: a round adopted from
 * its base takes the base's answers where the base has them (the same policy), and
 * answers itself where the base drew no validation split.
 */
async function validationItems(cx: StageContext, j: number, train: TrainSummary | undefined, shared: boolean): Promise<EvalItemRecord[]> {
  const samples = cx.validation();
  if (!samples.length) return [];
  const file = `round-${j}/eval-validation.jsonl`;
  if (shared && cx.baseStore().exists(file)) return cx.baseStore().read(file, EvalItemRecord);
  return evalItems(cx, j, train, 'validation', samples);
}

/** The greedy answers of round j's policy to a held-out split, scored against its labels (the true ones with eval.useTruth). */
async function evalItems(cx: StageContext, j: number, train: TrainSummary | undefined, split: 'test' | 'validation', samples: Sample[]): Promise<EvalItemRecord[]> {
  await cx.policy.ensure(cx.checkpointIn(train));
  const useTruth = cx.loop.eval.useTruth;
  const scored = samples.map((s) => (useTruth && s.truth ? { ...s, label: s.truth.label } : s));
  const maxTokens = cx.loop.eval.max_new_tokens;
  const got = await probeAll(cx, j, split === 'test' ? 'eval' : 'validation', scored, maxTokens);
  return scored.map((s) => {
    const p = got.get(s.id)!;
    return {
      type: 'eval_item',
      round: j,
      split,
      id: s.id,
      kind: s.kind,
      skill: primarySkill(s),
      expectsCall: s.label.type === 'calls',
      called: p.prediction.type === 'calls',
      cutOff: p.tokens >= maxTokens,
      correct: p.mastered,
      text: p.text,
    };
  });
}
