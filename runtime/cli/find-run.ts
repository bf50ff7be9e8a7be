import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { UsageError } from './command.ts';
import { runsRoot } from '../rundir.ts';
import { findRuns } from '../loop/prune.ts';

/**
 * A run directory from a path or a run id under the runs root. A folder of runs (a demo,
 * an ablation) is not one; the error lists the runs in it, since that is the usual slip.
 */
export function findRunDir(arg: string): string {
  const cands = [resolve(arg), join(runsRoot(), arg)];
  for (const cand of cands) if (existsSync(join(cand, 'config.json'))) return cand;
  const below = cands.flatMap((c) => findRuns(c)).slice(0, 12);
  const hint = below.length ? `; it holds runs: ${below.map((r) => relative(process.cwd(), r) || '.').join(', ')}` : '';
  throw new UsageError(`no loop run at "${arg}" (looked for config.json in ${cands.join(' and ')})${hint}`);
}
