import type { z } from 'zod';
import type { Manifest } from '../../../protocols/loop/records.ts';

/**
 * What the loop keeps so that a run can stop anywhere and continue (DESIGN.md §2.6), behind
 * one small interface in the manner of LangGraph's checkpointer: the latest value of a slot
 * (`get`/`put`: the machine's snapshot, the manifest of finished stages) and the pending
 * per-item writes of a stage in progress (`items`: listed on open, added as they come,
 * cleared once the stage's output is written). A stage's outputs themselves are the run's
 * data (RunStore), not checkpoints.
 *
 * Two backends: the run directory (file.ts: today's files, written atomically, so a
 * SIGKILL never leaves half a checkpoint) and memory (memory.ts: for tests).
 */

/** The machine's persisted snapshot as it is kept: XState's, with its state and context. */
export type PersistedSnapshot = { value?: unknown; context?: unknown; [k: string]: unknown };

export type Slots = { snapshot: PersistedSnapshot; manifest: Manifest };
export type Slot = keyof Slots;

/** Per-item results of a stage in progress, by key; `add` keeps them before the stage goes on. */
export type ItemCache<T> = { done: Map<string, T>; add(recs: T[]): void; clear(): void };

export interface LoopCheckpointer {
  /** The slot's latest value; undefined when there is none. An unreadable one is an error naming it. */
  get<K extends Slot>(slot: K): Slots[K] | undefined;
  put<K extends Slot>(slot: K, value: Slots[K]): void;
  delete(slot: Slot): void;
  /** The per-item cache `name` (e.g. `round-1/verifying.partial.jsonl`), with what it already holds. */
  items<S extends z.ZodType>(name: string, schema: S, key: (r: z.output<S>) => string): ItemCache<z.output<S>>;
}

