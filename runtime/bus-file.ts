import { join } from 'node:path';
import { z } from 'zod';
import { readJsonIfExists, runsRoot, writeJsonAtomic } from './rundir.ts';
import { processAlive } from './process.ts';

/** Where a running `looptool up` / `run` says its bus is, so `trace` and `view` can find it. */
export const BusFile = z.object({ url: z.string(), run: z.string(), runDir: z.string(), pid: z.number().int(), embedded: z.boolean() });
export type BusFile = z.infer<typeof BusFile>;

// The most recent live bus, next to the runs, so separate run roots never see each other.
const latest = () => join(runsRoot(), 'latest-bus.json');

export function writeBusFile(info: BusFile): void {
  writeJsonAtomic(join(info.runDir, 'bus.json'), info);
  writeJsonAtomic(latest(), info);
}

/** The bus of a live looptool process (for a run, or the latest), if one is up. */
export function findLiveBus(runDir?: string): BusFile | undefined {
  const raw = readJsonIfExists(runDir ? join(runDir, 'bus.json') : latest());
  const parsed = BusFile.safeParse(raw);
  if (!parsed.success) return undefined;
  return processAlive(parsed.data.pid) ? parsed.data : undefined;
}
