import { seededOrder } from './merge.ts';

/**
 * A test split stratified by a key (the sample's skill): strata in name order, each in a
 * seeded order, taken one per stratum in turn until `size` items are taken or every
 * stratum is empty. A stream drawn uniformly over skills gives a split uniform over
 * skills; a rare stratum gives what it has and the others fill the rest.
 */
export function stratifiedTake<T extends { id: string }>(items: readonly T[], size: number, key: (x: T) => string, seed: string): T[] {
  const strata = groupBy(items, key);
  const lists = [...strata.keys()].sort().map((k) => seededOrder(strata.get(k)!, `${seed}/${k}`));
  const out: T[] = [];
  for (let i = 0; out.length < size && lists.some((l) => i < l.length); i++)
    for (const l of lists) {
      if (out.length >= size) break;
      if (i < l.length) out.push(l[i]!);
    }
  return out;
}

/** Items grouped by a key, groups in first-seen order, items in input order. */
export function groupBy<T>(items: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const x of items) {
    const k = key(x);
    const list = groups.get(k);
    if (list) list.push(x);
    else groups.set(k, [x]);
  }
  return groups;
}
