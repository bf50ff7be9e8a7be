/**
 * The leaderboard's score aggregation for BFCL v3 (shared/bfcl/v3/README.md §4):
 * non-live summaries are plain means, live summaries are weighted by entry count, and the
 * overall accuracy is the plain mean of the live, non-live and multi-turn overalls. A
 * category that was not evaluated counts as 0 in every mean; subgroup summaries that include
 * one display "N/A", the overall columns do not.
 */

export type CategoryCount = { correct: number; total: number };

/** A figure as the leaderboard keeps it: the accuracy used in means, and whether to show N/A. */
export type Figure = { accuracy: number; total: number; na: boolean };

/** Entry counts of the v3 categories that looptool does not evaluate (counted as 0). */
export const UNEVALUATED_SIZES: Record<string, number> = {
  java: 100,
  javascript: 50,
  multi_turn_base: 200,
  multi_turn_miss_func: 200,
  multi_turn_miss_param: 200,
  multi_turn_long_context: 200,
};

/** Entry counts of the evaluated categories, for the weighted means when one is missing. */
export const CATEGORY_SIZES: Record<string, number> = {
  simple: 400,
  multiple: 200,
  parallel: 200,
  parallel_multiple: 200,
  irrelevance: 240,
  live_simple: 258,
  live_multiple: 1053,
  live_parallel: 16,
  live_parallel_multiple: 24,
  live_irrelevance: 882,
  live_relevance: 18,
  ...UNEVALUATED_SIZES,
};

export function categoryFigure(counts: Partial<Record<string, CategoryCount>>, name: string): Figure {
  const c = counts[name];
  if (c) return { accuracy: c.total > 0 ? c.correct / c.total : 0, total: c.total, na: false };
  return { accuracy: 0, total: CATEGORY_SIZES[name] ?? 0, na: true };
}

export function unweighted(figs: Figure[], naIfMissing = true): Figure {
  const total = figs.reduce((s, f) => s + f.total, 0);
  const accuracy = figs.reduce((s, f) => s + f.accuracy, 0) / figs.length;
  return { accuracy, total, na: naIfMissing && figs.some((f) => f.na) };
}

export function weighted(figs: Figure[], naIfMissing = true): Figure {
  const total = figs.reduce((s, f) => s + f.total, 0);
  const accuracy = total > 0 ? figs.reduce((s, f) => s + f.accuracy * f.total, 0) / total : 0;
  return { accuracy, total, na: naIfMissing && figs.some((f) => f.na) };
}

export type Leaderboard = {
  categories: Record<string, Figure>;
  simpleAst: Figure;
  nonLiveAst: Figure;
  nonLiveOverall: Figure;
  liveAst: Figure;
  liveOverall: Figure;
  multiTurnOverall: Figure;
  irrelevanceDetection: Figure;
  relevanceDetection: Figure;
  overall: Figure;
};

export function leaderboard(counts: Partial<Record<string, CategoryCount>>): Leaderboard {
  const f = (n: string) => categoryFigure(counts, n);
  const categories: Record<string, Figure> = {};
  for (const n of Object.keys(CATEGORY_SIZES)) categories[n] = f(n);
  const c = categories;
  const simpleAst = unweighted([c.simple, c.java, c.javascript]);
  const nonLiveAst = unweighted([simpleAst, c.multiple, c.parallel, c.parallel_multiple]);
  const nonLiveOverall = unweighted([simpleAst, c.multiple, c.parallel, c.parallel_multiple, c.irrelevance], false);
  const liveAstParts = [c.live_simple, c.live_multiple, c.live_parallel, c.live_parallel_multiple];
  const liveAst = weighted(liveAstParts);
  const liveOverall = weighted([...liveAstParts, c.live_irrelevance, c.live_relevance], false);
  const multiTurnOverall = unweighted(
    [c.multi_turn_base, c.multi_turn_miss_func, c.multi_turn_miss_param, c.multi_turn_long_context],
    false,
  );
  const overall = unweighted([liveOverall, nonLiveOverall, multiTurnOverall], false);
  const irrelevanceDetection = unweighted([c.irrelevance, c.live_irrelevance]);
  const relevanceDetection = c.live_relevance;
  return {
    categories,
    simpleAst,
    nonLiveAst,
    nonLiveOverall,
    liveAst,
    liveOverall,
    multiTurnOverall,
    irrelevanceDetection,
    relevanceDetection,
    overall,
  };
}

/** "99.87%" or "N/A", as the leaderboard prints figures. */
export function displayFigure(fig: Figure): string {
  return fig.na ? 'N/A' : `${(fig.accuracy * 100).toFixed(2)}%`;
}
