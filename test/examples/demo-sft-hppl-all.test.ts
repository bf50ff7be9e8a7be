import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunConfig } from '../../protocols/config.ts';
import { demoConfig } from '../../runtime/loop/preset.ts';

const ROOT = join(import.meta.dirname, '..', '..');

test('examples/demo-sft-hppl-all is the demo preset with a supervised pass each round and HPPL over every mastered sample, nothing else', () => {
  const example = RunConfig.parse(JSON.parse(readFileSync(join(ROOT, 'examples', 'demo-sft-hppl-all', 'config.json'), 'utf8')));
  const demo = demoConfig();
  assert.equal(example.loop.train.sft_mix, 1);
  assert.equal(example.loop.hpplOver, 'all');
  assert.equal(demo.loop.train.sft_mix, 0);
  assert.equal(demo.loop.hpplOver, 'calls');
  const expected = { ...demo, loop: { ...demo.loop, hpplOver: 'all', train: { ...demo.loop.train, sft_mix: 1 } } };
  assert.deepEqual(example, expected);
});
