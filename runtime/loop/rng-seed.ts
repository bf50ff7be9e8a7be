import { hashString } from '../../protocols/rng.ts';
import { deriveSeed } from '../../protocols/roles/seed.ts';

/** An integer random seed (for the policy worker) derived from the run's seed and coordinates. */
export function intSeed(...parts: (string | number)[]): number {
  return hashString(deriveSeed(...parts)) & 0x7fffffff;
}
