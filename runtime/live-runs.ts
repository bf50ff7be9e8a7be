import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { runsRoot, writeJsonAtomic } from './rundir.ts';
import { processAlive } from './process.ts';

/**
 * The live-run registry: every process that hosts a run on a bus it opened says so in
 * `runs/.live/<run>.json`, and removes the file when the run ends. `view` and `trace`
 * find live runs here (newest first) instead of guessing from a "latest" file, and a
 * record whose process is gone (SIGKILL) is ignored rather than trusted.
 */
export const LiveRun = z.object({
  run: z.string().min(1).describe('the run id on the bus (trace subjects, envelopes)'),
  dir: z.string().min(1).describe('absolute run directory'),
  url: z.string().min(1).describe('NATS URL, credentials removed'),
  pid: z.number().int().positive(),
  started: z.string().describe('ISO time the run was announced'),
  command: z.string().describe('the looptool command hosting it'),
  embedded: z.boolean().describe('the bus is this process\'s own nats-server (it stops with the run)'),
  namespace: z.string().optional().describe('namespace of its request subjects, when it is not the run id (a shared pool of role workers)'),
});
export type LiveRun = z.infer<typeof LiveRun>;

const liveDir = () => join(runsRoot(), '.live');
// A run id is one subject token, so it is also a safe file name.
const recordPath = (run: string) => join(liveDir(), `${run}.json`);

/** A NATS URL as it may be shown or stored: user, password and token removed. */
export function publicUrl(url: string): string {
  return url
    .split(',')
    .map((u) => {
      try {
        const p = new URL(u.trim());
        if (!p.username && !p.password) return u.trim();
        p.username = '';
        p.password = '';
        return p.toString().replace(/\/$/, '');
      } catch {
        return u.trim().replace(/\/\/[^@/]*@/, '//');
      }
    })
    .join(',');
}

/**
 * The run id of a run directory: its path under the runs root with `_` for each `/`,
 * so a demo's nested runs (`<demo>/full`, `<demo>/static`) get ids of their own on a
 * shared bus; a directory outside the runs root keeps its own name.
 */
export function runIdForDir(dir: string): string {
  const rel = relative(runsRoot(), resolve(dir));
  const inside = rel && !rel.startsWith('..') && !isAbsolute(rel);
  const name = inside ? rel.split(sep).join('_') : basename(resolve(dir));
  return name.replace(/[^A-Za-z0-9_-]+/g, '-') || 'run';
}

/** How a person names a run directory: its path under the runs root (`demo-…/full`), or the absolute path. */
export function runLabel(dir: string): string {
  const rel = relative(runsRoot(), resolve(dir));
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split(sep).join('/') : resolve(dir);
}

// Records this process wrote, by run, counted: two nodes of one run in one process share one record.
const mine = new Map<string, number>();
let exitHook = false;

/** Announces a live run; returns the function that withdraws it (call it when the run ends). */
export function announceLiveRun(info: Omit<LiveRun, 'pid' | 'started' | 'command' | 'url'> & { url: string; command?: string }): () => void {
  const record: LiveRun = LiveRun.parse({
    ...info,
    url: publicUrl(info.url),
    pid: process.pid,
    started: new Date().toISOString(),
    command: info.command ?? process.argv[2] ?? basename(process.argv[1] ?? 'node'),
  });
  mkdirSync(liveDir(), { recursive: true });
  writeJsonAtomic(recordPath(record.run), record);
  mine.set(record.run, (mine.get(record.run) ?? 0) + 1);
  if (!exitHook) {
    exitHook = true;
    // A command that exits cleanly without stopping its node still withdraws its runs; one
    // that crashes leaves its record for watchers to find with a dead process: a failure.
    process.on('exit', (code) => {
      if (code === 0) for (const run of mine.keys()) removeIfMine(run);
    });
  }
  let done = false;
  return () => {
    if (done) return;
    done = true;
    const n = (mine.get(record.run) ?? 1) - 1;
    if (n > 0) return void mine.set(record.run, n);
    mine.delete(record.run);
    removeIfMine(record.run);
  };
}

function removeIfMine(run: string): void {
  const r = readRecord(recordPath(run));
  // another process may have announced the same run since; its record is not ours to remove
  if (r && r.pid !== process.pid) return;
  rmSync(recordPath(run), { force: true });
}

function readRecord(path: string): LiveRun | undefined {
  try {
    const parsed = LiveRun.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The runs announced now whose process is alive, newest first. */
export function liveRuns(): LiveRun[] {
  const dir = liveDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => readRecord(join(dir, f)))
    .filter((r): r is LiveRun => !!r && processAlive(r.pid))
    .sort((a, b) => b.started.localeCompare(a.started));
}

/** The live record of one run, if its process is alive. */
export function findLiveRun(run: string): LiveRun | undefined {
  const r = readRecord(recordPath(run));
  return r && processAlive(r.pid) ? r : undefined;
}

/**
 * Whether a live run is still going: its record is there (the same announcement) and
 * its process is alive. `withdrawn`: the run closed itself (its process may have exited
 * since, which is no failure); `gone`: the process died with its record still there.
 */
export function liveRunState(r: LiveRun): 'live' | 'withdrawn' | 'gone' {
  const now = readRecord(recordPath(r.run));
  if (!now || now.pid !== r.pid || now.started !== r.started) return 'withdrawn';
  return processAlive(r.pid) ? 'live' : 'gone';
}

export type StoredRun = { run: string; label: string; dir: string; modified: number };

/** Runs under the runs root that left a trace store (nested runs one level down too), newest first. */
export function storedRuns(root = runsRoot()): StoredRun[] {
  if (!existsSync(root)) return [];
  const out: StoredRun[] = [];
  const visit = (dir: string, depth: number) => {
    for (const name of safeList(dir)) {
      if (name.startsWith('.') || name === 'nats') continue;
      const d = join(dir, name);
      if (!isDir(d)) continue;
      if (existsSync(join(d, 'nats', 'jetstream'))) out.push({ run: runIdOf(d), label: runLabel(d), dir: d, modified: statSync(d).mtimeMs });
      if (depth < 1) visit(d, depth + 1);
    }
  };
  visit(root, 0);
  return out.sort((a, b) => b.modified - a.modified);
}

/** The id a run directory's own records use: the manifest's run when it has one, else the one its path gives. */
export function runIdOf(dir: string): string {
  try {
    const m = z.object({ run: z.string().min(1) }).safeParse(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
    if (m.success) return m.data.run;
  } catch {
    // no manifest: not a loop run (seed, sim, train), or not written yet
  }
  return runIdForDir(dir);
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export class RunNameError extends Error {}

export type NamedRun = { run: string; label: string; dir?: string; live?: LiveRun };

/**
 * What `--run NAME` means: a directory under the runs root (`<id>` or `<demo id>/full`),
 * or a run id (`<demo id>_full`, or one only the bus knows). A name that leads outside the
 * runs root is refused: the viewer never serves, or rewrites the config of, a store elsewhere.
 */
export function resolveRunName(name: string): NamedRun {
  const root = runsRoot();
  if (isAbsolute(name) || name.split(/[\\/]/).includes('..')) {
    const dir = resolve(root, name);
    const rel = relative(root, dir);
    if (!rel || rel.startsWith('..') || isAbsolute(rel)) throw new RunNameError(`--run ${name} is outside the runs directory ${root}; name a run under it (looptool view --list)`);
  }
  const dir = resolve(root, name);
  if (isDir(dir) && dir !== root) {
    const run = runIdOf(dir);
    return { run, label: runLabel(dir), dir, live: findLiveRun(run) };
  }
  const live = findLiveRun(name);
  if (live) return { run: name, label: runLabel(live.dir), dir: live.dir, live };
  const stored = storedRuns(root).find((s) => s.run === name);
  if (stored) return { run: stored.run, label: stored.label, dir: stored.dir };
  return { run: name, label: name };
}
