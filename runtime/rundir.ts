import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Root of all runs: $LOOPTOOL_RUNS or ./runs. */
export function runsRoot(): string {
  return resolve(process.env.LOOPTOOL_RUNS ?? 'runs');
}

export function newRunId(prefix = 'run', root = runsRoot()): string {
  // A fresh id is never a folder that exists: commands that continue an interrupted run
  // from its folder (demo, ablate) would otherwise pass off an old run's results as new.
  // (The id used to end in a process tag's last character and a per-process counter, so
  // the first run of two processes on one day collided one time in sixteen.)
  for (;;) {
    const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-'); // 20261204-190804, UTC
    const id = `${prefix}-${stamp}-${randomBytes(2).toString('hex')}`;
    if (!existsSync(join(root, id))) return id;
  }
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
