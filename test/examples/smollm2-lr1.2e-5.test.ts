import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunConfig } from '../../protocols/config.ts';
import { smollm2Config } from '../../runtime/loop/preset.ts';

const ROOT = join(import.meta.dirname, '..', '..');

test('examples/smollm2-lr1.2e-5 is the smollm2 preset with a GRPO step of 1.2e-5, nothing else', () => {
  const example = RunConfig.parse(JSON.parse(readFileSync(join(ROOT, 'examples', 'smollm2-lr1.2e-5', 'config.json'), 'utf8')));
  const preset = smollm2Config();
  assert.equal(example.loop.train.lr, 1.2e-5);
  assert.notEqual(preset.loop.train.lr, 1.2e-5);
  const expected = { ...preset, loop: { ...preset.loop, train: { ...preset.loop.train, lr: 1.2e-5 } } };
  assert.deepEqual(example, expected);
});
