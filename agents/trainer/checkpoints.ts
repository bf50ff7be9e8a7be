import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { LatestCheckpoint } from '../../protocols/trainer.ts';
import { writeJsonAtomic } from '../common/fs.ts';

/**
 * A run's checkpoints: `<runDir>/<checkpoints>/ckpt-<n>-<tag>/` directories written
 * atomically by the worker's `save`, numbered in the order they were made, and
 * `latest.json`, the pointer to the newest one, replaced atomically after the save
 * succeeded (so it never names a half-written checkpoint). Every checkpoint is kept:
 * the loop goes back to the one of a given round (trainer.restore).
 */
export class CheckpointStore {
  readonly dir: string;

  constructor(runDir: string, sub: string) {
    this.dir = isAbsolute(sub) ? sub : resolve(runDir, sub);
  }

  get latestFile(): string {
    return join(this.dir, 'latest.json');
  }

  /** The newest checkpoint's absolute path, when the pointer exists and names a whole checkpoint. */
  latest(): { path: string; pointer: LatestCheckpoint } | null {
    if (!existsSync(this.latestFile)) return null;
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(this.latestFile, 'utf8'));
    } catch (err) {
      throw new Error(`${this.latestFile}: not JSON (${(err as Error).message})`);
    }
    const r = LatestCheckpoint.safeParse(raw);
    if (!r.success) throw new Error(`${this.latestFile}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    const path = resolve(this.dir, r.data.path);
    if (!existsSync(join(path, 'meta.json'))) throw new Error(`${this.latestFile} names ${path}, which is not a checkpoint (meta.json missing)`);
    return { path, pointer: r.data };
  }

  /** A fresh directory name for the next checkpoint: one more than the highest number in use. */
  next(tag: string): string {
    let n = 0;
    if (existsSync(this.dir)) {
      for (const name of readdirSync(this.dir)) {
        const m = /^ckpt-(\d+)-/.exec(name);
        if (m) n = Math.max(n, Number(m[1]));
      }
    }
    return join(this.dir, `ckpt-${String(n + 1).padStart(4, '0')}-${tag.replace(/[^A-Za-z0-9_-]+/g, '-')}`);
  }

  /** Points latest.json at `path` (a directory inside this store). */
  setLatest(path: string, info: Omit<LatestCheckpoint, 'path' | 'created'>): void {
    const rel = resolve(path).startsWith(`${this.dir}/`) ? resolve(path).slice(this.dir.length + 1) : resolve(path);
    const pointer = LatestCheckpoint.parse({ ...info, path: rel, created: new Date().toISOString() });
    writeJsonAtomic(this.latestFile, pointer);
  }
}

