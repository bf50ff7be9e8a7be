import type { Sample } from '../../../protocols/sample.ts';
import type { StageContext } from './context.ts';
import { warmupSamples } from './warmup.ts';

/**
 * The seed samples the policy has never trained on and the loop has not looked at by
 * round j, in pool order: not in the warm-up, not in D_1 … D_j, and not probed fresh in
 * rounds 1 … `freshThrough` (a fresh sample's fate is decided in the round that probed it).
 * Seed-new draws from them, and so does fresh probing (loop.probe.fresh).
 */
export function untrainedSeed(cx: StageContext, j: number, freshThrough: number): Sample[] {
  const pool = cx.pool();
  const seen = new Set<string>(warmupSamples(cx, pool).map((s) => s.id));
  for (let i = 1; i <= j; i++) for (const p of cx.data(i)) seen.add(p.sample.id);
  for (let i = 1; i <= freshThrough; i++) for (const s of cx.fresh(i)) seen.add(s.id);
  return pool.filter((s) => !seen.has(s.id));
}
