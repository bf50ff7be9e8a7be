import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PyDict, decodePythonCalls, pyRepr } from '../../protocols/toolcalls/index.ts';
import { generator } from './python-answers.ts';

/**
 * Differential test of the Python-call decoder against CPython itself: generated answers
 * (valid and broken) are decoded here and by bfcl_decode_reference.py, which applies the
 * BFCL v3 rules on Python's own `ast` module; accept/reject and every decoded value (by repr,
 * so int/float, tuple/list and quoting all count) must agree.
 */

const here = dirname(fileURLToPath(import.meta.url));

function findPython(): string | undefined {
  for (const p of [process.env.LOOPTOOL_PYTHON, '/usr/bin/python3', 'python3']) {
    if (!p) continue;
    const r = spawnSync(p, ['-c', 'import ast,sys; ast.unparse; print(sys.version_info >= (3, 9))'], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim() === 'True') return p;
  }
  return undefined;
}

function decodeHere(text: string): string {
  try {
    return pyRepr(decodePythonCalls(text).map((c) => PyDict.from([[c.name, c.args]])));
  } catch {
    return 'ERR';
  }
}

describe('Python-call decoder vs CPython', () => {
  const python = findPython();
  it('agrees with CPython on 4,000 generated answers', { skip: python ? false : 'no python3 >= 3.9 found (set LOOPTOOL_PYTHON)' }, () => {
    const next = generator(20261121);
    const inputs = Array.from({ length: 4000 }, next);
    const r = spawnSync(python!, [join(here, 'bfcl_decode_reference.py')], {
      input: inputs.map((s) => JSON.stringify(s)).join('\n') + '\n',
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    assert.equal(r.status, 0, r.stderr);
    const theirs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as string);
    assert.equal(theirs.length, inputs.length);
    const mismatches = inputs.map((s, i) => ({ s, ours: decodeHere(s), theirs: theirs[i] })).filter((m) => m.ours !== m.theirs);
    assert.deepEqual(mismatches.slice(0, 5), []);
    const decoded = theirs.filter((t) => t !== 'ERR').length;
    assert.ok(decoded > 800 && decoded < 3900, `a useful mix of valid and invalid answers (${decoded} decoded)`);
  });
});
