import { cpSync } from 'node:fs';
import { RoundEval } from '../../../protocols/loop/records.ts';
import type { StageSummary } from '../../../machines/loop.ts';
import type { StageContext } from './context.ts';
import { evaluating } from './evaluating.ts';

/**
 * The warmed-up policy on the test split (and the validation split, when drawn) before any
 * round: the round-0 point of every curve, filed as round 0's evaluation. A run with a base
 * copies the base's.
 */
export async function baseline(cx: StageContext): Promise<StageSummary> {
  if (!cx.d.base) return evaluating(cx, 0);
  const t0 = performance.now();
  const base = cx.baseStore();
  const files = ['round-0/eval.jsonl', 'round-0/eval.json', ...(cx.validation().length ? ['round-0/eval-validation.jsonl'] : [])];
  for (const f of files) cpSync(base.path(f), cx.store.path(f));
  const ev = cx.store.readJson('round-0/eval.json', RoundEval);
  return cx.finish(0, 'evaluating', t0, files, { accuracy: ev.test.accuracy, n: ev.test.n, ...(ev.validation ? { validation: ev.validation.accuracy } : {}), base: 1 });
}
