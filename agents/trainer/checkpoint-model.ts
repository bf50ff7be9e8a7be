import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { LooptoolError } from '../../protocols/errors.ts';
import type { ModelSpec } from '../../protocols/trainer.ts';
import { presetDir } from './presets.ts';

/*
 * A checkpoint holds the trained weights (or a LoRA adapter), not the tokenizer or the base
 * weights: the worker rebuilds a restored policy from a base model directory. Restoring a
 * checkpoint over another model than the one it was trained from would train that model
 * silently under the config's name (a replicate or `run --base` with another trainer.model,
 * a run resumed after its model was changed), and a base rebuilt in place (a new nano recipe
 * makes a new tokenizer at the same path) would pair old weights with new token ids. So a
 * checkpoint records the base's fingerprint (its files' content) and a restore is refused
 * when the configured model's differs, wherever the two live: a run moved to a machine
 * whose model cache is elsewhere restores from there. A checkpoint written before
 * fingerprints were recorded is compared by path, as it was then.
 */

type ParsedModelSpec = z.output<typeof ModelSpec>;

/** What a checkpoint's meta.json must hold for the comparison; anything else is left to the worker to refuse. */
const StoredSpec = z.object({
  spec: z.object({ path: z.string().min(1), lora: z.unknown().optional(), chat_template: z.string().optional() }),
  meta: z.object({ model_fingerprint: z.string().optional() }).optional(),
});

/** The file the nano build writes beside the model: when and how long it was built, not what the model is. */
const BUILD_RECORD = 'looptool-model.json';
/** Files up to this size are hashed whole; bigger ones (weights) by their size, first and last MiB. */
const WHOLE_FILE_BYTES = 64 << 20;
const EDGE_BYTES = 1 << 20;

/**
 * A model directory's identity by content: every file at its top level (links followed)
 * but the build record and hidden files, by name, size and hash. Weights above 64 MiB are
 * hashed by their first and last MiB, which hold the safetensors header (every tensor's
 * name, shape and offset) and the last tensors: enough to tell a rebuilt or replaced model
 * apart without reading half a gigabyte on every checkpoint.
 */
export function modelFingerprint(dir: string): string {
  const h = createHash('sha256');
  const names = readdirSync(dir)
    .filter((n) => !n.startsWith('.') && n !== BUILD_RECORD)
    .sort();
  for (const name of names) {
    const file = join(dir, name);
    const st = statSync(file);
    if (!st.isFile()) continue;
    h.update(`${name}\0${st.size}\0`);
    if (st.size <= WHOLE_FILE_BYTES) h.update(readFileSync(file));
    else {
      const fd = openSync(file, 'r');
      try {
        const buf = Buffer.alloc(EDGE_BYTES);
        readSync(fd, buf, 0, EDGE_BYTES, 0);
        h.update(buf);
        readSync(fd, buf, 0, EDGE_BYTES, st.size - EDGE_BYTES);
        h.update(buf);
      } finally {
        closeSync(fd);
      }
    }
  }
  return `sha256:${h.digest('hex')}`;
}

function storedSpec(checkpoint: string): z.infer<typeof StoredSpec> | undefined {
  const metaFile = join(checkpoint, 'meta.json');
  if (!existsSync(metaFile)) return undefined;
  try {
    const parsed = StoredSpec.safeParse(JSON.parse(readFileSync(metaFile, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** A model directory as one comparable path: symlinks followed where it exists. */
function sourceOf(path: string): string {
  const abs = resolve(path);
  return existsSync(abs) ? realpathSync(abs) : abs;
}

/** `changed`: the configured model lives where the checkpoint's did, but its files are not those it was trained from. */
type Difference = { field: string; checkpoint: string; configured: string; words: string; changed?: boolean };

/** The fields in which the checkpoint's model differs from `configured`, with both values, in words. */
export function checkpointModelDifferences(checkpoint: string, configured: ParsedModelSpec, env: NodeJS.ProcessEnv = process.env): Difference[] {
  const parsed = storedSpec(checkpoint);
  return parsed ? differences(parsed, configured, env) : [];
}

function differences(parsed: z.infer<typeof StoredSpec>, configured: ParsedModelSpec, env: NodeJS.ProcessEnv): Difference[] {
  const stored = parsed.spec;
  const out: Difference[] = [];
  const add = (field: string, there: string, here: string, words = `${field}: ${there} there, ${here} here`, changed = false) =>
    out.push({ field, checkpoint: there, configured: here, words, ...(changed ? { changed } : {}) });
  const field = configured.preset ? 'trainer.model.preset' : 'trainer.model.path';
  const want = configured.preset ? presetDir(configured.preset, env) : configured.path!;
  const named = configured.preset ? `preset "${configured.preset}" (${want})` : want;
  const samePath = sourceOf(stored.path) === sourceOf(want);
  const recorded = parsed.meta?.model_fingerprint;
  // with a fingerprint the files decide, wherever they lie; without one (older checkpoints), the path
  const same = recorded === undefined ? samePath : existsSync(join(want, 'config.json')) && modelFingerprint(want) === recorded;
  if (!same && recorded !== undefined && samePath)
    add(field, stored.path, named, `${field}: the files of ${want} changed since the checkpoint was written (the model was rebuilt or replaced)`, true);
  else if (!same) add(field, stored.path, named);
  const lora = (v: unknown) => (v === undefined || v === null ? 'none' : JSON.stringify(v));
  if (lora(stored.lora) !== lora(configured.lora)) add('trainer.model.lora', lora(stored.lora), lora(configured.lora));
  if (stored.chat_template !== undefined && stored.chat_template !== configured.chat_template) add('trainer.model.chat_template', stored.chat_template, configured.chat_template);
  return out;
}

/**
 * Refuses to restore `checkpoint` when it holds another model than `configured`, naming each
 * field that differs; otherwise returns the base fingerprint the checkpoint recorded, if any.
 */
export function checkCheckpointModel(checkpoint: string, configured: ParsedModelSpec, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const parsed = storedSpec(checkpoint);
  const d = parsed ? differences(parsed, configured, env) : [];
  if (!d.length) return parsed?.meta?.model_fingerprint;
  const where = relative(process.cwd(), checkpoint) || checkpoint;
  const why = d.some((x) => x.changed)
    ? "restoring it would pair its weights with a base (tokenizer, config, weights) they were not trained with. Put back the model the run was trained from, or start from fresh weights (no --base)"
    : "restoring it would train the checkpoint's model under this config's name. Set trainer.model as the run that wrote it had it, or start from fresh weights (no --base)";
  throw new LooptoolError({
    code: 'invalid_input',
    message: `checkpoint ${where} holds another model than the config names (${d.map((x) => x.words).join('; ')}); ${why}`,
    issues: d.map((x) => ({ path: x.field, message: `differs from the checkpoint's (${x.checkpoint})` })),
  });
}

/**
 * Why `checkpoint` cannot be loaded over the base model it names, if it cannot: the base is
 * not on this machine, or its files changed since the checkpoint was written. What loading a
 * checkpoint by itself (`serve --model`, `eval bfcl run --model`) checks, where a restore in
 * a run compares against the run's configured model (checkCheckpointModel).
 */
export function checkpointBaseProblem(checkpoint: string): string | undefined {
  const parsed = storedSpec(checkpoint);
  if (!parsed) return undefined;
  const base = parsed.spec.path;
  if (!existsSync(join(base, 'config.json'))) return `its base model ${base} is not on this machine`;
  const recorded = parsed.meta?.model_fingerprint;
  if (recorded !== undefined && modelFingerprint(base) !== recorded) return `the files of its base model ${base} changed since it was written (the model was rebuilt or replaced), so its weights would meet a tokenizer and config they were not trained with`;
  return undefined;
}
