import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prefillChunks } from '../../agents/trainer/train.ts';
import { tooLongIndex, labelCompletion, policyTool } from '../../agents/trainer/prompts.ts';

test('prefill chunks keep count × longest² within the budget, in order, at least one prompt each', () => {
  const budget = 16 * 1024 * 1024;
  const even = Array.from({ length: 20 }, () => 1024);
  assert.deepEqual(prefillChunks(even, (x) => x, budget).map((c) => c.length), [16, 4]);
  const mixed = [3000, 100, 100, 5000, 200];
  const chunks = prefillChunks(mixed, (x) => x, budget);
  assert.deepEqual(chunks, [[3000], [100, 100], [5000], [200]]);
  assert.deepEqual(chunks.flat(), mixed, 'order and items kept');
  for (const c of chunks) assert.ok(c.length === 1 || c.length * Math.max(...c) ** 2 <= budget);
  assert.deepEqual(prefillChunks([], (x: number) => x, budget), []);
});

test('too-long worker errors are recognised by list and index; others are not', () => {
  assert.deepEqual(tooLongIndex('policy worker sft_step: args.samples.3: prompt + completion is 900 tokens, longer than the model context (512)'), { list: 'samples', index: 3 });
  assert.deepEqual(tooLongIndex('policy worker generate: args.prompts.12: 700 tokens leave no room in the model context (512)'), { list: 'prompts', index: 12 });
  assert.equal(tooLongIndex('policy worker generate: args.prompts.1.messages.0.role: expected system, user, assistant or tool'), null);
});

test('what crosses to the policy: no simulator meta, no result shape; labels as Hermes or text', () => {
  const t = policyTool({ name: 'f', description: 'd', parameters: { type: 'object', properties: {}, required: [] }, returns: { type: 'string' }, meta: { truth: 1 } });
  assert.deepEqual(Object.keys(t).sort(), ['description', 'name', 'parameters']);
  assert.equal(labelCompletion({ type: 'calls', calls: [{ name: 'f', arguments: { a: 1 } }] }), '<tool_call>\n{"name":"f","arguments":{"a":1}}\n</tool_call>');
  assert.equal(labelCompletion({ type: 'text', text: 'Which city?' }), 'Which city?');
});
