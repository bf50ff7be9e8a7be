import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readViewReport } from '../../runtime/view/report.ts';
import { writeLoopRecords } from './loop-records.ts';

test('the viewer draws a run\'s validation split as a curve of its own beside its test curve, and none when the run drew none', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'looptool-view-report-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  writeLoopRecords(join(root, 'demo'), { rounds: 2 });
  const full = join(root, 'demo', 'full');
  assert.deepEqual(readViewReport(full).series.map((s) => s.name), ['full', 'static']);
  for (const j of [0, 1, 2]) {
    const p = join(full, `round-${j}`, 'eval.json');
    const e = JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
    writeFileSync(p, JSON.stringify({ ...e, validation: { n: 50, correct: 10 + j, accuracy: (10 + j) / 50, byKind: {} } }));
  }
  const series = readViewReport(full).series;
  assert.deepEqual(series.map((s) => s.name), ['full', 'full (validation split)', 'static']);
  const v = series[1]!;
  assert.equal(v.current, false);
  assert.deepEqual(v.points.map((p) => [p.round, p.accuracy, p.n]), [[0, 0.2, 50], [1, 0.22, 50], [2, 0.24, 50]]);
  assert.ok(Math.abs(v.points[0]!.se - Math.sqrt((0.2 * 0.8) / 50)) < 1e-12);
});
