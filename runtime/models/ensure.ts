import type { ModelSpec } from '../../protocols/trainer.ts';
import { resolveModelSpec } from '../../agents/trainer/index.ts';
import { Progress } from '../terminal.ts';
import { currentNano, ensureNano, type BuildProgress } from './nano.ts';

/** A progress bar per build phase, on stderr. */
export function buildProgress(): BuildProgress & { end(): void } {
  let bar: Progress | undefined;
  let phase = '';
  const fn = ((p, done, total, note) => {
    if (p !== phase) {
      bar?.end();
      phase = p;
      bar = new Progress(`nano ${p}`, total);
    }
    bar!.set(done, note ?? '');
  }) as BuildProgress & { end(): void };
  fn.end = () => bar?.end();
  return fn;
}

/**
 * Makes sure the policy a command is about to load exists on this machine: the nano base
 * is built (once, with progress on stderr) when it is missing or stale; any other preset
 * or directory must already be there, and the error says how to get it.
 */
export async function ensureModel(spec: ModelSpec, opts: { quiet?: boolean } = {}): Promise<void> {
  if (spec.preset === 'nano' && !currentNano()) {
    if (!opts.quiet) process.stderr.write('the nano base model is not built on this machine yet: building it once (simulated pretraining stream, tokenizer, pretraining)\n');
    const progress = opts.quiet ? undefined : buildProgress();
    await ensureNano({ onProgress: progress });
    progress?.end();
    return;
  }
  resolveModelSpec(spec);
}
