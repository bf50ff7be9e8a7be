import { z } from 'zod';
import { SimConfig } from './sim-config.ts';
import { SeedingConfig } from './seeding.ts';
import { LoopConfig } from './loop/config.ts';
import { TrainerConfig } from './trainer.ts';
import { canonicalJson, type JsonValue } from './json.ts';

/**
 * The configuration of a run (`--config FILE`, JSON). One schema, composed of one
 * section per part of the system; every field has a default, so `{}` is the
 * embedded default (sim brains, tiny policy on the CPU).
 */
export const BrainKind = z.enum(['sim', 'llm']);
export type BrainKind = z.infer<typeof BrainKind>;

export const RunConfig = z.strictObject({
  seed: z.string().min(1).default('looptool').describe('root seed: every random choice of the run derives from it'),
  brains: z
    .record(z.string(), BrainKind)
    .default({})
    .describe('brain per LLM-backed role, e.g. {"assistant": "llm"}; roles not named use `defaultBrain`'),
  defaultBrain: BrainKind.default('sim'),
  sim: SimConfig.prefault({}).describe('the simulated world (sim brains)'),
  llm: z
    .record(z.string(), z.unknown())
    .default({})
    .describe('OpenAI-compatible endpoint settings, validated by agents/common/llm/config.ts (baseURL, model, per-role overrides)'),
  roles: z.array(z.string()).default([]).describe('extra role modules to serve (paths to files whose default export is a role)'),
  seeding: SeedingConfig.prefault({}).describe('round 0: dialogue simulation, self-consistency, validation (protocols/seeding.ts)'),
  loop: LoopConfig.prefault({}).describe('rounds j >= 1: training, probing, JGLV, EDDE, merge, evaluation, ablations (protocols/loop/config.ts)'),
  trainer: TrainerConfig.prefault({}).describe('the trainer agent: policy model, worker threads, checkpoints, `looptool train` defaults (protocols/trainer.ts)'),
  // Sections owned by other parts (seeding, trainer, loop) are added here as typed
  // fields with defaults, each schema in its own protocols/ file.
});
export type RunConfig = z.infer<typeof RunConfig>;

export function brainFor(config: Pick<RunConfig, 'brains' | 'defaultBrain'>, role: string): BrainKind {
  return config.brains[role] ?? config.defaultBrain;
}

/**
 * A run's stored configuration as today's schema reads it, for comparing runs written by
 * different versions: a stored config lists every setting that existed when it ran, so a
 * setting added since is absent from it only. Such a setting takes its default, which is
 * what the code did before it existed (the rule for every new setting); stored values are
 * kept. A config today's schema refuses (a setting since removed or renamed) is returned
 * as stored, so its differences still show.
 */
export function withTodaysDefaults<T extends object>(stored: T): T {
  const r = RunConfig.safeParse(stored);
  return r.success ? (JSON.parse(JSON.stringify(r.data)) as T) : stored;
}

/** The sections that make a run's world (its corpus): runs that share a round 0 must agree on them. */
const WORLD_KEYS = ['seed', 'sim', 'seeding', 'brains', 'defaultBrain'] as const;

/** The first world-making section in which two configurations differ, if any. */
export function worldDifference(a: RunConfig, b: RunConfig): (typeof WORLD_KEYS)[number] | undefined {
  return WORLD_KEYS.find((key) => canonicalJson(a[key] as JsonValue) !== canonicalJson(b[key] as JsonValue));
}
