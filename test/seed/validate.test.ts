import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChatMessage } from '../../protocols/messages.ts';
import type { ToolSpec } from '../../protocols/toolspec.ts';
import type { ToolCall } from '../../protocols/toolcall.ts';
import { checkArguments, checkAssistantTurn, checkDialogue, majority, type RuleCode } from '../../protocols/validate.ts';

const weather: ToolSpec = {
  name: 'get_weather',
  description: 'Weather forecast for a city.',
  parameters: {
    type: 'object',
    properties: {
      city: { type: 'string', description: 'city name' },
      unit: { type: 'string', enum: ['c', 'f'], description: 'temperature unit' },
      days: { type: 'integer', description: 'days ahead' },
      ratio: { type: 'number', description: 'a number' },
      tags: { type: 'array', items: { type: 'string' }, description: 'labels' },
      options: { type: 'object', properties: { detail: { type: 'boolean' } }, required: ['detail'], description: 'extra options' },
    },
    required: ['city'],
  },
};
const email: ToolSpec = {
  name: 'send_email',
  description: 'Send an email.',
  parameters: { type: 'object', properties: { to: { type: 'string' }, body: { type: 'string' } }, required: ['to', 'body'] },
};
const tools = [weather, email];

const user = (content: string): ChatMessage => ({ role: 'user', content });
const calls = (...c: ToolCall[]): ChatMessage => ({ role: 'assistant', content: '', tool_calls: c });
const say = (content: string): ChatMessage => ({ role: 'assistant', content, tool_calls: [] });
const result = (name: string, content = '{"ok":true}', id?: string): ChatMessage => ({ role: 'tool', name, content, ...(id ? { tool_call_id: id } : {}) });
const w = (args: Record<string, unknown>, id?: string): ToolCall => ({ name: 'get_weather', arguments: args as ToolCall['arguments'], ...(id ? { id } : {}) });

/** A dialogue that passes every rule; each failing case below breaks exactly one thing of it. */
function good(): ChatMessage[] {
  return [
    user('Weather in Paris and mail Bob?'),
    calls(w({ city: 'Paris', unit: 'c', days: 2, tags: ['x'], options: { detail: true } }, 'a'), { id: 'b', name: 'send_email', arguments: { to: 'bob@x.org', body: 'hi' } }),
    result('get_weather', '{"temp":20}', 'a'),
    result('send_email', '{"sent":true}', 'b'),
    say('It is 20 degrees; the mail is sent.'),
  ];
}

const codes = (m: ChatMessage[], opts = {}) => checkDialogue(tools, m, opts).map((f) => f.code);

function expectOnly(m: ChatMessage[], code: RuleCode, opts = {}) {
  const failures = checkDialogue(tools, m, opts);
  assert.ok(failures.length > 0, `expected a ${code} failure`);
  assert.equal(failures[0]!.code, code, JSON.stringify(failures));
  assert.ok(failures.every((f) => f.code === code), `only ${code} expected: ${JSON.stringify(failures)}`);
  assert.ok(failures[0]!.message.length > 0);
  return failures;
}

test('a well-formed dialogue passes every rule', () => {
  assert.deepEqual(checkDialogue(tools, good()), []);
});

test('message_order: wrong starts, doubled roles, wrong ends, late system messages', () => {
  expectOnly([], 'message_order');
  assert.equal(expectOnly([say('hello'), ...good()], 'message_order')[0]!.at, 0);
  const twoUsers = good();
  twoUsers.splice(1, 0, user('again'));
  assert.equal(expectOnly(twoUsers, 'message_order')[0]!.at, 1);
  expectOnly([...good(), say('and one more thing')], 'message_order');
  expectOnly([...good(), user('thanks')], 'message_order');
  const sys = good();
  sys.splice(2, 0, { role: 'system', content: 'x' });
  assert.ok(codes(sys).includes('message_order'));
  // a user speaking right after tool results, before the assistant answered them
  const m = good();
  m.splice(4, 0, user('and?'));
  assert.ok(codes(m).includes('message_order'));
  // a leading system message is fine
  assert.deepEqual(codes([{ role: 'system', content: 'be nice' }, ...good()]), []);
});

test('unknown_tool: a call to a name no tool has', () => {
  const m = good();
  m[1] = calls({ name: 'get_wether', arguments: { city: 'Paris' } });
  m.splice(2, 2, result('get_wether'));
  const f = expectOnly(m, 'unknown_tool');
  assert.equal(f[0]!.at, 1);
  assert.match(f[0]!.message, /get_wether/);
});

test('call_response_mismatch: missing, extra, misnamed, out of order and misattributed responses', () => {
  const missing = good();
  missing.splice(3, 1);
  assert.equal(expectOnly(missing, 'call_response_mismatch')[0]!.path, '1');
  const extra = good();
  extra.splice(4, 0, result('send_email'));
  expectOnly(extra, 'call_response_mismatch');
  const swapped = good();
  [swapped[2], swapped[3]] = [swapped[3]!, swapped[2]!];
  assert.ok(expectOnly(swapped, 'call_response_mismatch').length >= 1);
  const wrongId = good();
  wrongId[2] = result('get_weather', '{"temp":20}', 'zzz');
  assert.match(expectOnly(wrongId, 'call_response_mismatch')[0]!.message, /zzz/);
  const noCall = [user('hi'), result('get_weather'), say('ok')];
  assert.ok(codes(noCall).includes('call_response_mismatch'));
  const unanswered = [user('hi'), calls(w({ city: 'Oslo' })), say('done')];
  assert.ok(codes(unanswered).includes('call_response_mismatch'));
});

test('unparseable_output: tool results that are not JSON, call blocks left in text', () => {
  const m = good();
  m[2] = result('get_weather', 'sunny, 20 degrees', 'a');
  assert.equal(expectOnly(m, 'unparseable_output')[0]!.at, 2);
  const t = good();
  t[4] = say('Sure <tool_call>{"name":"get_weather","arguments":{"city":"Oslo"}}</tool_call>');
  expectOnly(t, 'unparseable_output');
});

test('missing_required_arg: top level and nested', () => {
  const m = good();
  m[1] = calls(w({ unit: 'c' }, 'a'), { id: 'b', name: 'send_email', arguments: { to: 'bob@x.org', body: 'hi' } });
  assert.equal(expectOnly(m, 'missing_required_arg')[0]!.path, '0.city');
  const n = good();
  n[1] = calls(w({ city: 'Paris', options: {} }, 'a'), { id: 'b', name: 'send_email', arguments: { to: 'bob@x.org', body: 'hi' } });
  assert.equal(expectOnly(n, 'missing_required_arg')[0]!.path, '0.options.detail');
  const e = good();
  e[1] = calls(w({ city: 'Paris' }, 'a'), { id: 'b', name: 'send_email', arguments: { to: 'bob@x.org' } });
  assert.equal(expectOnly(e, 'missing_required_arg')[0]!.path, '1.body');
});

test('unknown_arg: arguments the schema does not have', () => {
  const m = good();
  m[1] = calls(w({ city: 'Paris', country: 'FR' }, 'a'), { id: 'b', name: 'send_email', arguments: { to: 'bob@x.org', body: 'hi' } });
  assert.equal(expectOnly(m, 'unknown_arg')[0]!.path, '0.country');
  assert.deepEqual(checkArguments(weather, { city: 'Paris', options: { detail: true, depth: 2 } }).map((i) => [i.code, i.path]), [['unknown_arg', 'options.depth']]);
  // an explicitly open schema accepts them
  const open: ToolSpec = { ...weather, parameters: { ...weather.parameters, additionalProperties: true } };
  assert.deepEqual(checkArguments(open, { city: 'Paris', country: 'FR' }), []);
});

test('wrong_arg_type: strings for numbers, floats for integers, bad items, wrong containers', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ city: 'Paris', days: '3' }, 'days'],
    [{ city: 'Paris', days: 2.5 }, 'days'],
    [{ city: 'Paris', ratio: '0.5' }, 'ratio'],
    [{ city: 'Paris', tags: [1] }, 'tags.0'],
    [{ city: 'Paris', tags: 'x' }, 'tags'],
    [{ city: 'Paris', options: [] }, 'options'],
    [{ city: 7 }, 'city'],
    [{ city: null }, 'city'],
  ];
  for (const [args, path] of cases) {
    const issues = checkArguments(weather, args as ToolCall['arguments']);
    assert.deepEqual(issues.map((i) => [i.code, i.path]), [['wrong_arg_type', path]], JSON.stringify(args));
  }
  // integral numbers are integers; any number is a number
  assert.deepEqual(checkArguments(weather, { city: 'Paris', days: 3, ratio: 2 }), []);
  const m = good();
  m[1] = calls(w({ city: 'Paris', days: '2' }, 'a'), { id: 'b', name: 'send_email', arguments: { to: 'bob@x.org', body: 'hi' } });
  expectOnly(m, 'wrong_arg_type');
});

test('invalid_arg_value: a value outside the enum', () => {
  const m = good();
  m[1] = calls(w({ city: 'Paris', unit: 'kelvin' }, 'a'), { id: 'b', name: 'send_email', arguments: { to: 'bob@x.org', body: 'hi' } });
  assert.match(expectOnly(m, 'invalid_arg_value')[0]!.message, /kelvin/);
});

test('no_tool_use: a dialogue without a single call is dropped (unless asked not to)', () => {
  const m = [user('hello'), say('hi, how can I help?')];
  expectOnly(m, 'no_tool_use');
  assert.deepEqual(codes(m, { requireToolUse: false }), []);
});

test('checkAssistantTurn: the per-turn rules the dialogue machine applies before a turn joins', () => {
  assert.deepEqual(checkAssistantTurn(tools, { content: '', tool_calls: [w({ city: 'Paris' })] }), []);
  assert.deepEqual(checkAssistantTurn(tools, { content: '', tool_calls: [w({})] }).map((f) => f.code), ['missing_required_arg']);
  assert.deepEqual(checkAssistantTurn(tools, { content: '<tool_call>{"name":', tool_calls: [] }).map((f) => f.code), ['unparseable_output']);
  assert.deepEqual(checkAssistantTurn(tools, { content: '', tool_calls: [{ name: 'nope', arguments: {} }] }).map((f) => f.code), ['unknown_tool']);
});

test('majority of judge votes: strict majority of CORRECT accepts', () => {
  assert.equal(majority(['CORRECT', 'CORRECT', 'INCORRECT']).accepted, true);
  assert.equal(majority(['CORRECT', 'INCORRECT', 'INCORRECT']).accepted, false);
  assert.equal(majority(['CORRECT', 'INCORRECT']).accepted, false);
  assert.deepEqual(majority(['INCORRECT', 'INCORRECT', 'INCORRECT']), { accepted: false, correct: 0, incorrect: 3 });
});
