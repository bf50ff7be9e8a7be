import { existsSync } from 'node:fs';
import { LooptoolError, type ErrorIssue } from '../../protocols/errors.ts';
import type { Manifest, StageEntry } from '../../protocols/loop/records.ts';
import { FileCheckpointer, MANIFEST, SNAPSHOT } from './checkpoint/index.ts';
import type { RunStore } from './store.ts';
import { CheckpointOf } from './round-policy.ts';

/**
 * Resume trusts a finished stage only while its files are the ones the stage wrote: the
 * manifest keeps each file's record count and checksum, and before a run continues every
 * finished stage is checked against them. A stage whose files were cut, changed or deleted
 * would otherwise feed later stages silently wrong data (a verifying stage "finished" with
 * 3 verdicts instead of 7).
 */

/** One way a finished stage's files differ from what the manifest recorded. */
export type Damage = { stage: string; file: string; problem: string };


const TRAINS: ReadonlySet<string> = new Set(['warmup', 'training']);

function stageName(e: Pick<StageEntry, 'stage' | 'round'>): string {
  return `${e.stage}@${e.round}`;
}

/** The checkpoint a finished warm-up or training stage left, as train.json records it (run-dir relative). */
function checkpointOf(store: RunStore, e: StageEntry): string | null {
  const rel = `round-${e.round}/train.json`;
  if (!TRAINS.has(e.stage) || !store.exists(rel)) return null;
  return store.readJson(rel, CheckpointOf).checkpoint ?? null;
}

/** Every difference between the finished stages of `manifest` and the files in the run directory. */
export function verifyStages(store: RunStore, manifest: Manifest): Damage[] {
  const out: Damage[] = [];
  for (const e of manifest.stages) {
    const stage = stageName(e);
    let filesOk = true;
    for (const [file, want] of Object.entries(e.files)) {
      const got = store.fileInfo(file);
      let problem: string | undefined;
      if (!got) problem = 'missing';
      else if (got.records !== want.records) problem = `${got.records} records, the manifest recorded ${want.records}`;
      else if (got.checksum !== want.checksum) problem = `checksum differs from the manifest (${got.checksum.slice(0, 19)}… vs ${want.checksum.slice(0, 19)}…): changed after its stage finished`;
      if (problem) {
        out.push({ stage, file, problem });
        filesOk = false;
      }
    }
    // The policy a training stage left is part of its output: later stages restore it.
    const ckpt = filesOk ? checkpointOf(store, e) : null;
    if (ckpt && !existsSync(store.absPath(ckpt)) && !manifest.pruned?.includes(ckpt)) out.push({ stage, file: ckpt, problem: 'checkpoint missing' });
  }
  return out;
}

export type ResumePlan = {
  /** the manifest to continue with (undefined: start the loop afresh, reusing what the seeding driver finished) */
  manifest: Manifest | undefined;
  /** stages dropped from the manifest to be run again, in order */
  rerun: string[];
};

/** The refusal: every damaged file, with what differs and the stage it belongs to. */
export function damageError(dir: string, damage: Damage[]): LooptoolError {
  const issues: ErrorIssue[] = damage.map((d) => ({ path: d.file, message: `${d.problem} (${d.stage})` }));
  return new LooptoolError({
    code: 'invalid_input',
    message: `${dir}: finished stages do not match their files, nothing was run; \`looptool resume --rerun-damaged\` runs the damaged stage and every stage after it again`,
    issues,
  });
}

function refuse(dir: string, damage: Damage[]): never {
  throw damageError(dir, damage);
}

/**
 * Checks a run directory before `resume` continues it. Refuses a directory that is not a
 * loop run, and a run whose finished stages do not match their files; with `rerunDamaged`
 * drops the first damaged stage and every stage finished after it from the manifest (and
 * the machine snapshot, which may stand past them) so they run again.
 */
export function planResume(store: RunStore, opts: { rerunDamaged?: boolean } = {}): ResumePlan {
  const dir = store.dir;
  const checkpoints = new FileCheckpointer(store);
  const hadSnapshot = store.exists(SNAPSHOT);
  try {
    checkpoints.get('snapshot');
  } catch (err) {
    if (!opts.rerunDamaged) throw err;
    checkpoints.delete('snapshot');
  }
  if (!store.exists(MANIFEST)) {
    // The loop writes its manifest before anything else and its snapshot on the first
    // transition: a directory with neither was never a loop run.
    if (!hadSnapshot)
      throw new LooptoolError({
        code: 'invalid_input',
        message: `${dir} is not a loop run (no ${MANIFEST}, no ${SNAPSHOT}); a directory made by \`looptool seed\` cannot be resumed as a loop: start one with \`looptool run --out <new dir>\``,
      });
    if (!opts.rerunDamaged) refuse(dir, [{ stage: 'all', file: MANIFEST, problem: 'missing: which stages finished is unknown' }]);
    checkpoints.delete('snapshot');
    return { manifest: undefined, rerun: ['all'] };
  }
  let manifest: Manifest;
  try {
    manifest = checkpoints.get('manifest')!;
  } catch (err) {
    if (!opts.rerunDamaged) refuse(dir, [{ stage: 'all', file: MANIFEST, problem: `unreadable: ${(err as Error).message}` }]);
    checkpoints.delete('snapshot');
    return { manifest: undefined, rerun: ['all'] };
  }
  const damage = verifyStages(store, manifest);
  if (damage.length === 0) return { manifest, rerun: [] };
  if (!opts.rerunDamaged) refuse(dir, damage);
  const bad = new Set(damage.map((d) => d.stage));
  const first = manifest.stages.findIndex((e) => bad.has(stageName(e)));
  const kept = manifest.stages.slice(0, first);
  const lastTrain = kept.filter((e) => TRAINS.has(e.stage)).at(-1);
  const next: Manifest = { ...manifest, stages: kept, checkpoint: lastTrain ? checkpointOf(store, lastTrain) : null };
  checkpoints.put('manifest', next);
  // The machine then starts from its first state; every stage still in the manifest answers
  // from its files at once, so it arrives where the damage begins without redoing anything.
  checkpoints.delete('snapshot');
  return { manifest: next, rerun: manifest.stages.slice(first).map(stageName) };
}
