import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { z } from 'zod';
import { LooptoolError } from '../../protocols/errors.ts';
import { Manifest } from '../../protocols/loop/records.ts';
import { FileCheckpointer, MANIFEST } from './checkpoint/index.ts';
import { RunStore } from './store.ts';
import { dependentsOf } from './dependents.ts';

/**
 * Policy checkpoints are most of a finished run's bytes (0.5 GB a round for SmolLM2), and
 * most of them nothing will read again. Pruning removes those of finished runs and keeps
 * what a continuation can still need:
 *  - the last one (`resume --rounds N` goes on from it);
 *  - for a run that other variants start from (one without a base), its warm-up's and
 *    round 1's, which a variant added later adopts (`ablate`; StageContext.sharesBaseRound),
 *    unless `keep` is 'last';
 *  - every checkpoint an unfinished run names, its own or its base's (runs beside the
 *    pruned ones, in the same folder, count too, pruned or not, and so do the replicates
 *    in a pruned run's `<run>-replicates` set and every run its `dependents.jsonl` lists,
 *    wherever it lives: a run started on a base lists itself there, dependents.ts).
 * A removed checkpoint is listed in the manifest of every run that names it (`pruned`),
 * so resume does not take it for damage. Only directories that a run's train.json files
 * name are removed, never anything else under the run.
 */

export type PruneKeep = 'continuations' | 'last';

export type PrunedRun = {
  run: string;
  status: Manifest['status'];
  kept: string[];
  removed: string[];
  bytes: number;
  /** why nothing was removed */
  note?: string;
};

const Named = z.looseObject({ checkpoint: z.string().nullable().optional(), sft: z.looseObject({ checkpoint: z.string().nullable().optional() }).optional() });

/** Run directories at or below `dir` (a run, an ablation, a folder of them), at most `depth` levels down. */
export function findRuns(dir: string, depth = 3): string[] {
  if (existsSync(join(dir, MANIFEST))) return [dir];
  if (depth === 0 || !existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== 'checkpoints' && !e.name.startsWith('round-'))
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => findRuns(join(dir, e.name), depth - 1));
}

/** The checkpoints a run's train.json files name, by round, as absolute paths. */
function named(store: RunStore): { round: number; path: string }[] {
  const out: { round: number; path: string }[] = [];
  for (const round of store.rounds()) {
    const rel = `round-${round}/train.json`;
    if (!store.exists(rel)) continue;
    const t = store.readJson(rel, Named);
    for (const c of [t.checkpoint, t.sft?.checkpoint]) if (c) out.push({ round, path: store.absPath(c) });
  }
  return out;
}

function sizeOf(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((n, f) => n + sizeOf(join(path, f)), 0);
}

/** Prunes the checkpoints of the finished runs under `dirs`; with `dryRun`, only says what it would remove. */
export function pruneCheckpoints(dirs: readonly string[], opts: { keep?: PruneKeep; dryRun?: boolean } = {}): PrunedRun[] {
  const keepMode = opts.keep ?? 'continuations';
  const load = (dir: string) => {
    const store = new RunStore(dir);
    return { dir, store, manifest: store.readJson(MANIFEST, Manifest), named: named(store) };
  };
  const runs = [...new Set(dirs.flatMap((d) => findRuns(d)))].map(load);
  // runs not asked to be pruned may name a pruned run's checkpoints: the variants beside it (an
  // ablation's seed folder), its replicates where `replicate` puts them unless told (--out),
  // and every run started on it that listed itself in its dependents.jsonl, wherever it is
  const asked = new Set(runs.map((r) => r.dir));
  const near = [...new Set(runs.flatMap((r) => [...findRuns(dirname(r.dir), 1), ...findRuns(`${r.dir}-replicates`, 2), ...dependentsOf(r.dir)]))];
  const siblings = near.filter((d) => !asked.has(d)).map(load);
  const protectedPaths = new Set<string>();
  for (const r of [...runs, ...siblings]) {
    const last = r.manifest.checkpoint ? r.store.absPath(r.manifest.checkpoint) : null;
    if (last) protectedPaths.add(last);
    for (const n of r.named) {
      const unfinished = r.manifest.status !== 'done';
      const startsVariants = keepMode === 'continuations' && !r.manifest.base && n.round <= 1;
      if (unfinished || startsVariants) protectedPaths.add(n.path);
    }
  }
  const removedPaths = new Set<string>();
  const results: PrunedRun[] = runs.map((r) => {
    const own = r.named.filter((n) => !relative(r.dir, n.path).startsWith('..'));
    const base = { run: r.dir, status: r.manifest.status, kept: [] as string[], removed: [] as string[], bytes: 0 };
    if (r.manifest.status !== 'done') return { ...base, kept: own.map((n) => n.path), note: 'not finished: resume needs its checkpoints' };
    for (const n of own.filter((x) => existsSync(x.path))) {
      if (protectedPaths.has(n.path)) {
        base.kept.push(n.path);
        continue;
      }
      base.bytes += sizeOf(n.path);
      base.removed.push(n.path);
      removedPaths.add(n.path);
    }
    return base;
  });
  if (opts.dryRun) return results;
  for (const p of removedPaths) rmSync(p, { recursive: true, force: true });
  // every run that names a removed checkpoint (its own, or its base's) records it
  for (const r of [...runs, ...siblings]) {
    const gone = r.named.filter((n) => removedPaths.has(n.path)).map((n) => r.store.relPath(n.path));
    if (!gone.length) continue;
    const pruned = [...new Set([...(r.manifest.pruned ?? []), ...gone])].sort();
    new FileCheckpointer(r.store).put('manifest', { ...r.manifest, pruned });
  }
  return results;
}

/** A checkpoint a stage is about to restore, refused with what happened if `prune` removed it. */
export function unlessPruned(manifest: Pick<Manifest, 'pruned'>, rel: string, abs: string): string {
  if (manifest.pruned?.includes(rel) && !existsSync(abs))
    throw new LooptoolError({
      code: 'invalid_input',
      message: `the policy checkpoint ${rel} was removed by \`looptool prune\`, and this stage needs it: prune keeps only what a continuation reads, so run this round again in a new run`,
    });
  return abs;
}
