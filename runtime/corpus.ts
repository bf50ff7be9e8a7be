import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { z } from 'zod';
import { LooptoolError, describeIssues, type ErrorIssue } from '../protocols/errors.ts';
import { Sample } from '../protocols/sample.ts';
import { sampleToOpenAI } from '../protocols/samples.ts';
import { writeFileAtomic } from './rundir.ts';

/**
 * JSON Lines files of the run directory: one self-describing record per line,
 * validated on read with errors that name the file, the line and the field.
 * Appends write whole lines in one call; a crash can leave at most a torn last
 * line, which `readJsonl` reports (or drops, when asked to tolerate it) and
 * `rewriteJsonl` removes.
 */

export type JsonlIssue = { line: number; issues: ErrorIssue[] };
export type JsonlRead<T> = { records: T[]; lines: number[]; torn: boolean };

function lineError(path: string, line: number, issues: ErrorIssue[]): LooptoolError {
  return new LooptoolError({ code: 'invalid_input', message: `${path}:${line}: invalid record`, issues: issues.map((i) => ({ path: `line ${line}: ${i.path}`, message: i.message })) });
}

/**
 * Reads and validates every line. A last line without its newline that does not
 * parse is a torn append: an error, or skipped (`torn: true`) with `tolerateTornTail`.
 */
export function readJsonl<S extends z.ZodType>(path: string, schema: S, opts: { tolerateTornTail?: boolean } = {}): JsonlRead<z.output<S>> {
  const out: JsonlRead<z.output<S>> = { records: [], lines: [], torn: false };
  if (!existsSync(path)) return out;
  const text = readFileSync(path, 'utf8');
  const rows = text.split('\n');
  const endsClean = text.endsWith('\n') || text.length === 0;
  rows.forEach((row, i) => {
    const line = i + 1;
    if (row.trim() === '') return;
    const last = i === rows.length - 1 && !endsClean;
    let value: unknown;
    try {
      value = JSON.parse(row);
    } catch (err) {
      if (last && opts.tolerateTornTail) {
        out.torn = true;
        return;
      }
      throw lineError(path, line, [{ path: '(root)', message: `not JSON: ${(err as Error).message}` }]);
    }
    const r = schema.safeParse(value);
    if (!r.success) throw lineError(path, line, describeIssues(r.error));
    out.records.push(r.data);
    out.lines.push(line);
  });
  return out;
}

function toLines(records: readonly unknown[]): string {
  let s = '';
  for (const r of records) s += `${JSON.stringify(r)}\n`;
  return s;
}

/** Appends records as whole lines in one write. */
export function appendJsonl(path: string, records: readonly unknown[]): void {
  if (records.length === 0) return;
  mkdirSync(dirname(path), { recursive: true });
  appendFileSync(path, toLines(records));
}

/** Replaces the file's content atomically (readers see the old or the new file). */
export function rewriteJsonl(path: string, records: readonly unknown[]): void {
  writeFileAtomic(path, toLines(records));
}

export function readSamples(path: string): Sample[] {
  return readJsonl(path, Sample).records;
}

/** Exports samples to OpenAI's fine-tuning format; masked samples are left out unless asked for. */
export function exportOpenAI(samples: readonly Sample[], path: string, opts: { includeMasked?: boolean } = {}): number {
  const rows = samples.filter((s) => opts.includeMasked || !s.masked).map(sampleToOpenAI);
  rewriteJsonl(path, rows);
  return rows.length;
}

/** Exports samples as looptool JSONL (truth included: it is the run's own record). */
export function exportLooptool(samples: readonly Sample[], path: string, opts: { includeMasked?: boolean; withTruth?: boolean } = {}): number {
  const rows = samples
    .filter((s) => opts.includeMasked !== false || !s.masked)
    .map((s) => {
      if (opts.withTruth === false) {
        const { truth: _t, ...rest } = s;
        return rest;
      }
      return s;
    });
  rewriteJsonl(path, rows);
  return rows.length;
}
