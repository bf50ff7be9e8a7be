import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { z } from 'zod';
import { LooptoolError, describeIssues } from '../../protocols/errors.ts';
import { checksum } from '../../protocols/loop/hash.ts';
import type { Manifest, StageEntry } from '../../protocols/loop/records.ts';
import type { Stage } from '../../protocols/loop/stages.ts';
import { readJsonl, rewriteJsonl } from '../corpus.ts';
import { writeFileAtomic, writeJsonAtomic } from '../rundir.ts';

/**
 * The loop's files in a run directory (DESIGN.md §2.6):
 *
 *   config.json            the run config
 *   manifest.json          stages done (with record counts and checksums), the policy checkpoint
 *   snapshot.json          the loop machine's persisted snapshot, after every transition
 *   round-0/               seed corpus (the seeding driver's files), pool.jsonl, test.jsonl,
 *                          warmup.json, eval.jsonl + eval.json (the warmed-up policy)
 *   round-<j>/data.jsonl   D_j, with composition.json
 *             train.json, probes.jsonl, verdicts.jsonl, expansions.jsonl, eval.jsonl, eval.json
 *             <stage>.partial.jsonl   per-item results of a stage in progress (resume reads them)
 *   checkpoints/           policy checkpoints
 *   report.md, accuracy.svg
 *
 * Stage outputs are written whole and atomically; the manifest entry comes after them,
 * so a stage listed in the manifest has all its files. The manifest, the snapshot and the
 * partial files are the loop's checkpoints (checkpoint/file.ts); this class keeps the rest.
 */

export class RunStore {
  constructor(readonly dir: string) {}

  path(rel: string): string {
    return join(this.dir, rel);
  }

  round(j: number, name: string): string {
    return `round-${j}/${name}`;
  }

  exists(rel: string): boolean {
    return existsSync(this.path(rel));
  }

  /** The numbers of the run's round-<j> directories, in order; none when the run directory is missing. */
  rounds(): number[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .map((d) => /^round-(\d+)$/.exec(d))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
  }

  // ---------------------------------------------------------------- JSONL

  read<S extends z.ZodType>(rel: string, schema: S): z.output<S>[] {
    return readJsonl(this.path(rel), schema).records;
  }

  /** Writes a whole stage output atomically; returns its record count and checksum. */
  write(rel: string, records: readonly unknown[]): FileInfo {
    rewriteJsonl(this.path(rel), records);
    return this.fileInfo(rel)!;
  }

  writeJson(rel: string, value: unknown): FileInfo {
    writeJsonAtomic(this.path(rel), value);
    return this.fileInfo(rel)!;
  }

  /**
   * What the manifest records of a stage file, and what resume compares it with: the
   * records (non-empty lines of a JSONL file; 1 for a JSON file) and a checksum of the
   * text. Undefined when the file is missing.
   */
  fileInfo(rel: string): FileInfo | undefined {
    const p = this.path(rel);
    if (!existsSync(p)) return undefined;
    const text = readFileSync(p, 'utf8');
    const records = rel.endsWith('.jsonl') ? text.split('\n').filter((l) => l.trim()).length : 1;
    return { records, checksum: checksum(text) };
  }

  /**
   * A path as the run directory keeps it: relative to the run directory, so a copied or
   * moved run still finds its checkpoints. Paths elsewhere (another run's) stay relative too.
   */
  relPath(path: string): string {
    return isAbsolute(path) ? relative(this.dir, path) || '.' : path;
  }

  /** A path kept by `relPath` (or an absolute one from older runs) as an absolute path. */
  absPath(path: string): string {
    return resolve(this.dir, path);
  }

  readJson<S extends z.ZodType>(rel: string, schema: S): z.output<S> {
    const p = this.path(rel);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(p, 'utf8'));
    } catch (err) {
      throw new LooptoolError({ code: 'invalid_input', message: `${p}: ${(err as Error).message}` });
    }
    const r = schema.safeParse(raw);
    if (!r.success) throw new LooptoolError({ code: 'invalid_input', message: `invalid ${p}`, issues: describeIssues(r.error) });
    return r.data;
  }

  writeText(rel: string, text: string): void {
    writeFileAtomic(this.path(rel), text);
  }
}

export type FileInfo = { records: number; checksum: string };

export function findStage(m: Manifest, round: number, stage: Stage): StageEntry | undefined {
  return m.stages.find((s) => s.round === round && s.stage === stage);
}
