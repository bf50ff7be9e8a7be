import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { LooptoolError } from '../../protocols/errors.ts';
import type { ModelSpec } from '../../protocols/trainer.ts';
import { checkpointBaseProblem } from '../../agents/trainer/checkpoint-model.ts';
import { modelSpecFromArg } from '../../agents/trainer/index.ts';
import { roundPolicy } from '../loop/round-policy.ts';

/**
 * `--model` of the commands that load one policy (serve, eval bfcl run, train): a preset, a
 * Hugging Face model directory, a checkpoint the trainer wrote (checkpoints/ckpt-…: the
 * worker loads the policy it holds over its base model), or a loop run, which stands for
 * the policy its last trained round left, or round `round`'s. `from` says which checkpoint
 * a run gave.
 */
export function policyFromArg(arg: string, opts: { round?: number; cwd?: string } = {}): { spec: ModelSpec; from?: string; round?: number } {
  const cwd = opts.cwd ?? process.cwd();
  const spec = modelSpecFromArg(arg, cwd);
  const isRun = spec.path !== undefined && existsSync(join(spec.path, 'manifest.json'));
  if (opts.round !== undefined && !isRun) throw new LooptoolError({ code: 'invalid_input', message: `--round ${opts.round} picks a round of a loop run, and --model ${arg} is not one` });
  if (!spec.path) return { spec };
  let dir = spec.path;
  let from: string | undefined;
  let round: number | undefined;
  if (isRun) {
    const picked = roundPolicy(dir, opts.round);
    round = picked.round;
    from = `${arg}: round ${round}'s policy, ${relative(cwd, picked.checkpoint) || picked.checkpoint}`;
    dir = picked.checkpoint;
  }
  if (existsSync(join(dir, 'meta.json'))) {
    const problem = checkpointBaseProblem(dir);
    if (problem) throw new LooptoolError({ code: 'invalid_input', message: `--model ${arg}: checkpoint ${relative(cwd, dir) || dir} cannot be loaded: ${problem}` });
  }
  return { spec: { ...spec, path: dir }, ...(from ? { from } : {}), ...(round !== undefined ? { round } : {}) };
}
