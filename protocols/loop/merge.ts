import { z } from 'zod';
import type { Sample } from '../sample.ts';
import { contentHash, sha256Hex } from './hash.ts';
import { byPplDesc } from './ppl.ts';

/**
 * The merge (DESIGN.md §1, step 5): D_{j+1} = ES ∪ EE ∪ HPPL ∪ Seed-new at a fixed
 * budget per round.
 *
 * Allocation, in this order (every step skips content already taken):
 *  1. Seed-new quota: round(budget × share), share = seedNewShare / 2^(j+1−2) for
 *     D_{j+1} (D_2 gets the configured share, D_3 half of it, …), at most the seed
 *     samples not used yet.
 *  2. HPPL reserve: round(budget × hpplMinShare), at most the candidates: boundary
 *     samples stay represented even when there are many error seeds.
 *  3. ES (error seeds: PRED_WRONG with their label, LABEL_WRONG corrected) and
 *  4. EE (validated expansions) share what 1 and 2 leave, in proportion to how many of
 *     each there are (what one side cannot use goes to the other): a budget too small
 *     for every error seed still gets expansions. ES are taken in order; EE round-robin
 *     over their parents, so each error seed is represented before any gets a second one.
 *  5. Seed-new, up to its quota.
 *  6. HPPL fills what is left: mastered (and BOTH_CORRECT) samples by perplexity,
 *     highest first; without HPPL (ablation) the same count is drawn at random. Only
 *     samples whose label is a call are ranked (hpplOver 'calls', the default): a text
 *     answer's perplexity measures its wording, and ranked with calls it crowds them out.
 *  7. Fill: if the parts could not reach the budget, more unused seed samples; then any
 *     remaining candidates. A shortfall is recorded, never hidden.
 *
 * With `balance` (the `balanced` variant) every step above also keeps the call decision's
 * mix: D_{j+1} holds round(budget × noCallShare) samples whose label is no call (text,
 * clarify, irrelevant) and the rest calls, the seed pool's mix. An item of a side that is
 * full is passed over, so the other side's items further down the same list take its place.
 * Why: error seeds and their expansions follow whichever side of the call decision the
 * policy misses, and a small budget then trains the policy past the mark the other way
 * (seed 21's round 4, docs/loop.md). If the parts leave room (a side ran out of items),
 * it goes first to the error seeds and expansions their shares kept out, within the mix,
 * then, the mix lifted, to what was passed over, in the order of the parts (balanceLate).
 * Measured on two fresh seeds it did worse than full: docs/loop.md.
 */

export const Part = z.enum(['seed', 'es', 'ee', 'hppl', 'seed_new', 'fill']);
export type Part = z.infer<typeof Part>;

const Count = z.number().int().min(0);

export const Composition = z.object({
  round: z.number().int().min(1).describe('j of the corpus D_j this composition describes'),
  budget: Count,
  total: Count,
  seedNewShare: z.number().min(0).max(1),
  parts: z.object({ seed: Count, es: Count, ee: Count, hppl: Count, seed_new: Count, fill: Count }),
  corrected: Count.describe('error seeds whose label JGLV rewrote'),
  available: z.object({ es: Count, ee: Count, candidates: Count, unusedSeed: Count }),
  duplicates: Count.describe('items skipped because their content was already in D_j'),
  shortfall: Count.describe('budget − total'),
  hpplRandom: z.boolean().describe('the HPPL share was drawn at random (no-HPPL ablation)'),
  fresh: Count.optional().describe('samples (not expansions) that came from the seed samples probed fresh beside D_{j-1} (loop.probe.fresh)'),
  noCall: Count.optional().describe('samples in D_j whose label is no call (text, clarify, irrelevant): the call decision\'s mix'),
  balance: z
    .object({
      noCallTarget: Count.describe('round(budget × the seed pool\'s share of samples whose label is no call)'),
      passedOver: Count.describe('error seeds and expansions left out because their side of the call decision was full'),
    })
    .optional()
    .describe('the balanced variant: D_j kept to the seed pool\'s mix of calls and no calls'),
});
export type Composition = z.infer<typeof Composition>;

export type Placed = { part: Part; sample: Sample };

/** Share of Seed-new in D_{round}: 1 for D_1, the configured share for D_2, halving after. */
export function seedNewShare(share0: number, round: number): number {
  if (round <= 1) return 1;
  return share0 / 2 ** (round - 2);
}

/** A deterministic pseudo-random order of items (by hash of seed and id). */
export function seededOrder<T extends { id: string }>(items: readonly T[], seed: string): T[] {
  const keyed = items.map((x) => ({ x, k: sha256Hex(`${seed}/${x.id}`) }));
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return keyed.map((e) => e.x);
}

/** Whether a sample's label says to call a tool: the side of the call decision it teaches. */
export const callsSide = (s: Sample): boolean => s.label.type === 'calls';
const noCallCount = (items: readonly Placed[]): number => items.filter((p) => !callsSide(p.sample)).length;

class Corpus {
  readonly items: Placed[] = [];
  readonly hashes = new Set<string>();
  /** ids added, or skipped as duplicates: the items a step has dealt with */
  readonly visited = new Set<string>();
  /** ids passed over because their side was full (balance), and not placed since */
  readonly passedOver = new Set<string>();
  duplicates = 0;
  /** how many of each side may still come in (balance); null: no limit */
  sides: { calls: number; noCall: number } | null = null;
  constructor(readonly budget: number) {}
  get room(): number {
    return this.budget - this.items.length;
  }
  /** Adds a sample unless its content is in already or its side is full; true when added. */
  add(part: Part, sample: Sample): boolean {
    if (this.room <= 0) return false;
    const side = callsSide(sample) ? 'calls' : 'noCall';
    if (this.sides && this.sides[side] <= 0) {
      this.passedOver.add(sample.id);
      return false;
    }
    this.passedOver.delete(sample.id);
    this.visited.add(sample.id);
    const h = contentHash(sample);
    if (this.hashes.has(h)) {
      this.duplicates++;
      return false;
    }
    this.hashes.add(h);
    if (this.sides) this.sides[side]--;
    this.items.push({ part, sample });
    return true;
  }
  /** Takes from `list` in order until `limit` were added or the list ends; returns what was consumed. */
  take(part: Part, list: readonly Sample[], limit: number): { added: number; consumed: number } {
    let added = 0;
    let i = 0;
    for (; i < list.length && added < limit && this.room > 0; i++) if (this.add(part, list[i]!)) added++;
    return { added, consumed: i };
  }
}

/**
 * Two lists merged so that each keeps its share of every prefix: items in order of their
 * relative position (i + ½) / length, `a` first on a tie. Round j's fresh probes meet D_j's
 * this way, so a budget that cannot hold every error seed still takes both kinds.
 */
export function interleaveEvenly<T>(a: readonly T[], b: readonly T[]): T[] {
  const keyed = [...a.map((x, i) => ({ x, k: (i + 0.5) / a.length, s: 0 })), ...b.map((x, i) => ({ x, k: (i + 0.5) / b.length, s: 1 }))];
  keyed.sort((p, q) => p.k - q.k || p.s - q.s);
  return keyed.map((e) => e.x);
}

/** Expansions interleaved by parent: first child of every parent, then second children, … */
export function roundRobinByParent(samples: readonly Sample[]): Sample[] {
  const groups = new Map<string, Sample[]>();
  for (const s of samples) {
    const p = s.provenance.parent ?? s.id;
    const g = groups.get(p);
    if (g) g.push(s);
    else groups.set(p, [s]);
  }
  const out: Sample[] = [];
  const lists = [...groups.values()];
  for (let i = 0; out.length < samples.length; i++) for (const g of lists) if (i < g.length) out.push(g[i]!);
  return out;
}

/** The composition of a round made of seed samples only (D_1, the static baseline). */
function seedOnly(c: Corpus, pool: readonly Sample[], round: number): Composition {
  return {
    round,
    budget: c.budget,
    total: c.items.length,
    seedNewShare: 1,
    parts: { seed: c.items.length, es: 0, ee: 0, hppl: 0, seed_new: 0, fill: 0 },
    corrected: 0,
    available: { es: 0, ee: 0, candidates: 0, unusedSeed: pool.length },
    duplicates: c.duplicates,
    shortfall: c.budget - c.items.length,
    hpplRandom: false,
    noCall: noCallCount(c.items),
  };
}

/** D_1: the first `budget` samples of the seed pool (already in its seeded order). */
export function initialRound(pool: readonly Sample[], budget: number): { samples: Placed[]; composition: Composition; used: string[] } {
  const c = new Corpus(budget);
  const { consumed } = c.take('seed', pool, budget);
  return {
    samples: c.items,
    used: pool.slice(0, consumed).map((s) => s.id),
    composition: seedOnly(c, pool, 1),
  };
}

/**
 * The static baseline's D_j: the j-th window of `budget` seed samples, so it sees as many
 * fresh seed samples per round as the loop trains on, with the same compute. It never
 * wraps around: a static baseline that trains twice on the same samples would be weaker
 * than one with fresh data, which flatters the loop. A pool too small is an error.
 */
export function staticRound(pool: readonly Sample[], budget: number, round: number): { samples: Placed[]; composition: Composition } {
  const start = (round - 1) * budget;
  if (start + budget > pool.length)
    throw new RangeError(`the static baseline needs ${start + budget} fresh seed samples for D_${round} (budget ${budget} per round), the seed pool holds ${pool.length}`);
  const c = new Corpus(budget);
  c.take('seed', pool.slice(start), budget);
  return {
    samples: c.items,
    composition: seedOnly(c, pool, round),
  };
}

/** How many seed samples the static baseline needs for `rounds` rounds (D_1 … D_rounds). */
export function staticPoolNeed(budget: number, rounds: number): number {
  return budget * Math.max(1, rounds);
}

export type MergeInput = {
  /** j + 1: the round whose corpus is being built (>= 2). */
  round: number;
  budget: number;
  seedNewShare: number;
  hpplMinShare: number;
  errorSeeds: readonly Sample[];
  expansions: readonly Sample[];
  /** mastered and BOTH_CORRECT samples of D_j with their greedy-output perplexity */
  candidates: readonly { sample: Sample; ppl: number | null }[];
  /** seed samples not used in any D_i yet, in pool order */
  unusedSeed: readonly Sample[];
  /** false: the HPPL share is drawn at random (ablation) */
  hppl: boolean;
  /** 'calls': only candidates whose label is a call are ranked for HPPL (text answers go to the fill) */
  hpplOver?: 'calls' | 'all';
  /** the balanced variant: the seed pool's share of samples whose label is no call, which D_{round} keeps */
  balance?: { noCallShare: number };
  /** seeds the random draw of the no-HPPL ablation */
  seed: string;
};

export type MergeResult = { samples: Placed[]; composition: Composition; used: string[] };

/**
 * What the balanced merge does when the parts left room: a budget reserved for a part whose
 * items were passed over is first offered to the error seeds and expansions its room kept
 * out, within the mix; then, the mix lifted, to what was passed over, in the order of the parts.
 */
function balanceLate(c: Corpus, errorSeeds: readonly Sample[], expansions: readonly Sample[], fills: readonly (readonly Sample[])[]): { es: number; ee: number; fill: number } {
  const unvisited = (list: readonly Sample[]) => list.filter((s) => !c.visited.has(s.id) && !c.passedOver.has(s.id));
  const es = c.take('es', unvisited(errorSeeds), c.room).added;
  const ee = c.take('ee', unvisited(expansions), c.room).added;
  c.sides = null;
  const back = (list: readonly Sample[]) => list.filter((s) => c.passedOver.has(s.id));
  const esBack = c.take('es', back(errorSeeds), c.room).added;
  const eeBack = c.take('ee', back(expansions), c.room).added;
  const fill = fills.reduce((n, list) => n + c.take('fill', back(list), c.room).added, 0);
  return { es: es + esBack, ee: ee + eeBack, fill };
}

export function mergeRound(m: MergeInput): MergeResult {
  if (m.round < 2) throw new RangeError(`mergeRound builds D_2 and later; got round ${m.round}`);
  const B = m.budget;
  const c = new Corpus(B);
  const share = seedNewShare(m.seedNewShare, m.round);
  const seedQuota = Math.min(m.unusedSeed.length, Math.round(B * share));
  // A free-text answer's perplexity measures wording, not tool use: ranked with calls it
  // crowds them out (issue 12), so by default HPPL ranks call samples only.
  const rankable = (m.hpplOver ?? 'calls') === 'calls' ? m.candidates.filter((x) => callsSide(x.sample)) : m.candidates;
  const others = m.candidates.filter((x) => !rankable.includes(x)).map((x) => x.sample);
  const ranked = m.hppl
    ? byPplDesc(rankable.map((x) => ({ id: x.sample.id, ppl: x.ppl, sample: x.sample }))).map((x) => x.sample)
    : seededOrder(
        rankable.map((x) => x.sample),
        `${m.seed}/no-hppl/${m.round}`,
      );
  const noCallTarget = m.balance ? Math.round(B * m.balance.noCallShare) : 0;
  if (m.balance) c.sides = { calls: B - noCallTarget, noCall: noCallTarget };
  const hpplReserve = Math.min(ranked.length, Math.round(B * m.hpplMinShare));
  const errRoom = Math.max(0, B - seedQuota - hpplReserve);

  const nEs = m.errorSeeds.length;
  const nEe = m.expansions.length;
  const esQuota = nEs + nEe ? Math.min(nEs, Math.max(nEe ? 0 : errRoom, Math.round((errRoom * nEs) / (nEs + nEe)))) : 0;
  const expansionOrder = roundRobinByParent(m.expansions);
  const esFirst = c.take('es', m.errorSeeds, esQuota);
  const ee = c.take('ee', expansionOrder, errRoom - esFirst.added).added;
  // expansions that were too few (or duplicates) leave room for more error seeds
  const es = esFirst.added + c.take('es', m.errorSeeds.slice(esFirst.consumed), errRoom - esFirst.added - ee).added;
  const seedTake = c.take('seed_new', m.unusedSeed, seedQuota);
  const hppl = c.take('hppl', ranked, c.room);
  // fill: unused seed beyond the quota, then candidates the HPPL step did not reach
  const seedFill = c.take('fill', m.unusedSeed.slice(seedTake.consumed), c.room);
  const fillCands = c.take('fill', [...ranked.slice(hppl.consumed), ...others], c.room);
  const late = m.balance ? balanceLate(c, m.errorSeeds, expansionOrder, [m.unusedSeed, ranked, others]) : { es: 0, ee: 0, fill: 0 };

  const passedOver = [...m.errorSeeds, ...m.expansions].filter((s) => c.passedOver.has(s.id)).length;
  // a seed sample passed over for the mix stays unused; one skipped as a duplicate counts as used
  const used = m.unusedSeed.filter((s) => c.visited.has(s.id)).map((s) => s.id);
  const placed = c.items;
  return {
    samples: placed,
    used,
    composition: {
      round: m.round,
      budget: B,
      total: placed.length,
      seedNewShare: share,
      parts: { seed: 0, es: es + late.es, ee: ee + late.ee, hppl: hppl.added, seed_new: seedTake.added, fill: seedFill.added + fillCands.added + late.fill },
      corrected: placed.filter((p) => p.part === 'es' && p.sample.provenance.source === 'corrected').length,
      available: { es: m.errorSeeds.length, ee: m.expansions.length, candidates: m.candidates.length, unusedSeed: m.unusedSeed.length },
      duplicates: c.duplicates,
      shortfall: B - placed.length,
      hpplRandom: !m.hppl,
      noCall: noCallCount(placed),
      ...(m.balance ? { balance: { noCallTarget, passedOver } } : {}),
    },
  };
}
