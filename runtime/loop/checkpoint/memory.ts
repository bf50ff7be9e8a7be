import type { z } from 'zod';
import type { ItemCache, LoopCheckpointer, Slot, Slots } from './checkpointer.ts';

// A round trip through JSON, as the file backend's values take: nothing shared with the caller.
const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** The loop's checkpoints in memory (tests): the same contract as the run directory's, gone with the process. */
export class MemoryCheckpointer implements LoopCheckpointer {
  private readonly slots = new Map<Slot, unknown>();
  private readonly caches = new Map<string, unknown[]>();
  /** every put, in order (`<slot>` or `<cache name>+<n>`), so a test can see what was kept when */
  readonly log: string[] = [];

  get<K extends Slot>(slot: K): Slots[K] | undefined {
    const v = this.slots.get(slot);
    return v === undefined ? undefined : (copy(v) as Slots[K]);
  }

  put<K extends Slot>(slot: K, value: Slots[K]): void {
    this.slots.set(slot, copy(slot === 'manifest' ? { ...value, updated: new Date().toISOString() } : value));
    this.log.push(slot);
  }

  delete(slot: Slot): void {
    this.slots.delete(slot);
  }

  items<S extends z.ZodType>(name: string, schema: S, key: (r: z.output<S>) => string): ItemCache<z.output<S>> {
    const kept = this.caches.get(name) ?? [];
    this.caches.set(name, kept);
    const done = new Map<string, z.output<S>>();
    for (const raw of kept) {
      const rec = schema.parse(raw);
      done.set(key(rec), rec);
    }
    const caches = this.caches;
    const log = this.log;
    return {
      done,
      add(recs) {
        kept.push(...copy(recs));
        log.push(`${name}+${recs.length}`);
        for (const x of recs) done.set(key(x), x);
      },
      clear() {
        caches.delete(name);
      },
    };
  }
}
