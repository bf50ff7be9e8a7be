import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newRunId } from '../../runtime/rundir.ts';

test('a new run id names the day and time, and is never a run folder that already exists', () => {
  const root = mkdtempSync(join(tmpdir(), 'looptool-runid-'));
  try {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const id = newRunId('demo', root);
      assert.match(id, /^demo-\d{8}-\d{6}-[0-9a-f]{4}$/);
      assert.ok(!seen.has(id), `ids repeat: ${id}`);
      seen.add(id);
      mkdirSync(join(root, id)); // an earlier run's folder: the next id must differ
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
