import { closeSync, existsSync, fdatasync, ftruncateSync, openSync, readFileSync, readSync, unlinkSync, writeFileSync, writeSync, fstatSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { describeIssues, formatIssues } from '../../protocols/errors.ts';
import { processAlive } from '../process.ts';

/**
 * An append-only BFCL result file that survives being killed. Each line goes out in one
 * write of the whole line, and a line without its newline at the end of the file (a write
 * cut short by a crash) is cut off when the file is opened again, so every line in the file
 * is whole. The ids already in the file are read back on open: a resumed run asks only the
 * others, and no id is written twice by us.
 */
export class ResultFile {
  readonly answered = new Set<string>();
  /** Bytes of a torn last line that were dropped on open (0 normally). */
  readonly repairedBytes: number;
  #fd: number;
  #dirty = false;
  #syncing: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {
    this.#fd = openSync(path, 'a+');
    const text = readFileSync(this.#fd, 'utf8');
    const end = text.lastIndexOf('\n') + 1;
    this.repairedBytes = Buffer.byteLength(text.slice(end));
    if (this.repairedBytes > 0) ftruncateSync(this.#fd, Buffer.byteLength(text.slice(0, end)));
    for (const line of text.slice(0, end).split('\n')) {
      const id = lineId(line);
      if (id !== undefined) this.answered.add(id);
    }
  }

  /** Appends one line (no newline inside); the id counts as answered from now on. */
  append(id: string, line: string): void {
    const buf = Buffer.from(`${line}\n`, 'utf8');
    // A regular file takes the whole buffer in one write; the loop only guards the rule.
    for (let off = 0; off < buf.length; ) off += writeSync(this.#fd, buf, off, buf.length - off);
    this.answered.add(id);
    this.#dirty = true;
  }

  /** Flushes to the disk (off the event loop); a crash of the machine then loses nothing written before. */
  sync(): Promise<void> {
    if (!this.#dirty) return this.#syncing;
    this.#dirty = false;
    // One flush at a time, each after the previous: close() waits for the last one, so the
    // descriptor is never closed under a flush still running on the thread pool.
    this.#syncing = this.#syncing.then(
      () => new Promise<void>((resolve, reject) => fdatasync(this.#fd, (err) => (err ? reject(err) : resolve()))),
    );
    return this.#syncing;
  }

  async close(): Promise<void> {
    try {
      await this.sync();
    } finally {
      closeSync(this.#fd);
    }
  }
}

/** The id of a result line, or undefined for a line that is not one (it is left as it is). */
function lineId(line: string): string | undefined {
  if (!line.trim()) return undefined;
  try {
    const v: unknown = JSON.parse(line);
    const id = (v as { id?: unknown } | null)?.id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One writer per results directory: two runs appending to the same files would double
 * lines. The lock holds the writer's pid; a lock left by a dead process (a killed run) is
 * taken over.
 */
export function lockDir(dir: string): () => void {
  const path = join(dir, '.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      return () => {
        try {
          unlinkSync(path);
        } catch {
          // already gone: nothing to release
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readSmall(path));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
        throw new Error(`another "eval bfcl run" (pid ${pid}) is writing to ${dir}; wait for it or use another --out`);
      }
      unlinkSync(path);
    }
  }
  throw new Error(`could not lock ${dir}`);
}

function readSmall(path: string): string {
  try {
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(Math.min(64, fstatSync(fd).size));
      readSync(fd, buf, 0, buf.length, 0);
      return buf.toString('utf8').trim();
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** What a results directory was made with: a resumed run must ask the same model the same way. */
export const RunRecord = z.object({
  mode: z.enum(['fc', 'prompt']),
  model: z.string(),
});
export type RunRecord = z.infer<typeof RunRecord>;

export function checkRunRecord(dir: string, want: RunRecord): void {
  const path = join(dir, 'run.json');
  if (!existsSync(path)) {
    writeFileSync(path, JSON.stringify(want, null, 2) + '\n');
    return;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path} is not JSON (${(err as Error).message}); remove it or use another --out`);
  }
  const r = RunRecord.safeParse(raw);
  if (!r.success) throw new Error(`${path}: ${formatIssues(describeIssues(r.error))}`);
  if (r.data.mode !== want.mode || r.data.model !== want.model) {
    throw new Error(
      `${dir} holds results of ${r.data.model} in ${r.data.mode} mode, not ${want.model} in ${want.mode} mode; use another --out to keep them apart`,
    );
  }
}
