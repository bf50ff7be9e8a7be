import { z } from 'zod';

/**
 * Every request to a round-0 role carries an explicit seed, so that its answer
 * depends on nothing else (not on concurrency, not on which replica serves it).
 * The caller derives it from the run seed and the item's coordinates, e.g.
 * `deriveSeed(runSeed, dialogueId, 'turn', 3, 'sample', 1)`.
 */
export const Seed = z
  .string()
  .min(1)
  .describe('deterministic seed for this request; derived by the caller from run seed + dialogue id + turn + sample index');

/** Joins seed parts into one seed string (the sim RNG hashes the whole string). */
export function deriveSeed(...parts: (string | number)[]): string {
  return parts.map(String).join('/');
}
