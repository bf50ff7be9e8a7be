import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { z } from 'zod';
import { RunConfig } from '../../protocols/config.ts';
import { knownKeys, nearestKey } from '../../protocols/config-keys.ts';
import { LlmConfig } from '../../agents/common/llm/config.ts';
import { checkRunConfig } from '../../runtime/run-config.ts';

const ROOT = join(import.meta.dirname, '..', '..');

type Def = { type: string; catchall?: z.ZodType; shape?: Record<string, z.ZodType>; innerType?: z.ZodType; in?: z.ZodType; out?: z.ZodType; element?: z.ZodType; valueType?: z.ZodType; options?: z.ZodType[] };
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Paths of every object schema under `s` that would drop an unknown key silently. */
function looseObjects(s: z.ZodType, path: string, out: string[]): string[] {
  const d = defOf(s);
  if (d.type === 'object') {
    if (!d.catchall || defOf(d.catchall).type !== 'never') out.push(path || '(root)');
    for (const [k, v] of Object.entries(d.shape ?? {})) looseObjects(v, path ? `${path}.${k}` : k, out);
  } else if (d.innerType) looseObjects(d.innerType, path, out);
  else if (d.type === 'pipe') (looseObjects(d.in!, path, out), looseObjects(d.out!, path, out));
  else if (d.type === 'array') looseObjects(d.element!, `${path}[]`, out);
  else if (d.type === 'record') looseObjects(d.valueType!, `${path}.*`, out);
  else if (d.type === 'union') for (const o of d.options!) looseObjects(o, path, out);
  return out;
}

test('every config schema is strict, at every level', () => {
  assert.deepEqual(looseObjects(RunConfig, '', []), []);
  assert.deepEqual(looseObjects(LlmConfig, 'llm', []), []);
});

test('unknown keys anywhere are errors with the path and a "did you mean"', () => {
  const r = checkRunConfig({ loop: { roundz: 2, warmup: { epoch: 2 } }, frobnicate: 1, trainer: { threds: 2 }, llm: { baseUrl: 'http://x', roles: { judge: { modle: 'm' } } } });
  assert.ok(!r.ok);
  const byPath = Object.fromEntries(r.issues.map((i) => [i.path, i.message]));
  assert.equal(byPath['config.loop.roundz'], 'unknown key, did you mean "rounds"?');
  assert.equal(byPath['config.loop.warmup.epoch'], 'unknown key, did you mean "epochs"?');
  assert.equal(byPath['config.trainer.threds'], 'unknown key, did you mean "threads"?');
  assert.equal(byPath['config.llm.baseUrl'], 'unknown key, did you mean "baseURL"?');
  assert.equal(byPath['config.llm.roles.judge.modle'], 'unknown key, did you mean "model"?');
  assert.match(byPath['config.frobnicate']!, /^unknown key \(known here: seed, brains, defaultBrain, sim, llm, roles, seeding, loop, trainer\)$/);
  assert.ok(checkRunConfig({ loop: { rounds: 2 } }).ok);
});

test('suggestions come from the keys of that level only, and only when near', () => {
  assert.deepEqual(knownKeys(RunConfig, ['loop', 'probe']), ['max_new_tokens', 'batch', 'fresh']);
  assert.equal(nearestKey('batch_sise', knownKeys(RunConfig, ['loop', 'train'])), 'batch_size');
  assert.equal(nearestKey('frobnicate', knownKeys(RunConfig, [])), undefined);
  assert.equal(nearestKey('Seed', knownKeys(RunConfig, [])), 'seed');
});

test('run and seed --config with an unknown key exit 2 naming it, and leave no --out directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'looptool-cfg-'));
  try {
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ loop: { roundz: 2 }, frobnicate: 1 }));
    for (const cmd of [['run'], ['seed', '--dialogues', '2']]) {
      const out = join(dir, `out-${cmd[0]}`);
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'runtime/cli/main.ts', ...cmd, '--config', file, '--out', out], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /config\.loop\.roundz: unknown key, did you mean "rounds"\?/);
      assert.match(r.stderr, /config\.frobnicate: unknown key/);
      assert.ok(!existsSync(out), `${cmd[0]}: a usage error creates no run directory`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
