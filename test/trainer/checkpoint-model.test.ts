import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, cpSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkCheckpointModel, checkpointModelDifferences, modelFingerprint } from '../../agents/trainer/checkpoint-model.ts';
import { LooptoolError } from '../../protocols/errors.ts';
import { ModelSpec } from '../../protocols/trainer.ts';

// The restore guard's identity of a base model (agents/trainer/checkpoint-model.ts), on
// model directories made here: no worker is needed to compare files.

const root = mkdtempSync(join(tmpdir(), 'looptool-ckpt-model-'));
after(() => rmSync(root, { recursive: true, force: true }));

function modelDir(name: string, tokenizer = '{"vocab": ["a", "b"]}'): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), '{"model_type": "qwen3"}');
  writeFileSync(join(dir, 'tokenizer.json'), tokenizer);
  writeFileSync(join(dir, 'model.safetensors'), Buffer.alloc(4096, 7));
  return dir;
}

function checkpoint(name: string, spec: { path: string }, fingerprint?: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({ spec, meta: fingerprint ? { model_fingerprint: fingerprint } : { round: 1 } }));
  return dir;
}

test("a model's fingerprint is its files' content: copies and links agree; a changed file, a new file, the build record and hidden files as they should", () => {
  const a = modelDir('fp-a');
  const fa = modelFingerprint(a);
  assert.match(fa, /^sha256:[0-9a-f]{64}$/);
  const copy = join(root, 'fp-copy');
  cpSync(a, copy, { recursive: true });
  assert.equal(modelFingerprint(copy), fa, 'a copy elsewhere is the same model');
  const link = join(root, 'fp-link');
  symlinkSync(a, link);
  assert.equal(modelFingerprint(link), fa, 'a linked directory is the same model');
  writeFileSync(join(copy, 'looptool-model.json'), '{"built": "today"}');
  writeFileSync(join(copy, '.lock'), '');
  assert.equal(modelFingerprint(copy), fa, "the nano build's record and hidden files are not the model");
  writeFileSync(join(copy, 'tokenizer.json'), '{"vocab": ["a", "c"]}');
  assert.notEqual(modelFingerprint(copy), fa, 'another tokenizer is another model');
  const extra = join(root, 'fp-extra');
  cpSync(a, extra, { recursive: true });
  writeFileSync(join(extra, 'chat_template.jinja'), '{{ messages }}');
  assert.notEqual(modelFingerprint(extra), fa, 'a new file changes it');
});

test('weights above 64 MiB are fingerprinted by size and their first and last MiB', () => {
  const dir = modelDir('fp-big');
  const big = join(dir, 'model.safetensors');
  const fd = openSync(big, 'w');
  writeSync(fd, Buffer.from('header'), 0, 6, 0);
  writeSync(fd, Buffer.from('tail'), 0, 4, (65 << 20) - 4);
  closeSync(fd);
  const before = modelFingerprint(dir);
  const at = (pos: number, text: string) => {
    const f = openSync(big, 'r+');
    writeSync(f, Buffer.from(text), 0, text.length, pos);
    closeSync(f);
  };
  at(32 << 20, 'middle');
  assert.equal(modelFingerprint(dir), before, 'the middle of a large file is not read');
  at(0, 'HEADER');
  const header = modelFingerprint(dir);
  assert.notEqual(header, before, 'the first MiB (a safetensors header) is');
  at((65 << 20) - 4, 'TAIL');
  assert.notEqual(modelFingerprint(dir), header, 'so is the last');
});

test('the restore guard compares fingerprints where the checkpoint recorded one, paths where it did not', () => {
  const base = modelDir('guard-base');
  const fp = modelFingerprint(base);
  const configured = ModelSpec.parse({ path: base });
  // recorded elsewhere, same files: the model moved (another machine's model cache)
  const moved = checkpoint('ck-moved', { path: join(root, 'gone', 'nano') }, fp);
  assert.deepEqual(checkpointModelDifferences(moved, configured), []);
  // recorded here, other files: rebuilt in place
  const rebuilt = checkpoint('ck-rebuilt', { path: base }, `sha256:${'1'.repeat(64)}`);
  const d = checkpointModelDifferences(rebuilt, configured);
  assert.equal(d.length, 1);
  assert.equal(d[0]!.field, 'trainer.model.path');
  assert.match(d[0]!.words, /the files of \S+guard-base changed since the checkpoint was written/);
  assert.throws(
    () => checkCheckpointModel(rebuilt, configured),
    (e: unknown) => e instanceof LooptoolError && /holds another model/.test(e.message) && /Put back the model the run was trained from/.test(e.message),
  );
  // recorded elsewhere, other files: another model
  const other = checkpoint('ck-other', { path: join(root, 'other') }, `sha256:${'2'.repeat(64)}`);
  assert.match(checkpointModelDifferences(other, configured)[0]!.words, /trainer\.model\.path: \S+other there, \S+guard-base here/);
  // the configured model is missing altogether: not the checkpoint's
  assert.equal(checkpointModelDifferences(moved, ModelSpec.parse({ path: join(root, 'missing') })).length, 1);
  // before fingerprints: by path, links followed
  assert.deepEqual(checkpointModelDifferences(checkpoint('ck-old-same', { path: base }), configured), []);
  const link = join(root, 'guard-link');
  symlinkSync(base, link);
  assert.deepEqual(checkpointModelDifferences(checkpoint('ck-old-link', { path: link }), configured), []);
  assert.equal(checkpointModelDifferences(checkpoint('ck-old-elsewhere', { path: join(root, 'gone', 'nano') }), configured).length, 1);
});
