import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findPython } from '../../agents/trainer/python.ts';

// The worker's own unit tests (GRPO math by hand, caches, padding, prefix sharing),
// run with the interpreter the supervisor would use, so node's runner reports them.
const trainerDir = join(dirname(fileURLToPath(import.meta.url)), '../../agents/trainer');

test('python unittest: agents/trainer/worker/tests', async () => {
  const py = await findPython();
  const r = spawnSync(py.path, ['-m', 'unittest', 'discover', '-s', 'worker/tests', '-t', '.', '-v'], {
    cwd: trainerDir,
    encoding: 'utf8',
    env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE', PYTHONDONTWRITEBYTECODE: '1' },
    timeout: 300_000,
  });
  const out = `${r.stdout}\n${r.stderr}`;
  const ran = /Ran (\d+) tests?/.exec(out);
  assert.ok(ran && Number(ran[1]) >= 20, `expected the worker's unit tests to run:\n${out}`);
  assert.equal(r.status, 0, out);
  assert.match(out, /\nOK/);
});

test('findPython names the set-up command when the interpreter is missing', async () => {
  const env = { ...process.env, LOOPTOOL_PYTHON: '/nonexistent/python3' };
  await assert.rejects(findPython(env, 5_000), (e: Error) => {
    assert.match(e.message, /LOOPTOOL_PYTHON=\/nonexistent\/python3/);
    assert.match(e.message, /npm run setup/);
    return true;
  });
});

test('findPython names the missing package of an interpreter without the stack', async () => {
  // a bare virtual environment: Python, but none of the worker's packages
  const dir = mkdtempSync(join(tmpdir(), 'looptool-bare-venv-'));
  try {
    const made = spawnSync('python3', ['-m', 'venv', '--without-pip', dir], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    await assert.rejects(findPython({ ...process.env, LOOPTOOL_PYTHON: join(dir, 'bin', 'python') }, 30_000), (e: Error) => {
      assert.match(e.message, /the Python package torch is not installed/);
      assert.match(e.message, /npm run setup/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
