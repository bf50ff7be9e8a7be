/**
 * BFCL v3 single-turn categories we check, how each is checked, and its files.
 * (shared/bfcl/v3/README.md §3.1, §3.9.)
 */
export const AST_CATEGORIES = [
  'simple',
  'multiple',
  'parallel',
  'parallel_multiple',
  'live_simple',
  'live_multiple',
  'live_parallel',
  'live_parallel_multiple',
] as const;

export const RELEVANCE_CATEGORIES = ['irrelevance', 'live_irrelevance', 'live_relevance'] as const;

export const CATEGORIES = [...AST_CATEGORIES, ...RELEVANCE_CATEGORIES] as const;
export type Category = (typeof CATEGORIES)[number];

/** Which checker a category goes through (the leaderboard dispatches on the name). */
export type CheckKind = 'simple' | 'multiple' | 'parallel' | 'irrelevance' | 'relevance';

export function isCategory(name: string): name is Category {
  return (CATEGORIES as readonly string[]).includes(name);
}

export function checkKind(category: Category): CheckKind {
  if (category === 'irrelevance' || category === 'live_irrelevance') return 'irrelevance';
  if (category === 'live_relevance') return 'relevance';
  if (category.includes('parallel')) return 'parallel';
  if (category.includes('multiple')) return 'multiple';
  return 'simple';
}

export function hasAnswers(category: Category): boolean {
  return (AST_CATEGORIES as readonly string[]).includes(category);
}

export function questionFile(category: Category): string {
  return `BFCL_v3_${category}.json`;
}

export function answerFile(category: Category): string {
  return `possible_answer/BFCL_v3_${category}.json`;
}

/** Accepts `simple`, `BFCL_v3_simple`, `BFCL_v3_simple.json`, `BFCL_v3_simple_result.json`. */
export function normalizeCategory(name: string): Category | undefined {
  let n = name.trim();
  n = n.replace(/\.jsonl?$/, '').replace(/^BFCL_v3_/, '').replace(/_result$/, '');
  return isCategory(n) ? n : undefined;
}
