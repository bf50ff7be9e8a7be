import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunConfig } from '../../protocols/config.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const read = (name: string) => RunConfig.parse(JSON.parse(readFileSync(join(ROOT, 'examples', name, 'config.json'), 'utf8')));

// Four rounds is the one change, so its runs compare with the two-round runs of examples/smollm2-lr1.2e-5.
test('examples/smollm2-lr1.2e-5-rounds4 is examples/smollm2-lr1.2e-5 with four rounds, nothing else', () => {
  const example = read('smollm2-lr1.2e-5-rounds4');
  const twoRounds = read('smollm2-lr1.2e-5');
  assert.equal(example.loop.rounds, 4);
  assert.equal(twoRounds.loop.rounds, 2);
  assert.deepEqual(example, { ...twoRounds, loop: { ...twoRounds.loop, rounds: 4 } });
});
