import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { checkEntry, loadDataset } from '../../protocols/bfcl/index.ts';
import { fcResult } from '../../runtime/loop/bfcl.ts';

const DIR = '/work/shared/bfcl/v3';

test('a Hermes answer becomes a BFCL function-calling result the checker scores', { skip: !existsSync(`${DIR}/BFCL_v3_simple.json`) && 'no BFCL data here' }, () => {
  const ds = loadDataset('simple', readFileSync(`${DIR}/BFCL_v3_simple.json`, 'utf8'), readFileSync(`${DIR}/possible_answer/BFCL_v3_simple.json`, 'utf8'));
  const entry = ds.entries.get('simple_0')!;
  const call = (args: string) => `<tool_call>\n{"name": "calculate_triangle_area", "arguments": ${args}}\n</tool_call>`;
  assert.equal(checkEntry(entry, fcResult(call('{"base": 10, "height": 5}')), 'fc').valid, true);
  assert.equal(checkEntry(entry, fcResult(call('{"base": 10, "height": 6}')), 'fc').valid, false);
  assert.equal(checkEntry(entry, fcResult('The area is 25.'), 'fc').valid, false);
  const irr = loadDataset('irrelevance', readFileSync(`${DIR}/BFCL_v3_irrelevance.json`, 'utf8'));
  const first = irr.entries.get(irr.order[0]!)!;
  assert.equal(checkEntry(first, fcResult('I cannot help with that.'), 'fc').valid, true);
  assert.equal(checkEntry(first, fcResult(call('{"base": 1, "height": 1}')), 'fc').valid, false);
});
