import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { LooptoolError } from '../../protocols/errors.ts';
import type { ModelSpec } from '../../protocols/trainer.ts';
import { presetDir } from './presets.ts';

/*
 * The worker rebuilds a restored policy from the model spec its checkpoint stored, not
 * from trainer.model. A checkpoint of another model than the config names would so be
 * trained on silently under the config's name (a replicate or `run --base` with another
 * trainer.model, a run resumed after its model was changed). The restore is refused first.
 */

type ParsedModelSpec = z.output<typeof ModelSpec>;

/** What a checkpoint's meta.json must hold for the comparison; anything else is left to the worker to refuse. */
const StoredSpec = z.object({ spec: z.object({ path: z.string().min(1), lora: z.unknown().optional(), chat_template: z.string().optional() }) });

/** A model directory as one comparable path: symlinks followed where it exists. */
function sourceOf(path: string): string {
  const abs = resolve(path);
  return existsSync(abs) ? realpathSync(abs) : abs;
}

/** The fields in which the checkpoint's model differs from `configured`, with both values, in words. */
export function checkpointModelDifferences(checkpoint: string, configured: ParsedModelSpec, env: NodeJS.ProcessEnv = process.env): { field: string; checkpoint: string; configured: string }[] {
  const metaFile = join(checkpoint, 'meta.json');
  if (!existsSync(metaFile)) return [];
  let stored: z.infer<typeof StoredSpec>['spec'];
  try {
    const parsed = StoredSpec.safeParse(JSON.parse(readFileSync(metaFile, 'utf8')));
    if (!parsed.success) return [];
    stored = parsed.data.spec;
  } catch {
    return [];
  }
  const out: { field: string; checkpoint: string; configured: string }[] = [];
  const field = configured.preset ? 'trainer.model.preset' : 'trainer.model.path';
  const want = configured.preset ? presetDir(configured.preset, env) : configured.path!;
  if (sourceOf(stored.path) !== sourceOf(want))
    out.push({ field, checkpoint: stored.path, configured: configured.preset ? `preset "${configured.preset}" (${want})` : want });
  const lora = (v: unknown) => (v === undefined || v === null ? 'none' : JSON.stringify(v));
  if (lora(stored.lora) !== lora(configured.lora)) out.push({ field: 'trainer.model.lora', checkpoint: lora(stored.lora), configured: lora(configured.lora) });
  if (stored.chat_template !== undefined && stored.chat_template !== configured.chat_template)
    out.push({ field: 'trainer.model.chat_template', checkpoint: stored.chat_template, configured: configured.chat_template });
  return out;
}

/** Refuses to restore `checkpoint` when it holds another model than `configured`, naming each field that differs. */
export function checkCheckpointModel(checkpoint: string, configured: ParsedModelSpec, env: NodeJS.ProcessEnv = process.env): void {
  const d = checkpointModelDifferences(checkpoint, configured, env);
  if (!d.length) return;
  const where = relative(process.cwd(), checkpoint) || checkpoint;
  throw new LooptoolError({
    code: 'invalid_input',
    message: `checkpoint ${where} holds another model than the config names (${d.map((x) => `${x.field}: ${x.checkpoint} there, ${x.configured} here`).join('; ')}); restoring it would train the checkpoint's model under this config's name. Set trainer.model as the run that wrote it had it, or start from fresh weights (no --base)`,
    issues: d.map((x) => ({ path: x.field, message: `differs from the checkpoint's (${x.checkpoint})` })),
  });
}
