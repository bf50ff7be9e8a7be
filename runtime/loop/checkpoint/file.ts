import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { LooptoolError } from '../../../protocols/errors.ts';
import { Manifest } from '../../../protocols/loop/records.ts';
import { appendJsonl, readJsonl, rewriteJsonl } from '../../corpus.ts';
import { writeJsonAtomic } from '../../rundir.ts';
import { RunStore } from '../store.ts';
import type { ItemCache, LoopCheckpointer, Slot, Slots } from './checkpointer.ts';

export const SNAPSHOT = 'snapshot.json';
export const MANIFEST = 'manifest.json';

const FILES: Record<Slot, string> = { snapshot: SNAPSHOT, manifest: MANIFEST };
const SnapshotFile = z.looseObject({ value: z.unknown(), context: z.unknown() });

/**
 * The loop's checkpoints as files of the run directory: `snapshot.json`, `manifest.json`
 * (stamped `updated` on every write), and `<stage>.partial.jsonl`, one line per finished
 * item. Whole files are written atomically; a kill can only tear the last line of a
 * per-item file, which is dropped on open (that item simply runs again).
 */
export class FileCheckpointer implements LoopCheckpointer {
  private readonly store: RunStore;

  constructor(dir: string | RunStore) {
    this.store = typeof dir === 'string' ? new RunStore(dir) : dir;
  }

  path(slot: Slot): string {
    return join(this.store.dir, FILES[slot]);
  }

  get<K extends Slot>(slot: K): Slots[K] | undefined {
    if (!existsSync(this.path(slot))) return undefined;
    if (slot === 'manifest') return this.store.readJson(MANIFEST, Manifest) as Slots[K];
    try {
      return this.store.readJson(SNAPSHOT, SnapshotFile) as Slots[K];
    } catch (err) {
      throw new LooptoolError({
        code: 'invalid_input',
        message: `${(err as Error).message}; \`looptool resume --rerun-damaged\` continues from the manifest without it`,
      });
    }
  }

  put<K extends Slot>(slot: K, value: Slots[K]): void {
    writeJsonAtomic(this.path(slot), slot === 'manifest' ? { ...value, updated: new Date().toISOString() } : value);
  }

  delete(slot: Slot): void {
    rmSync(this.path(slot), { force: true });
  }

  items<S extends z.ZodType>(name: string, schema: S, key: (r: z.output<S>) => string): ItemCache<z.output<S>> {
    const path = this.store.path(name);
    const r = readJsonl(path, schema, { tolerateTornTail: true });
    if (r.torn) rewriteJsonl(path, r.records);
    const done = new Map<string, z.output<S>>();
    for (const rec of r.records) done.set(key(rec), rec);
    return {
      done,
      add(recs) {
        appendJsonl(path, recs);
        for (const x of recs) done.set(key(x), x);
      },
      clear() {
        rmSync(path, { force: true });
      },
    };
  }
}
