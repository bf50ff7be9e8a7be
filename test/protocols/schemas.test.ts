import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Envelope } from '../../protocols/envelope.ts';
import { ToolSpec } from '../../protocols/toolspec.ts';
import { ChatMessage } from '../../protocols/messages.ts';
import { Sample } from '../../protocols/sample.ts';
import { ErrorReply, describeIssues, parseOrThrow, LooptoolError } from '../../protocols/errors.ts';
import { TraceBatch } from '../../protocols/trace.ts';

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
    (err: unknown) => err instanceof LooptoolError && err.code === 'invalid_input' && err.message.includes('payload.name'),
  );
  assert.equal(ErrorReply.parse({ code: 'timeout', message: 'slow' }).retryable, false);
});
