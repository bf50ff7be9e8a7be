import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { VARIANTS, type Variant } from '../../protocols/loop/config.ts';
import type { RoundEval } from '../../protocols/loop/records.ts';
import { summarizeAblation, type AblationSummary } from '../../protocols/loop/ablation.ts';
import { leafDifferences, type JsonObject, type LeafDifference } from '../../protocols/json.ts';
import { LooptoolError } from '../../protocols/errors.ts';
import { readSeedsRun, seedsText } from './seed-runs.ts';
import { seedTablesText, type SeedColumn } from './seed-tables.ts';

/**
 * Finished `ablate --seeds` runs of different settings on the same seeds, paired seed by
 * seed: whether a setting changes a variant's result (fresh probes against none, one step
 * size against another) is a paired difference over the seeds both ran, with its interval,
 * as `ablate` gives each variant against static within one run. `--pool` is the other way
 * round: the same settings on different seeds, summarised as one run.
 */

/**
 * One column to compare: a variant of one run folder (`DIR:VARIANT`), or every finished
 * variant in it (`DIR`); `NAME=` before it names the column (NAME/VARIANT for `DIR` alone).
 */
export type ColumnSpec = { dir: string; variant?: Variant; name?: string };

export type ComparedColumn = { name: string; dir: string; variant: Variant; seeds: string[] };

export type RunComparison = {
  columns: ComparedColumn[];
  summary: AblationSummary;
  /** each column's settings against the others' (its first seed's configuration, less the seed and the variant's ablations); `values` follow `columns` */
  configDifferences: LeafDifference[];
  /** every column is a `looptool replicate` set: paired by replicate (`<seed>/<trainSeed>`), whose training seed is no setting */
  byReplicate: boolean;
  /** seeds whose test split is not the same file in every column that ran them: paired by seed, not by sample */
  testSplitsDiffer: string[];
  tables: SeedColumn[];
};

/** Parses `[NAME=]DIR[:VARIANT]`; a colon followed by something that is not a variant is part of the path. */
export function parseColumnSpec(item: string): ColumnSpec {
  const named = /^([\w.-]+)=(.+)$/.exec(item);
  const name = named ? { name: named[1]! } : {};
  const path = named ? named[2]! : item;
  const at = path.lastIndexOf(':');
  const tail = at >= 0 ? path.slice(at + 1) : '';
  if (at > 0 && tail in VARIANTS) return { dir: path.slice(0, at), variant: tail as Variant, ...name };
  if (at > 0 && /^[a-z-]+$/.test(tail) && !existsSync(path))
    throw new LooptoolError({ code: 'invalid_input', message: `${item}: unknown variant "${tail}" (known: ${Object.keys(VARIANTS).join(', ')})` });
  return { dir: path, ...name };
}

/**
 * Reads every column's finished runs and pairs them by seed. The reference (every Δ is a
 * column minus it) is `reference` when named, else the first static column, else the last.
 */
export function compareRuns(specs: readonly ColumnSpec[], reference?: string): RunComparison {
  const read = new Map(specs.map((s) => [s.dir, readSeedsRun(s.dir)] as const));
  const label = columnLabels(specs.map((s) => s.dir));
  const columns: (ComparedColumn & { bySeed: Map<string, RoundEval[]>; config: JsonObject; testHash: Map<string, string> })[] = [];
  for (const spec of specs) {
    const folders = read.get(spec.dir)!;
    const variants = spec.variant ? [spec.variant] : (Object.keys(VARIANTS) as Variant[]).filter((v) => folders.some((f) => f.finished.has(v)));
    if (!variants.length) throw new LooptoolError({ code: 'invalid_input', message: `${spec.dir}: no variant finished on any seed` });
    for (const variant of variants) {
      const done = folders.filter((f) => f.finished.has(variant));
      if (!done.length) throw new LooptoolError({ code: 'invalid_input', message: `${spec.dir}: ${variant} finished on no seed (present: ${[...new Set(folders.flatMap((f) => f.present))].join(', ') || 'none'})` });
      const name = spec.name && spec.variant ? spec.name : `${spec.name ?? label.get(spec.dir)}/${variant}`;
      if (columns.some((c) => c.name === name)) throw new LooptoolError({ code: 'invalid_input', message: `${name} is named twice` });
      columns.push({
        name,
        dir: spec.dir,
        variant,
        seeds: done.map((f) => f.seed),
        bySeed: new Map(done.map((f) => [f.seed, f.finished.get(variant)!])),
        config: done[0]!.config,
        testHash: new Map(done.map((f) => [f.seed, f.testHash.get(variant)!])),
      });
    }
  }
  if (columns.length < 2) throw new LooptoolError({ code: 'invalid_input', message: `--compare needs two or more columns; ${columns.map((c) => c.name).join(', ')} is one` });
  const ref = reference ?? columns.find((c) => c.variant === 'static')?.name ?? columns.at(-1)!.name;
  if (!columns.some((c) => c.name === ref)) throw new LooptoolError({ code: 'invalid_input', message: `--reference ${ref}: not a column (columns: ${columns.map((c) => c.name).join(', ')})` });
  const seeds = [...new Set(columns.flatMap((c) => c.seeds))];
  const byReplicate = [...read.values()].every((folders) => folders.every((f) => f.seedDir.startsWith('replicate-')));
  const testSplitsDiffer = seeds.filter((s) => new Set(columns.flatMap((c) => c.testHash.get(s) ?? [])).size > 1);
  const summary = summarizeAblation(seeds, new Map(columns.map((c) => [c.name, c.bySeed])), ref);
  return {
    columns: columns.map(({ name, dir, variant, seeds }) => ({ name, dir, variant, seeds })),
    summary,
    // between replicate sets, the training seed is what pairs them, not a setting
    configDifferences: leafDifferences(
      columns.map((c) => c.config),
      ['seed', 'loop.ablations', ...(byReplicate ? ['loop.trainSeed'] : [])],
    ),
    byReplicate,
    testSplitsDiffer,
    tables: columns.map((c) => ({ name: c.name, bySeed: c.bySeed })),
  };
}

/** The comparison as text: its columns, what their settings differ in, whether the seeds' test splits match, then the summary and the tables. */
export function comparisonText(r: RunComparison): string {
  const unit = r.byReplicate ? 'replicate' : 'seed';
  const head = `Compared ${r.columns.length} columns over ${r.summary.seeds.length} ${unit}s, paired by ${unit} (Δ: a column minus ${r.summary.reference}): ${r.columns.map((c) => `${c.name} (${c.seeds.length})`).join(', ')}`;
  const diffs = r.configDifferences.length
    ? [`The columns' settings differ (besides the ${unit}):`, ...r.configDifferences.map((d) => `  ${d.path}: ${valuesText(d, r.columns)}`)].join('\n')
    : `The columns' settings are the same but for the ${unit} and the variant.`;
  const splits = r.testSplitsDiffer.length
    ? `The test split is not the same file in every column (or is missing) on ${r.testSplitsDiffer.join(', ')}: paired by ${unit} there, not sample by sample.`
    : `Each ${unit} has the same test split in every column.`;
  const unpaired = r.summary.variants.filter((v) => v.variant !== r.summary.reference && !v.vsReference).map((v) => v.variant);
  const alone = unpaired.length ? `No ${unit} in common with ${r.summary.reference}, so no paired difference: ${unpaired.join(', ')}.` : '';
  return [head, diffs, splits, alone, seedsText(r.summary, `${unit}s`), '', ...seedTablesText(r.summary, r.tables, `${unit}s`)].filter((l, i) => i !== 3 || l).join('\n');
}

/** Each value of a differing setting with the columns that hold it. */
function valuesText(d: LeafDifference, columns: readonly ComparedColumn[]): string {
  const byValue = new Map<string, string[]>();
  d.values.forEach((v = '(unset)', i) => byValue.set(v, [...(byValue.get(v) ?? []), columns[i]!.name]));
  return [...byValue].map(([v, names]) => `${v} (${names.join(', ')})`).join('; ');
}

/** A short label per folder: its base name, or the path as given where two folders share a base name. */
function columnLabels(dirs: readonly string[]): Map<string, string> {
  const base = (d: string) => basename(d.replace(/\/+$/, ''));
  const clash = (d: string) => dirs.some((o) => o !== d && base(o) === base(d));
  return new Map(dirs.map((d) => [d, clash(d) ? d.replace(/\/+$/, '') : base(d)]));
}
