/**
 * Perplexity (DESIGN.md §1, GCP): PPL = exp(−(1/L) Σ log p(o_i | tools, context, o_<i)),
 * over the model's own greedy output. Mastered samples with a high PPL sit near the
 * decision boundary (HPPL); low-PPL ones are easy and get dropped.
 */

/** Perplexity from per-token log-probs; null for an empty output or an overflow. */
export function perplexity(logprobs: readonly number[]): number | null {
  if (logprobs.length === 0) return null;
  let sum = 0;
  for (const lp of logprobs) {
    if (!Number.isFinite(lp)) return null;
    sum += lp;
  }
  const ppl = Math.exp(-sum / logprobs.length);
  return Number.isFinite(ppl) ? ppl : null;
}

/** Perplexity from a log-prob sum over `tokens` tokens. */
export function perplexityFromSum(logprobSum: number, tokens: number): number | null {
  if (tokens <= 0 || !Number.isFinite(logprobSum)) return null;
  const ppl = Math.exp(-logprobSum / tokens);
  return Number.isFinite(ppl) ? ppl : null;
}

/**
 * Items ordered by perplexity, highest first. An unknown perplexity (null) counts as the
 * highest (the model could not even score its answer: not an easy sample). Ties break on
 * the id, so the order never depends on the input order.
 */
export function byPplDesc<T extends { id: string; ppl: number | null }>(items: readonly T[]): T[] {
  const key = (p: number | null) => (p === null ? Number.POSITIVE_INFINITY : p);
  return items.slice().sort((a, b) => key(b.ppl) - key(a.ppl) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The k highest-perplexity items. */
export function topByPpl<T extends { id: string; ppl: number | null }>(items: readonly T[], k: number): T[] {
  return byPplDesc(items).slice(0, Math.max(0, k));
}

/** The median perplexity (nulls count as +∞); null for no items. */
export function medianPpl(items: readonly { ppl: number | null }[]): number | null {
  if (items.length === 0) return null;
  const v = items.map((i) => (i.ppl === null ? Number.POSITIVE_INFINITY : i.ppl)).sort((a, b) => a - b);
  const m = v.length >> 1;
  const med = v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
  return Number.isFinite(med) ? med : null;
}
