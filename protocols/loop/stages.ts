import { z } from 'zod';

/**
 * The loop's stages, in the order one run goes through them (DESIGN.md §1). The machine
 * (machines/loop.ts) makes one state and one actor of each, the manifest names them, and
 * the viewer draws them; this list is the only place they are written.
 *
 * The first three run once, before any round (round 0); the rest run in every round j >= 1,
 * each skipped where an ablation switches it off.
 */
export const LoopStage = z.enum(['seeding', 'warmup', 'baseline', 'training', 'probing', 'verifying', 'expanding', 'merging', 'evaluating']);
export type LoopStage = z.infer<typeof LoopStage>;

export const LOOP_STAGES: readonly LoopStage[] = LoopStage.options;

/** Stages that run once, at round 0, before the first round. */
export const PRELUDE_STAGES = ['seeding', 'warmup', 'baseline'] as const satisfies readonly LoopStage[];

/** Stages of every round j >= 1, in order. */
export const ROUND_STAGES: readonly LoopStage[] = LOOP_STAGES.filter((s) => !(PRELUDE_STAGES as readonly string[]).includes(s));

export function isPerRound(stage: LoopStage): boolean {
  return ROUND_STAGES.includes(stage);
}

/**
 * A stage as the manifest records it. The baseline is round 0's evaluation: its outputs
 * are filed as `evaluating` at round 0, beside every later round's.
 */
export const Stage = LoopStage.exclude(['baseline']);
export type Stage = z.infer<typeof Stage>;

export function recordedAs(stage: LoopStage): Stage {
  return stage === 'baseline' ? 'evaluating' : stage;
}

/** The stage list as the viewer reads it (GET /api/loop-stages). */
export function loopStagesJson(): { stages: readonly LoopStage[]; prelude: readonly LoopStage[]; round: readonly LoopStage[] } {
  return { stages: LOOP_STAGES, prelude: PRELUDE_STAGES, round: ROUND_STAGES };
}
