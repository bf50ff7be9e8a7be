import { LooptoolError } from '../../../protocols/errors.ts';
import { routeRound } from '../../../protocols/loop/jglv.ts';
import { callsSide, Composition, mergeRound, staticRound, type Placed } from '../../../protocols/loop/merge.ts';
import type { StageSummary } from '../../../machines/loop.ts';
import { crashPoint } from '../crash.ts';
import type { StageContext } from './context.ts';
import { untrainedSeed } from './untrained-seed.ts';
import type { Sample } from '../../../protocols/sample.ts';

/** The seed pool's share of samples whose label is no call: the mix the balanced variant keeps. */
function noCallShare(pool: readonly Sample[]): number {
  return pool.length ? pool.filter((s) => !callsSide(s)).length / pool.length : 0;
}

/**
 * D_{j+1}: the error seeds, their accepted expansions, the high-perplexity samples the
 * policy mastered and fresh seed data, in the shares the loop config gives (the static
 * baseline: the next window of seed data).
 */
export async function merging(cx: StageContext, j: number): Promise<StageSummary> {
  const t0 = performance.now();
  const next = j + 1;
  let samples: Placed[];
  let composition: Composition;
  if (cx.ablations.static) {
    try {
      ({ samples, composition } = staticRound(cx.pool(), cx.loop.budget, next));
    } catch (err) {
      if (err instanceof RangeError) throw new LooptoolError({ code: 'invalid_input', message: `${err.message}; simulate more seed dialogues (loop.seedDialogues) or lower loop.budget` });
      throw err;
    }
  } else {
    const probed = cx.probed(j);
    const verdicts = cx.ablations.jglv ? new Map(cx.verdicts(j).map((v) => [v.id, v])) : null;
    const routed = routeRound(j, probed.samples, probed.probes, verdicts);
    const expansions = cx
      .expansions(j)
      .filter((e) => e.accepted && e.sample)
      .map((e) => e.sample!);
    const m = mergeRound({
      round: next,
      budget: cx.loop.budget,
      seedNewShare: cx.loop.seedNewShare,
      hpplMinShare: cx.loop.hpplMinShare,
      errorSeeds: routed.errorSeeds.map((e) => e.sample),
      expansions,
      candidates: routed.candidates,
      unusedSeed: untrainedSeed(cx, j, j),
      hppl: cx.ablations.hppl,
      hpplOver: cx.loop.hpplOver,
      ...(cx.ablations.balanced ? { balance: { noCallShare: noCallShare(cx.pool()) } } : {}),
      seed: cx.config.seed,
    });
    samples = m.samples;
    const fresh = new Set(cx.fresh(j).map((s) => s.id));
    // a corrected error seed has a new id; its parent is the sample that was probed
    const fromFresh = (p: Placed) => fresh.has(p.sample.id) || (p.part === 'es' && fresh.has(p.sample.provenance.parent ?? ''));
    composition = fresh.size ? { ...m.composition, fresh: samples.filter(fromFresh).length } : m.composition;
  }
  cx.store.write(`round-${next}/data.jsonl`, samples.map((p) => ({ type: 'sample', part: p.part, sample: p.sample })));
  crashPoint('merging', j, 0);
  cx.store.writeJson(`round-${next}/composition.json`, composition);
  return cx.finish(j, 'merging', t0, [`round-${next}/data.jsonl`, `round-${next}/composition.json`], { total: composition.total, ...composition.parts, duplicates: composition.duplicates });
}
