import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CATEGORIES, referenceResult } from '../../protocols/bfcl/index.ts';
import { pyJsonText } from '../../protocols/bfcl/reference.ts';
import { REPO_ROOT } from '../../runtime/bfcl/files.ts';
import { DATA_DIR, dataset } from './data.ts';

/** Runs the real CLI (`looptool eval ...`) in a child process. */
function looptool(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'runtime/cli/main.ts'), ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('looptool eval bfcl', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'looptool-bfcl-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('check: one verdict per input line, in input order, bad lines included', () => {
    const ds = dataset('simple');
    const ref = (id: string) => `{"id": "${id}", "result": ${pyJsonText(referenceResult(ds.entries.get(id)!, 'prompt'))}}`;
    const lines = [
      ref('simple_1'),
      '{"id": "simple_0", "result": "[calculate_triangle_area(base=10.0, height=5)]"}',
      'this is not JSON',
      '',
      '{"id": "simple_99999", "result": "[f()]"}',
      ref('simple_0'),
      '{"id": "simple_2"}',
    ];
    const results = join(dir, 'simple.jsonl');
    const out = join(dir, 'verdicts.jsonl');
    writeFileSync(results, lines.join('\n'));
    const r = looptool(['eval', 'bfcl', 'check', '--category', 'simple', '--results', results, '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const verdicts = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(
      verdicts.map((v) => [v.id, v.valid, v.error_type]),
      [
        ['simple_1', true, null],
        ['simple_0', false, 'type_error:simple'],
        [null, false, 'looptool:malformed_line'],
        ['simple_99999', false, 'looptool:unknown_id'],
        ['simple_0', true, null],
        ['simple_2', false, 'looptool:malformed_line'],
      ],
    );
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.equal(summary.lines, 6);
    assert.equal(summary.correct, 1, 'simple_0 counts once, with its first line');
    assert.equal(summary.total, 400);
  });

  it('check in fc mode with LOOPTOOL_BFCL_DIR, verdicts on stdout', () => {
    const results = join(dir, 'fc.jsonl');
    writeFileSync(results, ['{"id": "simple_1", "result": [{"math_factorial": "{\\"number\\": 5}"}]}', '{"id": "simple_1", "result": "text"}'].join('\n'));
    const r = looptool(['eval', 'bfcl', 'check', '--category', 'BFCL_v3_simple', '--results', results, '--mode', 'fc'], {
      LOOPTOOL_BFCL_DIR: DATA_DIR,
    });
    assert.equal(r.code, 0, r.stderr);
    const verdicts = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(verdicts, [
      { id: 'simple_1', valid: true, error_type: null },
      { id: 'simple_1', valid: false, error_type: 'ast_decoder:decoder_failed', error: 'the result is text, not tool calls' },
    ]);
  });

  it('score: a leaderboard table per category and overall, from BFCL result files', () => {
    const resDir = join(dir, 'results');
    mkdirSync(resDir);
    for (const cat of CATEGORIES) {
      const ds = dataset(cat);
      const body = ds.order.map((id) => `{"id": "${id}", "result": ${pyJsonText(referenceResult(ds.entries.get(id)!, 'fc'))}}`);
      writeFileSync(join(resDir, `BFCL_v3_${cat}_result.json`), body.join('\n'));
    }
    const json = looptool(['eval', 'bfcl', 'score', '--results', resDir, '--mode', 'fc', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const s = JSON.parse(json.stdout);
    assert.equal(s.categories.live_simple.correct, 256);
    assert.equal(s.categories.live_multiple.correct, 1051);
    assert.equal(s.categories.parallel.correct, 200);
    assert.equal(s.summary.live_overall.display, '99.82%');
    assert.equal(s.summary.simple_ast.display, 'N/A', 'java and javascript are not evaluated');
    const table = looptool(['eval', 'bfcl', 'score', '--results', resDir, '--mode', 'fc']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /Live multiple\s+1051\s+1053\s+99\.81%/);
    assert.match(table.stdout, /Live Overall \(weighted\)\s+99\.82%/);
    assert.match(table.stdout, /Overall Acc\s+\d+\.\d\d%/);
  });

  it('usage errors exit 2; a missing data directory is a clear failure', () => {
    assert.equal(looptool(['eval']).code, 2);
    assert.equal(looptool(['eval', 'bfcl', 'check', '--results', 'x']).code, 2);
    assert.equal(looptool(['eval', 'bfcl', 'check', '--category', 'nope', '--results', 'x']).code, 2);
    const r = looptool(['eval', 'bfcl', 'check', '--category', 'simple', '--results', 'x', '--data', join(dir, 'missing')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /BFCL data directory not found/);
    // a directory where check wants one file: a clear message, not a raw EISDIR
    const d = looptool(['eval', 'bfcl', 'check', '--category', 'simple', '--results', dir]);
    assert.equal(d.code, 2, d.stderr);
    assert.match(d.stderr, /--results .* is a directory: check takes one result file/);
    assert.doesNotMatch(d.stderr, /EISDIR/);
  });
});
