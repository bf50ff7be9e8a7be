import { z } from 'zod';
import { LooptoolError } from '../../protocols/errors.ts';
import { Manifest } from '../../protocols/loop/records.ts';
import { unlessPruned } from './prune.ts';
import { RunStore } from './store.ts';

/** What a round's train.json says of the policy it left: a checkpoint path relative to the run (null: the base model). */
export const CheckpointOf = z.looseObject({ checkpoint: z.string().nullable().optional() });

/**
 * The policy a loop run's round left: the checkpoint round-`round`/train.json names (round
 * 0: after the warm-up), by default the last trained round's, as an absolute path. What
 * `--model RUN [--round N]` loads.
 */
export function roundPolicy(dir: string, round?: number): { round: number; checkpoint: string } {
  const store = new RunStore(dir);
  const rounds = store.rounds().filter((j) => store.exists(`round-${j}/train.json`));
  if (!rounds.length) throw new LooptoolError({ code: 'invalid_input', message: `${dir}: no round has trained yet (no round-<j>/train.json), so the run has no policy of its own` });
  const j = round ?? rounds[rounds.length - 1]!;
  if (!rounds.includes(j)) throw new LooptoolError({ code: 'invalid_input', message: `${dir}: round ${j} did not train (rounds that did: ${rounds.join(', ')})` });
  const rel = store.readJson(`round-${j}/train.json`, CheckpointOf).checkpoint;
  if (!rel) throw new LooptoolError({ code: 'invalid_input', message: `${dir}: round ${j} left no checkpoint (its policy is the base model); load the base model instead` });
  const manifest = store.readJson('manifest.json', Manifest);
  return { round: j, checkpoint: unlessPruned(manifest, rel, store.absPath(rel)) };
}
