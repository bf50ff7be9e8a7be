import { recordedAs, type LoopStage } from '../../../protocols/loop/stages.ts';
import type { StageSummary } from '../../../machines/loop.ts';
import { baseline } from './baseline.ts';
import type { StageContext } from './context.ts';
import { evaluating } from './evaluating.ts';
import { expanding } from './expanding.ts';
import { merging } from './merging.ts';
import { probing } from './probing.ts';
import { seeding } from './seeding.ts';
import { training } from './training.ts';
import { verifying } from './verifying.ts';
import { warmup } from './warmup.ts';

export { StageContext, type StageDeps, type StageProgress } from './context.ts';

/** One stage's work: reads what earlier stages left in the run directory, writes its outputs, records itself. */
export type StageWork = (cx: StageContext, round: number) => Promise<StageSummary>;

/** The work of each stage of protocols/loop/stages.ts, one module each. */
export const STAGES: Record<LoopStage, StageWork> = { seeding, warmup, baseline, training, probing, verifying, expanding, merging, evaluating };

/**
 * Runs one stage, unless the manifest lists it as finished: then it answers from its files
 * and does nothing again. Long stages keep per-item results in `<stage>.partial.jsonl`,
 * so a resumed stage runs only what is missing; bus calls carry ids made of run, round,
 * stage and item, so a retried call is answered from the host's cache. Outputs are ordered
 * by input, never by completion, so a resumed run writes the same files as an
 * uninterrupted one.
 */
export async function runStage(cx: StageContext, stage: LoopStage, round: number): Promise<StageSummary> {
  return cx.done(round, recordedAs(stage)) ?? STAGES[stage](cx, round);
}
