import { mkdirSync, renameSync, writeFileSync, readFileSync, existsSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
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

/** Writes a file so that readers see the old or the new content, never half of it. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  writeFileSync(tmp, data);
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

export function readJsonIfExists(path: string): unknown {
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : undefined;
}
