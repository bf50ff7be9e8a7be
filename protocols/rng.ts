/**
 * A small seeded random number generator (the simulator and the runtime draw from it).
 *
 * Every sim brain derives its randomness from the request's explicit seed string
 * (never from shared state), so a reply depends on its input alone, whatever the
 * concurrency or the replica that serves it. Strings are hashed with a 64-bit FNV-1a
 * variant folded to 32 bits, then fed to mulberry32.
 */
import { z } from 'zod';

/**
 * Every request to a round-0 role carries an explicit random seed, so that its answer
 * depends on nothing else (not on concurrency, not on which replica serves it). The
 * caller derives it from the run's seed and the item's coordinates, e.g.
 * `deriveRngSeed(runSeed, dialogueId, 'turn', 3, 'sample', 1)`. (A random seed, not seed data.)
 */
export const RngSeed = z
  .string()
  .min(1)
  .describe('deterministic seed for this request; derived by the caller from run seed + dialogue id + turn + sample index');

/** Joins random-seed parts into one seed string (the RNG hashes the whole string). */
export function deriveRngSeed(...parts: (string | number)[]): string {
  return parts.map(String).join('/');
}

/** 32-bit hash of a string (FNV-1a over UTF-16 code units, with a final avalanche). */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // murmur3 finalizer: spreads nearby seeds ("a/1", "a/2") over the whole range
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class Rng {
  private state: number;
  readonly seed: string;

  constructor(seed: string) {
    this.seed = seed;
    this.state = hashString(seed);
  }

  /** A generator for a sub-task, independent of how much this one has been used. */
  fork(...labels: (string | number)[]): Rng {
    return new Rng([this.seed, ...labels].join('/'));
  }

  /** Uniform in [0, 1). mulberry32. */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.pick: empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Picks a key in proportion to its weight; keys of weight 0 are never picked. */
  weighted<K extends string>(weights: Partial<Record<K, number>>, allowed?: readonly K[]): K | undefined {
    const keys = (allowed ?? (Object.keys(weights) as K[])).filter((k) => (weights[k] ?? 0) > 0);
    const total = keys.reduce((a, k) => a + (weights[k] ?? 0), 0);
    if (total <= 0) return undefined;
    let x = this.next() * total;
    for (const k of keys) {
      x -= weights[k] ?? 0;
      if (x < 0) return k;
    }
    return keys[keys.length - 1];
  }

  shuffle<T>(items: readonly T[]): T[] {
    const a = items.slice();
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }

  /** k distinct items (all of them when k >= length), in random order. */
  sample<T>(items: readonly T[], k: number): T[] {
    return this.shuffle(items).slice(0, Math.max(0, k));
  }
}

export function rng(seed: string, ...labels: (string | number)[]): Rng {
  return new Rng([seed, ...labels].join('/'));
}

/** A non-negative 31-bit integer seed derived from parts joined as rng() joins them: what the policy worker's `seed` takes. */
export function intSeed(...parts: (string | number)[]): number {
  return hashString(parts.map(String).join('/')) & 0x7fffffff;
}
