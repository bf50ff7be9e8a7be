import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { newId } from '../protocols/ids.ts';

/** Root of all runs: $LOOPTOOL_RUNS or ./runs. */
export function runsRoot(): string {
  return resolve(process.env.LOOPTOOL_RUNS ?? 'runs');
}

export function newRunId(prefix = 'run'): string {
  const d = new Date();
  const stamp = `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
  return `${prefix}-${stamp}-${newId().slice(-6)}`;
}

/** Creates (or reopens) `runs/<id>/` and returns its absolute path. */
export function runDir(id: string, root = runsRoot()): string {
  const dir = join(root, id);
  mkdirSync(dir, { recursive: true });
  return dir;
}

// Atomic writes live with the agents (the trainer writes checkpoints' JSON too); runtime uses the same.
export { writeFileAtomic, writeJsonAtomic } from '../agents/common/fs.ts';

export function readJsonIfExists(path: string): unknown {
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : undefined;
}
