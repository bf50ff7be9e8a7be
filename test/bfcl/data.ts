import type { BfclDataset, Category, CheckMode, Verdict } from '../../protocols/bfcl/index.ts';
import { checkEntry } from '../../protocols/bfcl/index.ts';
import { parseJsonExact, type PyVal } from '../../protocols/toolcalls/index.ts';
import { bfclDataDir, loadBfclCategory } from '../../runtime/bfcl/files.ts';

/** The real BFCL v3 files, found the way the CLI finds them (../shared/bfcl/v3, LOOPTOOL_BFCL_DIR). */
export const DATA_DIR = bfclDataDir();

const cache = new Map<Category, BfclDataset>();

export function dataset(category: Category): BfclDataset {
  let ds = cache.get(category);
  if (!ds) {
    ds = loadBfclCategory(DATA_DIR, category);
    cache.set(category, ds);
  }
  return ds;
}

/** Checks a result given as prompting-mode text or as FC JSON text (`[{"f": "{...}"}]`). */
export function check(category: Category, id: string, result: string, mode: CheckMode = 'prompt'): Verdict {
  const entry = dataset(category).entries.get(id);
  if (!entry) throw new Error(`no entry ${id} in ${category}`);
  const value: PyVal = mode === 'fc' ? parseJsonExact(result) : result;
  return checkEntry(entry, value, mode);
}

/** FC-mode result text from a name and an arguments JSON text. */
export function fc(...calls: [string, string][]): string {
  return JSON.stringify(calls.map(([name, args]) => ({ [name]: args })));
}
