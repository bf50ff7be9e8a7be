import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from './command.ts';
import { runsRoot } from '../rundir.ts';

/** A run directory from a path or a run id under the runs root. */
export function findRunDir(arg: string): string {
  for (const cand of [resolve(arg), join(runsRoot(), arg)]) if (existsSync(join(cand, 'config.json'))) return cand;
  throw new UsageError(`no loop run at "${arg}" (looked for config.json in ${resolve(arg)} and ${join(runsRoot(), arg)})`);
}
