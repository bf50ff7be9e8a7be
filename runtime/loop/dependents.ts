import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { RunConfig } from '../../protocols/config.ts';
import { DependentRecord, Manifest } from '../../protocols/loop/index.ts';
import { checkCheckpointModel } from '../../agents/trainer/checkpoint-model.ts';
import { appendJsonl, readJsonl } from '../corpus.ts';
import { RunStore } from './store.ts';

/*
 * A run started on another's round 0 (`--base`: ablation variants, replicates, `run
 * --base`) restores that base's checkpoints. It lists itself in the base's
 * `dependents.jsonl`, so that `looptool prune` of the base finds it wherever it was put
 * (`replicate --out`, a `run --base` in another folder). Paths are relative to the base,
 * so a base moved together with its dependents still finds them. One appended line per
 * run: replicates started at once each write their own line, never the same file whole.
 */

const FILE = 'dependents.jsonl';

/** Lists `runDir` among `baseDir`'s dependents (once). */
export function recordDependent(baseDir: string, runDir: string): void {
  const run = relative(resolve(baseDir), resolve(runDir));
  if (readJsonl(join(baseDir, FILE), DependentRecord, { tolerateTornTail: true }).records.some((r) => r.run === run)) return;
  appendJsonl(join(baseDir, FILE), [{ run } satisfies DependentRecord]);
}

/** The dependents of `baseDir` that still exist as runs (absolute paths). */
export function dependentsOf(baseDir: string): string[] {
  const listed = readJsonl(join(baseDir, FILE), DependentRecord, { tolerateTornTail: true }).records.map((r) => resolve(baseDir, r.run));
  return [...new Set(listed)].filter((d) => existsSync(join(d, 'manifest.json')));
}

/**
 * Refuses a run on `baseDir` whose trainer.model is not the model the base trained: it
 * would restore the base's checkpoints, which the trainer refuses too, but only after
 * this run's folder and config were written (and a replicate set then holds a folder of
 * another setting). The base's last checkpoint stands for all of them.
 */
export function checkBaseModel(baseDir: string, model: RunConfig['trainer']['model']): void {
  const store = new RunStore(baseDir);
  const last = store.readJson('manifest.json', Manifest).checkpoint;
  if (last) checkCheckpointModel(store.absPath(last), model);
}
