import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * LangChain's prompts and OpenAI's SDK are half the modules a looptool process would load,
 * and only llm brains use them: the roles load their llm brain on its first request
 * (brainVerb) and the client when a replica gets an llm brain (selectBrain). A static
 * import of either from a role, the run config or the loop would undo that unnoticed.
 */

const ROOT = join(import.meta.dirname, '..', '..');
const HEAVY = ['/node_modules/@langchain/', '/node_modules/openai/', '/node_modules/langsmith/'];

/** The modules a fresh process loads to run `code` (an ES module body, run from the repository root). */
function loads(code: string): string[] {
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

const heavy = (urls: string[]) => [...new Set(urls.filter((u) => HEAVY.some((h) => u.includes(h))).map((u) => HEAVY.find((h) => u.includes(h))!))];

test('the commands, the role catalogue and every built-in role load without the llm stack', () => {
  const urls = loads(`
    for (const c of ['run', 'resume', 'seed', 'sim', 'up', 'agent', 'ablate', 'train', 'eval']) await import('./runtime/cli/commands/' + c + '.ts');
    await import('./agents/registry.ts');
  `);
  assert.ok(urls.some((u) => u.endsWith('/agents/user/role.ts')) && urls.some((u) => u.endsWith('/runtime/run-config.ts')), 'the roles and the run config were loaded');
  assert.deepEqual(heavy(urls), []);
});

test('an llm brain loads LangChain and the OpenAI client (the check above sees them when they load)', () => {
  assert.deepEqual(heavy(loads(`await import('./agents/user/llm.ts'); await import('./agents/common/llm/client.ts');`)).sort(), HEAVY.slice().sort());
});
