import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Progress } from '../../runtime/terminal.ts';

test('progress in a log (no TTY): a line per 10 %, and one at least every quiet interval in between', (t) => {
  if (process.stderr.isTTY) return t.skip('stderr is a terminal here');
  const lines: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => (lines.push(String(chunk)), true)) as typeof process.stderr.write;
  let clock = 0;
  try {
    const p = new Progress('build', 1000, () => clock, 60_000);
    for (let i = 0; i < 50; i++) {
      clock += 1000; // 50 steps of a second: 5 %, under a minute
      p.tick();
    }
    assert.equal(lines.length, 1, 'the first step only (0 % → a line), nothing until 10 % or a minute');
    clock += 60_000; // a slow step: a minute since the last line, still under 10 %
    p.tick();
    assert.equal(lines.length, 2, lines.join(''));
    assert.match(lines[1]!, /^build 51\/1000 \(5%\) 110\.0s/);
    clock += 1000;
    p.tick();
    assert.equal(lines.length, 2, 'the quiet interval starts again at the last line');
    p.set(1000);
    assert.match(lines.at(-1)!, /^build 1000\/1000 \(100%\)/);
  } finally {
    process.stderr.write = write;
  }
});
