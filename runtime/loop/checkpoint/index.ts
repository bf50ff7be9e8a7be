/** The loop's checkpointer: its interface and its two backends (run directory, memory). */
export type { ItemCache, LoopCheckpointer, PersistedSnapshot, Slot, Slots } from './checkpointer.ts';
export { FileCheckpointer, SNAPSHOT, MANIFEST } from './file.ts';
export { MemoryCheckpointer } from './memory.ts';
