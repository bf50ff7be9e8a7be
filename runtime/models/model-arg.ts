import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { LooptoolError } from '../../protocols/errors.ts';
import type { ModelSpec } from '../../protocols/trainer.ts';
import { checkpointBaseProblem } from '../../agents/trainer/checkpoint-model.ts';
import { modelSpecFromArg } from '../../agents/trainer/index.ts';
import { lastRoundPolicy } from '../loop/round-policy.ts';

/**
 * `--model` of the commands that load one policy (serve, eval bfcl run, train): a preset, a
 * Hugging Face model directory, a checkpoint the trainer wrote (checkpoints/ckpt-…: the
 * worker loads the policy it holds over its base model), or a loop run, which stands for
 * the policy its last trained round left. `from` says which checkpoint a run gave.
 */
export function policyFromArg(arg: string, cwd: string = process.cwd()): { spec: ModelSpec; from?: string } {
  const spec = modelSpecFromArg(arg, cwd);
  if (!spec.path) return { spec };
  let dir = spec.path;
  let from: string | undefined;
  if (existsSync(join(dir, 'manifest.json'))) {
    const { round, checkpoint } = lastRoundPolicy(dir);
    from = `${arg}: round ${round}'s policy, ${relative(cwd, checkpoint) || checkpoint}`;
    dir = checkpoint;
  }
  if (existsSync(join(dir, 'meta.json'))) {
    const problem = checkpointBaseProblem(dir);
    if (problem) throw new LooptoolError({ code: 'invalid_input', message: `--model ${arg}: checkpoint ${relative(cwd, dir) || dir} cannot be loaded: ${problem}` });
  }
  return { spec: { ...spec, path: dir }, ...(from ? { from } : {}) };
}
