import { LooptoolError } from '../../../protocols/errors.ts';
import { routeRound } from '../../../protocols/loop/jglv.ts';
import { Composition, mergeRound, staticRound, type Placed } from '../../../protocols/loop/merge.ts';
import type { StageSummary } from '../../../machines/loop.ts';
import { crashPoint } from '../crash.ts';
import type { StageContext } from './context.ts';
import { warmupSamples } from './warmup.ts';

/**
 * D_{j+1}: the error seeds, their accepted expansions, the high-perplexity samples the
 * policy mastered and fresh seed data, in the shares the loop config gives (the static
 * baseline: the next window of seed data).
 */
export async function merging(cx: StageContext, j: number): Promise<StageSummary> {
  const t0 = performance.now();
  const pool = cx.pool();
  const next = j + 1;
  let samples: Placed[];
  let composition: Composition;
  if (cx.ablations.static) {
    try {
      ({ samples, composition } = staticRound(pool, cx.loop.budget, next));
    } catch (err) {
      if (err instanceof RangeError) throw new LooptoolError({ code: 'invalid_input', message: `${err.message}; simulate more seed dialogues (loop.seedDialogues) or lower loop.budget` });
      throw err;
    }
  } else {
    const data = cx.data(j);
    const byId = new Map(data.map((p) => [p.sample.id, p.sample]));
    const verdicts = cx.ablations.jglv ? new Map(cx.verdicts(j).map((v) => [v.id, v])) : null;
    const routed = routeRound(j, byId, cx.probes(j), verdicts);
    const expansions = cx
      .expansions(j)
      .filter((e) => e.accepted && e.sample)
      .map((e) => e.sample!);
    // Seed-new is seed data the policy has never trained on: not in any D_i, nor in the warm-up.
    const used = new Set<string>(warmupSamples(cx, pool).map((s) => s.id));
    for (let i = 1; i <= j; i++) for (const p of i === j ? data : cx.data(i)) used.add(p.sample.id);
    const unusedSeed = pool.filter((s) => !used.has(s.id));
    const m = mergeRound({
      round: next,
      budget: cx.loop.budget,
      seedNewShare: cx.loop.seedNewShare,
      hpplMinShare: cx.loop.hpplMinShare,
      errorSeeds: routed.errorSeeds.map((e) => e.sample),
      expansions,
      candidates: routed.candidates,
      unusedSeed,
      hppl: cx.ablations.hppl,
      hpplOver: cx.loop.hpplOver,
      seed: cx.config.seed,
    });
    samples = m.samples;
    composition = m.composition;
  }
  cx.store.write(`round-${next}/data.jsonl`, samples.map((p) => ({ type: 'sample', part: p.part, sample: p.sample })));
  crashPoint('merging', j, 0);
  cx.store.writeJson(`round-${next}/composition.json`, composition);
  return cx.finish(j, 'merging', t0, [`round-${next}/data.jsonl`, `round-${next}/composition.json`], { total: composition.total, ...composition.parts, duplicates: composition.duplicates });
}
