import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Envelope } from '../../protocols/envelope.ts';
import { ToolSpec } from '../../protocols/toolspec.ts';
import { ChatMessage } from '../../protocols/messages.ts';
import { Sample } from '../../protocols/sample.ts';
import { ErrorReply, describeIssues, isLooptoolError, parseOrThrow, LooptoolError } from '../../protocols/errors.ts';
import { TraceBatch } from '../../protocols/trace.ts';
import { JsonValue, leafDifferences } from '../../protocols/json.ts';
import { ParamSchema } from '../../protocols/toolspec.ts';
import { compiledSchema } from '../../protocols/role.ts';
import { RunConfig, withTodaysDefaults } from '../../protocols/config.ts';
import { GrpoSettings } from '../../protocols/grpo.ts';
import { NANO_DEFAULTS, TrainerConfig, resolveTrainerDefaults } from '../../protocols/trainer.ts';
import { z } from 'zod';
import fc from 'fast-check';

const weather: ToolSpec = {
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: {
    type: 'object',
    properties: {
      city: { type: 'string', description: 'City name' },
      unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
      days: { type: 'integer' },
      tags: { type: 'array', items: { type: 'string' } },
      where: { type: 'object', properties: { lat: { type: 'number' }, lon: { type: 'number' } }, required: ['lat'] },
    },
    required: ['city'],
  },
};

function roundTrip<T>(schema: { parse(v: unknown): T }, value: unknown): T {
  return schema.parse(JSON.parse(JSON.stringify(schema.parse(value))));
}

test('valid values survive a JSON round trip unchanged', () => {
  assert.deepEqual(roundTrip(ToolSpec, weather), ToolSpec.parse(weather));
  const env = { id: 'a1', run: 'r-1', trace: 't', parent: null, from: 'planner', kind: 'request', ts: 1, payload: { x: [1, 2] } };
  assert.deepEqual(roundTrip(Envelope, env), env);
  const msgs = [
    { role: 'system', content: 'be brief' },
    { role: 'user', content: 'weather in Oslo?' },
    { role: 'assistant', content: '', tool_calls: [{ id: 'c1', name: 'get_weather', arguments: { city: 'Oslo' } }] },
    { role: 'tool', tool_call_id: 'c1', name: 'get_weather', content: '{"temp":3}' },
  ];
  for (const m of msgs) assert.deepEqual(roundTrip(ChatMessage, m), ChatMessage.parse(m));
  const sample = {
    id: 's1',
    kind: 'single',
    tools: [weather],
    context: [msgs[1]],
    label: { type: 'calls', calls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] },
    provenance: { source: 'seed', round: 0, dialogue: 'd1', turn: 1 },
    truth: { label: { type: 'calls', calls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] }, noisy: false },
  };
  assert.deepEqual(roundTrip(Sample, sample), Sample.parse(sample));
  const batch = { events: [{ id: 'e', run: 'r', role: 'planner', kind: 'request', ts: 2, verb: 'plan', data: { a: 1 } }] };
  assert.deepEqual(roundTrip(TraceBatch, batch), batch);
});

function issuesOf(schema: { safeParse(v: unknown): { success: boolean; error?: unknown } }, value: unknown) {
  const r = schema.safeParse(value);
  assert.equal(r.success, false, 'expected a rejection');
  return describeIssues(r.error as never);
}

test('rejections name the field and what was expected', () => {
  const bad = structuredClone(weather) as Record<string, any>;
  bad.parameters.properties.city.type = 'text';
  let issues = issuesOf(ToolSpec, bad);
  assert.ok(issues.some((i) => i.path === 'parameters.properties.city.type' && /expected one of/i.test(i.message)), JSON.stringify(issues));

  const noItems = structuredClone(weather) as Record<string, any>;
  delete noItems.parameters.properties.tags.items;
  issues = issuesOf(ToolSpec, noItems);
  assert.ok(issues.some((i) => i.path === 'parameters.properties.tags.items' && /items/.test(i.message)), JSON.stringify(issues));

  const missingReq = structuredClone(weather) as Record<string, any>;
  missingReq.parameters.required = ['city', 'country'];
  issues = issuesOf(ToolSpec, missingReq);
  assert.ok(issues.some((i) => i.path === 'parameters.required' && i.message.includes('"country"')), JSON.stringify(issues));

  issues = issuesOf(Envelope, { id: 'a', run: 'has space', trace: 't', parent: null, from: 'x', kind: 'request', ts: 1 });
  assert.ok(issues.some((i) => i.path === 'run' && /letters, digits/.test(i.message)), JSON.stringify(issues));

  issues = issuesOf(ChatMessage, { role: 'assistant', content: 'x', tool_calls: [{ name: 'f', arguments: 'not-an-object' }] });
  assert.ok(issues.some((i) => i.path === 'tool_calls.0.arguments' && /expected record/i.test(i.message)), JSON.stringify(issues));

  issues = issuesOf(Sample, { id: 's', kind: 'weird', tools: [weather], context: [{ role: 'user', content: 'x' }], label: { type: 'text', text: '' }, provenance: { source: 'seed', round: 0 } });
  assert.ok(issues.some((i) => i.path === 'kind' && /expected one of/i.test(i.message)), JSON.stringify(issues));
});

test('parseOrThrow raises a LooptoolError whose message lists field paths', () => {
  assert.throws(
    () => parseOrThrow(ToolSpec, { name: '', description: 'x', parameters: { type: 'object' } }, 'tool spec', 'invalid_input', 'payload'),
    (err: unknown) => isLooptoolError(err, 'invalid_input') && err.message.includes('payload.name'),
  );
  assert.equal(ErrorReply.parse({ code: 'timeout', message: 'slow' }).retryable, false);
});

/** `levels` nested object parameters around `leaf`, each level's property named after its depth. */
function nested(levels: number, leaf: Record<string, unknown>): Record<string, unknown> {
  return levels === 0 ? leaf : { type: 'object', properties: { [`p${levels}`]: nested(levels - 1, leaf) }, required: [`p${levels}`] };
}

test('parameters nest to any depth, and an error deep inside names its whole path', () => {
  // Deeper than the levels the schema spells out (it hands the rest to itself).
  for (const depth of [1, 2, 3, 7]) {
    const spec = { name: 'f', description: 'd', parameters: { type: 'object', properties: { root: nested(depth, { type: 'string' }) } } };
    assert.deepEqual(roundTrip(ToolSpec, spec), ToolSpec.parse(spec));
    const bad = { ...spec, parameters: { type: 'object', properties: { root: nested(depth, { type: 'array' }) } } };
    const path = ['parameters.properties.root', ...Array.from({ length: depth }, (_, i) => `properties.p${depth - i}`), 'items'].join('.');
    const issues = issuesOf(ToolSpec, bad);
    assert.deepEqual(issues, [{ path, message: 'an array parameter needs "items"' }]);
  }
  const wrongType = nested(5, { type: 'text' });
  assert.ok(issuesOf(ParamSchema, wrongType).some((i) => i.path.endsWith('properties.p1.type') && /expected one of/i.test(i.message)));
});

test('JSON values: anything JSON is accepted as it is, anything else is named with where it sits', () => {
  const value = { a: [1, 'x', null, { b: true, c: [2.5, -0] }], d: {} };
  assert.equal(JsonValue.parse(value), value, 'no copy is made');
  const cases: [unknown, RegExp][] = [
    [{ a: [1, { b: undefined }] }, /found undefined at a\.1\.b$/],
    [{ when: new Date(0) }, /found an instance of Date at when$/],
    [[1, Number.NaN], /found NaN at 1$/],
    [{ f: () => 1 }, /found function at f$/],
    [{ big: 1n }, /found bigint at big$/],
  ];
  for (const [input, message] of cases) {
    const issues = issuesOf(JsonValue, input);
    assert.equal(issues.length, 1);
    assert.match(issues[0]!.message, message);
  }
  const cycle: Record<string, unknown> = { a: 1 };
  cycle.self = cycle;
  assert.match(issuesOf(JsonValue, cycle)[0]!.message, /deeper than 512 levels \(a cycle\?\)/);
  const call = issuesOf(ChatMessage, { role: 'assistant', tool_calls: [{ name: 'f', arguments: { x: { y: [undefined] } } }] });
  assert.deepEqual(call.map((i) => i.path), ['tool_calls.0.arguments.x']);
  assert.match(call[0]!.message, /found undefined at y\.0/);
});

test("a compiled schema parses and rejects exactly as zod's interpreter does", () => {
  const Payload = z.object({ tools: z.array(ToolSpec), messages: z.array(ChatMessage), n: z.number().int() });
  const compiled = compiledSchema(Payload);
  assert.notEqual(compiled, Payload, 'the payload schema compiles');
  assert.equal(compiledSchema(Payload), compiled, 'once per schema');
  const message = fc.oneof(
    fc.record({ role: fc.constantFrom('user', 'system'), content: fc.oneof(fc.string(), fc.integer()) }),
    fc.record({ role: fc.constant('assistant'), content: fc.option(fc.string(), { nil: undefined }), tool_calls: fc.array(fc.record({ name: fc.string({ maxLength: 3 }), arguments: fc.oneof(fc.jsonValue(), fc.constant({ u: undefined })) }), { maxLength: 2 }) }, { requiredKeys: ['role'] }),
    fc.record({ role: fc.constant('tool'), name: fc.string({ maxLength: 2 }), content: fc.string() }),
    fc.anything(),
  );
  const param = fc.letrec((tie) => ({
    p: fc.record(
      { type: fc.constantFrom('string', 'array', 'object', 'text'), items: tie('p'), properties: fc.dictionary(fc.constantFrom('a', 'b'), tie('p'), { maxKeys: 2 }), required: fc.array(fc.constantFrom('a', 'c'), { maxLength: 1 }) },
      { requiredKeys: ['type'] },
    ),
  })).p;
  const tool = fc.record({ name: fc.constantFrom('f', 'bad name', ''), description: fc.constantFrom('d', ''), parameters: fc.record({ type: fc.constant('object'), properties: fc.dictionary(fc.constantFrom('x', 'y'), param, { maxKeys: 2 }) }) });
  const payload = fc.record({ tools: fc.array(tool, { maxLength: 2 }), messages: fc.array(message, { maxLength: 3 }), n: fc.oneof(fc.integer(), fc.double()) });
  let accepted = 0;
  fc.assert(
    fc.property(payload, (p) => {
      const a = Payload.safeParse(p);
      const b = compiled.safeParse(p);
      assert.equal(b.success, a.success);
      if (a.success) {
        accepted++;
        assert.deepEqual(b.data, a.data);
      } else assert.deepEqual(describeIssues(b.error!), describeIssues(a.error));
    }),
    { numRuns: 2000, seed: 7 },
  );
  assert.ok(accepted > 50, `only ${accepted} of 2000 generated payloads were valid: the property says little`);
});

test('isLooptoolError narrows to a LooptoolError and checks its code when given one', () => {
  const e: unknown = new LooptoolError({ code: 'timeout', message: 'slow' });
  assert.equal(isLooptoolError(e), true);
  assert.equal(isLooptoolError(e, 'timeout'), true);
  assert.equal(isLooptoolError(e, 'internal'), false);
  assert.equal(isLooptoolError(e, ['no_responders', 'timeout']), true);
  assert.equal(isLooptoolError(new Error('slow')), false);
  assert.equal(isLooptoolError({ code: 'timeout' }, 'timeout'), false);
});

test('leafDifferences names the paths whose values differ, with each object\'s value, and hides ignored subtrees', () => {
  const a = { seed: 'x-1', loop: { votes: 3, ablations: { jglv: true }, list: [1, 2] }, only: 'a' };
  const b = { seed: 'x-2', loop: { votes: 5, ablations: { jglv: false }, list: [1, 2] } };
  assert.deepEqual(leafDifferences([a, b], ['seed', 'loop.ablations']), [
    { path: 'loop.votes', values: ['3', '5'] },
    { path: 'only', values: ['"a"', undefined] },
  ]);
  assert.deepEqual(leafDifferences([a, { ...a, loop: { ...a.loop, list: [2, 1] } }], ['seed']), [{ path: 'loop.list', values: ['[1,2]', '[2,1]'] }], 'an array is one leaf');
  assert.deepEqual(leafDifferences([a, a]), []);
});

test('withTodaysDefaults fills the settings a stored config predates, keeps its values, and returns a config the schema refuses as stored', () => {
  const stored = JSON.parse(JSON.stringify(RunConfig.parse({ seed: 'old', loop: { jglvVotes: 3 } }))) as { loop: { jglvVotes: number; train: Record<string, JsonValue> } };
  const { mu: _mu, ...olderTrain } = stored.loop.train;
  const older = { ...stored, loop: { ...stored.loop, train: olderTrain } };
  assert.deepEqual(leafDifferences([withTodaysDefaults(older), stored]), [], 'a setting added since takes its default');
  assert.deepEqual(leafDifferences([older, stored]), [{ path: 'loop.train.mu', values: [undefined, '1'] }], 'read raw, it would be a difference');
  assert.equal(withTodaysDefaults(older).loop.jglvVotes, 3, 'a stored value is kept, whatever today\'s default');
  const removed = { ...stored, loop: { ...stored.loop, retiredSetting: 2 } };
  assert.deepEqual(withTodaysDefaults(removed), removed, 'a setting since removed: as stored, so it still shows');
});

test('trainer.grpo takes every GRPO setting the loop has, and each one set there reaches the resolved settings', () => {
  // a value for each shared field that differs from both its default and the per-model defaults
  const set = { group_size: 4, eps_low: 0.1, eps_high: 0.3, beta: 0.01, aggregation: 'dr-grpo', mu: 2, lr: 2e-5, lr_warmup_steps: 3, temperature: 0.7, max_new_tokens: 99, max_grad_norm: 0.5, epochs: 3, reset_optimizer: false, advantage_scale: 'none' } as const;
  assert.deepEqual(Object.keys(set).sort(), Object.keys(GrpoSettings.shape).sort(), 'the test covers every GRPO setting');
  for (const preset of ['nano', 'smollm2'] as const) {
    const r = resolveTrainerDefaults(TrainerConfig.parse({ model: { preset }, grpo: { ...set, batch_size: 5 } }));
    assert.deepEqual(r.grpo, set);
    assert.equal(r.batch_size, 5);
  }
  // unset, the per-model defaults fill what they name and the shared defaults the rest
  const nano = resolveTrainerDefaults(TrainerConfig.parse({}));
  assert.deepEqual(nano.grpo, GrpoSettings.parse({ group_size: NANO_DEFAULTS.groupSize, lr: NANO_DEFAULTS.grpoLr, max_new_tokens: NANO_DEFAULTS.maxNewTokens, epochs: NANO_DEFAULTS.epochs }));
  const bad = TrainerConfig.safeParse({ grpo: { mu: 0 } });
  assert.deepEqual(bad.success ? [] : bad.error.issues.map((i) => i.path.join('.')), ['grpo.mu']);
});
