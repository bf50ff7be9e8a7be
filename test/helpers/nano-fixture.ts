import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { modelsDir } from '../../agents/trainer/presets.ts';
import { ensureNano } from '../../runtime/models/nano.ts';

/*
 * The model cache the tests run against (scripts/run-tests.mjs points LOOPTOOL_MODELS at it
 * and sets LOOPTOOL_NANO_RECIPE=smoke): `nano` is the smoke recipe of the real nano
 * pipeline — a short simulated stream, the BPE tokenizer, a Qwen3 smaller than the default, two
 * epochs of pretraining (the second with re-drawn values) — so every test that loads the nano preset runs the one model path in
 * seconds; `smollm2` links to the machine's converted SmolLM2. Built once per machine.
 */
export async function ensureTestModels(root: string, realModels: string): Promise<void> {
  mkdirSync(root, { recursive: true });
  await ensureNano({ threads: 2, onProgress: (phase, done, total) => done === total && process.stderr.write(`test set-up: nano ${phase} done\n`) });
  const smol = join(root, 'smollm2');
  const real = join(realModels, 'smollm2');
  if (!existsSync(smol) && existsSync(join(real, 'config.json'))) {
    rmSync(smol, { force: true });
    symlinkSync(real, smol);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.env.LOOPTOOL_NANO_RECIPE !== 'smoke') throw new Error('nano-fixture: run through scripts/run-tests.mjs (LOOPTOOL_NANO_RECIPE=smoke)');
  await ensureTestModels(modelsDir(), process.env.LOOPTOOL_REAL_MODELS ?? join(modelsDir(), '..', 'models'));
}
