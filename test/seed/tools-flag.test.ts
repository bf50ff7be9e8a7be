import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importSpecs } from '../../agents/api-designer/import.ts';
import { startCli } from '../helpers/cli.ts';

/* `seed --tools` refuses a spec whose types the tool-spec schema cannot represent, instead of simulating a different tool. */

const booking = (when: object) => [
  {
    type: 'function',
    function: {
      name: 'book_table',
      description: 'Books a table at a restaurant.',
      parameters: { type: 'object', properties: { restaurant: { type: 'string', description: 'Name.' }, when }, required: ['restaurant'] },
    },
  },
];

test('a union type such as ["string","null"] is reported as unrepresentable, by tool, not silently taken as string', () => {
  const r = importSpecs(booking({ type: ['string', 'null'], description: 'ISO time or null.' }), 'openai');
  const lossy = r.issues.filter((i) => i.unrepresentable);
  assert.equal(lossy.length, 1, JSON.stringify(r.issues));
  assert.equal(lossy[0]!.tool, 'book_table');
  assert.match(lossy[0]!.path, /parameters\.properties\.when\.type$/);
  assert.match(lossy[0]!.message, /union of types/);
  assert.deepEqual(importSpecs(booking({ type: 'string' }), 'openai').issues, []);
});

test('seed --tools with such a type exits 2 naming the tool and the parameter', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'looptool-tools-'));
  try {
    const file = join(dir, 'tools.json');
    writeFileSync(file, JSON.stringify(booking({ type: ['string', 'null'] })));
    const p = startCli(['seed', '--dialogues', '1', '--tools', file, '--out', join(dir, 'run')], { NATS_URL: '' });
    const code = await p.exited;
    assert.equal(code, 2, p.output());
    assert.match(p.output(), /tool "book_table", parameter "when": type \["string","null"\] is a union of types/);
    // a --tools file that is not there: a usage error before any run directory is made
    const missing = startCli(['seed', '--dialogues', '1', '--tools', join(dir, 'nope.json'), '--out', join(dir, 'run2')], { NATS_URL: '' });
    assert.equal(await missing.exited, 2, missing.output());
    assert.match(missing.output(), /--tools .*nope\.json: no such file/);
    assert.ok(!existsSync(join(dir, 'run2')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
