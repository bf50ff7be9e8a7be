import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { modulesLoaded } from '../helpers/loads.ts';

/*
 * What `npm pack` ships (package.json `files`): everything a project that depends on
 * looptool runs, and not the tests, benchmarks or run folders. "Everything it runs" is
 * read from a process that loads every command, the role catalogue and every role, plus
 * the files the policy worker and the set-up read by path.
 */

const ROOT = join(import.meta.dirname, '..', '..');

function packed(): Set<string> {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const [pack] = JSON.parse(r.stdout) as { files: { path: string }[] }[];
  return new Set(pack!.files.map((f) => f.path));
}

/** The checkout's files a fresh process loads when it loads every command and role. */
function loaded(): string[] {
  const code = `
    const { readdirSync } = await import('node:fs');
    for (const f of readdirSync('runtime/cli/commands')) if (f.endsWith('.ts')) await import('./runtime/cli/commands/' + f);
    const { catalogue } = await import('./agents/registry.ts');
    await import('./looptool.ts'); await import('./looptool-runtime.ts');
    for (const r of ['user', 'planner', 'api-designer', 'assistant', 'tool', 'judge', 'expander']) await import('./agents/' + r + '/llm.ts');
    if (!catalogue.length) throw new Error('no roles');`;
  return modulesLoaded(code)
    .filter((u) => u.startsWith('file://'))
    .map((u) => relative(ROOT, fileURLToPath(u)))
    .filter((p) => !p.startsWith('..') && !p.startsWith('node_modules/'));
}

test('npm pack ships every module the commands and roles load, the worker and the set-up, and no tests, benchmarks or runs', () => {
  const files = packed();
  const missing = [...new Set(loaded())].filter((p) => !files.has(p));
  assert.deepEqual(missing, [], 'loaded but not packed');
  for (const p of ['bin/looptool.js', 'scripts/setup.sh', 'agents/trainer/worker/main.py', 'agents/trainer/worker/requirements.txt', 'agents/trainer/worker/chat_template.jinja', 'README.md'])
    assert.ok(files.has(p), `${p} is packed`);
  const stray = [...files].filter((p) => /^(test|bench|runs|test-artifacts|\.ci)\//.test(p) || p.startsWith('agents/trainer/worker/tests/'));
  assert.deepEqual(stray, []);
});
