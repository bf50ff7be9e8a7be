import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

/** The URLs of the modules a fresh process loads to run `code` (an ES module body, run from the repository root), in load order. */
export function modulesLoaded(code: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'looptool-loads-'));
  try {
    const file = join(dir, 'loads.txt');
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', './test/helpers/record-loads.mjs', '--input-type=module', '-e', code], {
      cwd: ROOT,
      env: { ...process.env, LOOPTOOL_RECORD_LOADS: file },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
