import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { LooptoolError } from '../../protocols/errors.ts';
import { brainVerb } from '../../agents/common/brains.ts';
import type { ChatMessage } from '../../protocols/messages.ts';
import { Plan } from '../../protocols/plan.ts';
import { ToolSpec } from '../../protocols/toolspec.ts';
import { checkToolSet, errorsOnly } from '../../protocols/toolspec-rules.ts';
import { PlanInput } from '../../protocols/roles/planner.ts';
import { TurnInput } from '../../protocols/roles/user.ts';
import { RespondInput, RespondOutput } from '../../protocols/roles/assistant.ts';
import { ExecuteInput } from '../../protocols/roles/tool.ts';
import { JudgeDialogueInput, VerifyInput } from '../../protocols/roles/judge.ts';
import { DesignInput, DesignOutput } from '../../protocols/roles/api-designer.ts';
import { LlmClient } from '../../agents/common/llm/client.ts';
import { resolveEndpoint, type EndpointOverrides } from '../../agents/common/llm/config.ts';
import { planLlm } from '../../agents/planner/llm.ts';
import { turnLlm } from '../../agents/user/llm.ts';
import { respondLlm } from '../../agents/assistant/llm.ts';
import { executeLlm } from '../../agents/tool/llm.ts';
import { judgeDialogueLlm, verifyLlm } from '../../agents/judge/llm.ts';
import { designLlm } from '../../agents/api-designer/llm.ts';
import { allText, lastUserText, reply, startOpenAIServer, systemText, type OpenAITestServer, type RecordedRequest } from '../helpers/openai-server.ts';

// Simulator truth carries this marker everywhere it appears; no request may contain it.
const SECRET = 'SIMTRUTH-7f3a9c';

const tools: ToolSpec[] = [
  {
    name: 'search_flights',
    description: 'Search flights between two cities on a date.',
    parameters: {
      type: 'object',
      properties: {
        origin: { type: 'string', description: 'departure city' },
        destination: { type: 'string', description: 'arrival city' },
        date: { type: 'string', format: 'date', description: 'YYYY-MM-DD' },
      },
      required: ['origin', 'destination', 'date'],
    },
    returns: { type: 'object', properties: { flights: { type: 'array', items: { type: 'object', properties: { flight_id: { type: 'string' } } } } } },
    meta: { secret: SECRET },
  },
  {
    name: 'book_flight',
    description: 'Book a flight by id.',
    parameters: {
      type: 'object',
      properties: { flight_id: { type: 'string', description: 'id from search_flights' }, passengers: { type: 'integer', description: 'count' } },
      required: ['flight_id'],
    },
  },
  {
    name: 'get_weather',
    description: 'Current weather in a city.',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string', description: 'city name' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'], description: 'unit' } },
      required: ['city'],
    },
  },
].map((t) => ToolSpec.parse(t));

const hiddenPlan = Plan.parse({
  goal: 'a student flying home',
  targetTurns: 2,
  steps: [
    { kind: 'single', intent: 'weather in Oslo', rounds: [{ kind: 'single', calls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] }] },
    { kind: 'irrelevant', intent: 'asks for a joke', topic: 'jokes' },
  ],
  hidden: { noise: [{ step: 0, round: 0, kind: 'wrong_value', seed: SECRET }] },
});

const dialogue: ChatMessage[] = [
  { role: 'user', content: 'What is the weather in Oslo?' },
  { role: 'assistant', content: '', tool_calls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] },
  { role: 'tool', name: 'get_weather', content: '{"temp": 3}' },
];

let server: OpenAITestServer;
let seq = 0;
before(async () => {
  server = await startOpenAIServer();
});
after(async () => {
  // Across every brain and every test: simulator truth never went over the wire.
  await server.close();
});
beforeEach(() => server.reset());

const seenBodies: string[] = [];
function deps(role: string, over: EndpointOverrides = {}) {
  const ep = resolveEndpoint(role, { baseURL: server.url, model: `brain-${++seq}`, apiKey: 'sk-brains-test-123456', repairRetries: 1, retryBaseMs: 1, timeoutMs: 3000, ...over }, {});
  return { client: new LlmClient(ep) };
}
function noTruth(reqs: RecordedRequest[] = server.requests): void {
  assert.ok(reqs.length > 0, 'expected requests');
  for (const r of reqs) {
    seenBodies.push(r.rawBody);
    assert.ok(!r.rawBody.includes(SECRET), `simulator truth reached the endpoint: ${r.rawBody.slice(0, 300)}`);
  }
}

const goodPlan = {
  goal: 'a traveller going to Rome',
  steps: [
    {
      kind: 'multi_step',
      intent: 'find a flight Paris to Rome on 2026-06-02 and book it',
      rounds: [
        { calls: [{ name: 'search_flights', arguments: { origin: 'Paris', destination: 'Rome', date: '2026-06-02' } }] },
        { calls: [{ name: 'book_flight', arguments: {}, refs: { flight_id: { round: 0, call: 0, path: 'flights.0.flight_id' } } }] },
      ],
    },
    {
      kind: 'parallel',
      intent: 'weather in Rome and in Paris',
      rounds: [{ calls: [{ name: 'get_weather', arguments: { city: 'Rome' } }, { name: 'get_weather', arguments: { city: 'Paris' } }] }],
    },
    { kind: 'clarify', intent: 'weather without saying the city', rounds: [{ calls: [{ name: 'get_weather', arguments: { city: 'Milan' } }] }], withheld: ['0.city'] },
  ],
};

test('planner: a good plan comes back as a Plan with derived round kinds', async () => {
  server.when((r) => systemText(r).includes('You are the planner'), reply.fenced(goodPlan));
  const input = PlanInput.parse({ seed: 's1', tools, kinds: ['multi_step', 'parallel', 'clarify'] });
  const plan = await planLlm(input, deps('planner'));
  assert.equal(plan.targetTurns, 3);
  assert.deepEqual(
    plan.steps.map((s) => s.kind),
    ['multi_step', 'parallel', 'clarify'],
  );
  assert.deepEqual(
    plan.steps[0]!.rounds.map((r) => r.kind),
    ['single', 'multi_step'],
  );
  assert.equal(plan.steps[1]!.rounds[0]!.kind, 'parallel');
  assert.equal(plan.hidden, undefined);
  const req = server.requests[0]!;
  assert.match(allText(req), /search_flights/);
  assert.match(systemText(req), /Write exactly 3 steps, of these kinds in this order: multi_step, parallel, clarify/);
  assert.equal(typeof req.body!.seed, 'number', 'the request seed goes to the endpoint');
  noTruth();
});

test('planner: an unknown tool and a missing required argument are repaired with field paths', async () => {
  const bad = structuredClone(goodPlan);
  bad.steps[0]!.rounds[0]!.calls[0]!.name = 'find_flights';
  delete (bad.steps[1]!.rounds[0]!.calls[1]!.arguments as Record<string, unknown>).city;
  server.enqueue(reply.json(bad), reply.json(goodPlan));
  const plan = await planLlm(PlanInput.parse({ seed: 's2', tools, kinds: ['multi_step', 'parallel', 'clarify'] }), deps('planner'));
  assert.equal(plan.steps.length, 3);
  const repair = lastUserText(server.requests[1]!);
  assert.match(repair, /- steps\.0\.rounds\.0\.calls\.0\.name: "find_flights" is not one of the tools/);
  assert.match(repair, /- steps\.1\.rounds\.0\.calls\.1\.arguments: required parameter "city" of get_weather is missing/);
});

test('planner: still wrong after the repairs → invalid_output naming the field', async () => {
  const bad = { ...goodPlan, steps: goodPlan.steps.slice(0, 2) };
  server.when(() => true, reply.json(bad));
  await assert.rejects(planLlm(PlanInput.parse({ seed: 's3', tools, kinds: ['multi_step', 'parallel', 'clarify'] }), deps('planner')), (e: unknown) => {
    assert.ok(e instanceof LooptoolError);
    assert.equal(e.code, 'invalid_output');
    assert.ok(e.reply.issues.some((i) => i.path === 'steps' && /expected exactly 3 steps, got 2/.test(i.message)));
    return true;
  });
});

test('user: next message from the public plan; hidden noise never shown', async () => {
  server.when((r) => systemText(r).includes('You play the user'), reply.json({ content: 'Hi! How cold is it in Oslo right now?', done: false }));
  const out = await turnLlm(TurnInput.parse({ seed: 'u1', tools, messages: [], plan: hiddenPlan }), deps('user'));
  assert.deepEqual(out, { content: 'Hi! How cold is it in Oslo right now?', done: false });
  const text = allText(server.requests[0]!);
  assert.match(text, /weather in Oslo/);
  assert.match(text, /\(no messages yet\)/);
  assert.ok(!/noise|wrong_value/.test(text), 'planted mistakes are not in the prompt');
  noTruth();
});

test('user: an empty message before the plan is done gets a repair', async () => {
  server.enqueue(reply.json({ content: '  ', done: false }), reply.json({ content: 'Also, tell me a joke?', done: false }));
  const out = await turnLlm(TurnInput.parse({ seed: 'u2', tools, messages: dialogue, plan: hiddenPlan }), deps('user'));
  assert.equal(out.content, 'Also, tell me a joke?');
  assert.match(lastUserText(server.requests[1]!), /- content: the plan is not done/);
});

test('assistant: native tool_calls (parallel), tools sent natively, dialogue history paired', async () => {
  server.when(
    (r) => systemText(r).includes('helpful assistant with access to tools'),
    reply.toolCalls([
      { name: 'get_weather', arguments: { city: 'Rome' } },
      { name: 'get_weather', arguments: '{"city": "Paris", "unit": "celsius"}' },
    ]),
  );
  const input = RespondInput.parse({ seed: 'a1', tools, messages: [...dialogue, { role: 'user', content: 'And Rome and Paris?' }], hidden: { plan: hiddenPlan } });
  const out = RespondOutput.parse(await respondLlm(input, deps('assistant')));
  assert.deepEqual(out.tool_calls, [
    { name: 'get_weather', arguments: { city: 'Rome' } },
    { name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } },
  ]);
  assert.equal(out.truth, undefined);
  const body = server.requests[0]!.body!;
  assert.deepEqual(
    body.tools!.map((t) => t.function.name),
    ['search_flights', 'book_flight', 'get_weather'],
  );
  assert.equal(body.tool_choice, 'auto');
  const msgs = body.messages!;
  assert.deepEqual(
    msgs.map((m) => m.role),
    ['system', 'user', 'assistant', 'tool', 'user'],
  );
  const call = (msgs[2]!.tool_calls as { id: string }[])[0]!;
  assert.equal(msgs[3]!.tool_call_id, call.id);
  assert.ok(!JSON.stringify(body.tools).includes('meta'), 'tool meta is not sent');
  noTruth();
});

test('assistant: Hermes <tool_call> text is understood when the endpoint returns no tool_calls', async () => {
  server.enqueue(reply.hermes([{ name: 'search_flights', arguments: { origin: 'Oslo', destination: 'Bergen', date: '2026-01-05' } }], '<think>the user gave all values</think>'));
  const out = await respondLlm(RespondInput.parse({ seed: 'a2', tools, messages: [{ role: 'user', content: 'Oslo to Bergen on Jan 5 2026' }] }), deps('assistant'));
  assert.deepEqual(out.tool_calls, [{ name: 'search_flights', arguments: { origin: 'Oslo', destination: 'Bergen', date: '2026-01-05' } }]);
  assert.equal(out.content, '');
});

test('assistant: a clarifying question is plain text; an unknown tool is repaired', async () => {
  server.enqueue(reply.toolCalls([{ name: 'weather_now', arguments: {} }]), reply.text('Which city would you like the weather for?'));
  const out = await respondLlm(RespondInput.parse({ seed: 'a3', tools, messages: [{ role: 'user', content: "What's the weather?" }] }), deps('assistant'));
  assert.deepEqual(out.tool_calls, []);
  assert.equal(out.content, 'Which city would you like the weather for?');
  assert.match(lastUserText(server.requests[1]!), /- tool_calls\.0\.name: "weather_now" is not one of the tools/);
});

test('assistant: prompt tool mode lists tools in the system prompt and sends Hermes history', async () => {
  server.enqueue(reply.hermes([{ name: 'book_flight', arguments: { flight_id: 'AZ123' } }]));
  const out = await respondLlm(
    RespondInput.parse({ seed: 'a4', tools, messages: [...dialogue, { role: 'user', content: 'book AZ123' }] }),
    deps('assistant', { toolMode: 'prompt' }),
  );
  assert.deepEqual(out.tool_calls, [{ name: 'book_flight', arguments: { flight_id: 'AZ123' } }]);
  const body = server.requests[0]!.body!;
  assert.equal(body.tools, undefined);
  assert.match(systemText(server.requests[0]!), /<tools>[\s\S]*"book_flight"[\s\S]*<\/tools>/);
  assert.deepEqual(
    body.messages!.map((m) => m.role),
    ['system', 'user', 'assistant', 'user', 'user'],
  );
  assert.match(body.messages![2]!.content!, /<tool_call>\n\{"name":"get_weather","arguments":\{"city":"Oslo"\}\}\n<\/tool_call>/);
  assert.equal(body.messages![3]!.content, '<tool_response>\n{"temp": 3}\n</tool_response>');
});

test('tool: a result per call; invalid arguments answered without the model', async () => {
  server.when((r) => systemText(r).includes('You simulate the backend service'), reply.json({ error: false, result: { flights: [{ flight_id: 'AF1', price: 120 }] } }));
  const call = { name: 'search_flights', arguments: { origin: 'Paris', destination: 'Rome', date: '2026-06-02' } };
  const out = await executeLlm(ExecuteInput.parse({ seed: 't1', tool: tools[0], call }), deps('tool'));
  assert.equal(out.error, false);
  assert.deepEqual(JSON.parse(out.content), { flights: [{ flight_id: 'AF1', price: 120 }] });
  assert.match(allText(server.requests[0]!), /"returns"/);
  noTruth();

  server.reset();
  const bad = await executeLlm(ExecuteInput.parse({ seed: 't2', tool: tools[0], call: { name: 'search_flights', arguments: { origin: 'Paris', seats: 2 } } }), deps('tool'));
  assert.equal(bad.error, true);
  assert.match(bad.content, /missing required parameter \\"destination\\"/);
  assert.match(bad.content, /unknown parameter \\"seats\\"/);
  assert.equal(server.requests.length, 0);
});

test('tool: the model may report a service error', async () => {
  server.enqueue(reply.json({ error: true, result: { error: { code: 'not_found', message: 'no flight AZ999' } } }));
  const out = await executeLlm(ExecuteInput.parse({ seed: 't3', tool: tools[1], call: { name: 'book_flight', arguments: { flight_id: 'AZ999' } } }), deps('tool'));
  assert.equal(out.error, true);
  assert.equal(JSON.parse(out.content).error.code, 'not_found');
});

test('judge_dialogue: verdict with analysis and turn; the plan stays hidden', async () => {
  server.enqueue(reply.json({ analysis: 'Turn [1] is right: city given by the user.', verdict: 'CORRECT', turn: null }));
  const input = JudgeDialogueInput.parse({ seed: 'j1', tools, messages: dialogue, hidden: { plan: hiddenPlan } });
  const ok = await judgeDialogueLlm(input, deps('judge'));
  assert.deepEqual(ok, { verdict: 'CORRECT', analysis: 'Turn [1] is right: city given by the user.' });
  assert.match(allText(server.requests[0]!), /\[1\] ASSISTANT calls: get_weather\(\{"city":"Oslo"\}\)/);
  noTruth();

  server.reset();
  server.enqueue(reply.json({ analysis: 'bad', verdict: 'INCORRECT', turn: 0 }), reply.json({ analysis: 'Turn [1] used the wrong unit.', verdict: 'INCORRECT', turn: 1 }));
  const bad = await judgeDialogueLlm(input, deps('judge'));
  assert.deepEqual(bad, { verdict: 'INCORRECT', analysis: 'Turn [1] used the wrong unit.', turn: 1 });
  assert.match(lastUserText(server.requests[1]!), /- turn: message \[0\] is not an assistant message/);
});

const sample = {
  id: 'smp-1',
  kind: 'single',
  tools,
  context: [{ role: 'user', content: 'Weather in Oslo in fahrenheit please' }],
  label: { type: 'calls', calls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] },
  provenance: { source: 'seed', round: 0 },
  truth: { label: { type: 'calls', calls: [{ name: 'get_weather', arguments: { city: SECRET } }] }, noisy: true, noise: SECRET },
};

test('verify: 3 votes, majority wins; reasoning stripped; no truth or hidden in any request', async () => {
  const votes = ['LABEL_WRONG', 'PRED_WRONG', 'LABEL_WRONG'];
  server.when(
    (r) => systemText(r).includes('You check one training sample'),
    () => ({ content: JSON.stringify({ analysis: `the label drops unit=fahrenheit`, verdict: votes.shift() }) }),
  );
  const input = VerifyInput.parse({
    seed: 'v1',
    sample,
    prediction: { type: 'text', text: `<think>hmm ${SECRET} maybe</think>I cannot help with that.` },
    hidden: { truth: sample.truth },
  });
  const out = await verifyLlm(input, deps('judge'));
  assert.equal(out.verdict, 'LABEL_WRONG');
  assert.match(out.analysis, /votes: LABEL_WRONG 2, PRED_WRONG 1/);
  assert.equal(server.requests.length, 3);
  const text = allText(server.requests[0]!);
  assert.match(text, /Label \(reference answer\):\nTool call:\n- get_weather\(\{"city":"Oslo"\}\)/);
  assert.match(text, /Prediction \(the model's answer\):\nA text reply, no tool call: "I cannot help with that\."/);
  const seeds = new Set(server.requests.map((r) => r.body!.seed));
  assert.equal(seeds.size, 3, 'each vote has its own seed');
  noTruth();
});

test('verify: a raw sample object with truth (not parsed) still never leaks it', async () => {
  server.when(() => true, reply.json({ analysis: 'prediction misses the unit', verdict: 'PRED_WRONG' }));
  // Bypass parsing on purpose: a careless caller hands over the sample with its truth.
  const input = { seed: 'v2', sample, prediction: { type: 'calls', calls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] }, hidden: { truth: sample.truth } } as never;
  const out = await verifyLlm(input, { ...deps('judge'), votes: 1 });
  assert.equal(out.verdict, 'PRED_WRONG');
  noTruth();
});

test('verify: a three-way tie keeps the label (PRED_WRONG first); failed votes are skipped', async () => {
  const votes = ['BOTH_WRONG', 'LABEL_WRONG', 'PRED_WRONG'];
  server.when(() => true, () => ({ content: JSON.stringify({ analysis: 'x', verdict: votes.shift() }) }));
  const out = await verifyLlm(VerifyInput.parse({ seed: 'v3', sample, prediction: { type: 'text', text: 'no' } }), deps('judge'));
  assert.equal(out.verdict, 'PRED_WRONG');

  server.reset();
  let n = 0;
  server.when(() => true, () => (n++ === 0 ? reply.serverError(400, 'context too long') : reply.json({ analysis: 'y', verdict: 'BOTH_CORRECT' })));
  const two = await verifyLlm(VerifyInput.parse({ seed: 'v4', sample, prediction: { type: 'text', text: 'no' } }), deps('judge'));
  assert.equal(two.verdict, 'BOTH_CORRECT');
  assert.match(two.analysis, /1 failed/);
});

/**
 * A stand-in for a model that follows the designer prompt: reads the intent and
 * the constraints from the prompt and writes a conforming spec (few simple params).
 */
function designReply(r: RecordedRequest) {
  const text = r.body!.messages!.find((m) => m.role === 'user')!.content!;
  const intent = /→ ([a-z0-9_]+)\n/.exec(text)![1]!;
  const params = [...text.matchAll(/^- ([a-z0-9_]+): (?!list)[^\n]*\((required|optional)\)$/gm)];
  const chosen = [...params.filter((p) => p[2] === 'required'), ...params.filter((p) => p[2] === 'optional')].slice(0, 2);
  const properties = Object.fromEntries(chosen.map((p) => [p[1], { type: 'string', description: `the ${p[1]}` }]));
  const spec = {
    name: intent,
    description: `Does ${intent.replace(/_/g, ' ')}.`,
    parameters: { type: 'object', properties, required: chosen.filter((p) => p[2] === 'required').map((p) => p[1]) },
    returns: { type: 'object', properties: { result_id: { type: 'string' } } },
  };
  return reply.fenced(spec);
}

test('api-designer: specs from tree paths, checked by rules; a constraint break is repaired', async () => {
  const fixed = { naming: 'snake', paramCount: 'few', paramTypes: 'simple', output: 'bare', description: 'concise' } as const;
  let first = true;
  server.when(
    (r) => systemText(r).includes('You design APIs'),
    (r) => {
      if (first) {
        first = false;
        return reply.json({ name: 'BadName', description: 'x', parameters: { type: 'object', properties: {}, required: [] } });
      }
      return designReply(r);
    },
  );
  const input = DesignInput.parse({ seed: 'd1', count: 2, domain: 'travel', subdomain: 'flights', constraints: fixed, similar: true });
  const out = DesignOutput.parse(await designLlm(input, deps('api-designer')));
  assert.equal(out.tools.length, 2);
  assert.deepEqual(errorsOnly(checkToolSet(out.tools)), []);
  for (const t of out.tools) {
    assert.equal((t.meta as { path: { domain: string } }).path.domain, 'travel');
    assert.ok(Object.keys(t.parameters.properties).length >= 1);
  }
  assert.equal(server.requests.length, 3, 'two tools, one repair');
  const repaired = server.requests.find((r) => lastUserText(r).startsWith('Your previous reply could not be used'))!;
  assert.match(lastUserText(repaired), /- name: name_style: "BadName" is not snake case/);
  assert.match(lastUserText(repaired), /one to three parameters, got 0/);
  assert.match(allText(server.requests[0]!), /paramCount \(how many parameters the tool exposes\): few/);
});

test('api-designer: an unknown domain is a clear input error (no request)', async () => {
  await assert.rejects(designLlm(DesignInput.parse({ seed: 'd2', domain: 'atlantis' }), deps('api-designer')), /unknown domain "atlantis"/);
  assert.equal(server.requests.length, 0);
});

test('no request body of any brain contained simulator truth', () => {
  assert.ok(seenBodies.length >= 8, `checked ${seenBodies.length} bodies`);
  for (const b of seenBodies) assert.ok(!b.includes(SECRET));
});

test('brainVerb takes a loader of the llm brain; the brain itself in its place is refused where the role is defined, with the form to use', () => {
  const brain = async (input: unknown, _deps: unknown) => input;
  assert.throws(() => brainVerb(brain as never, () => 1), /brainVerb\(loadLlm, sim\): loadLlm takes no arguments and returns the llm brain, e\.g\. async \(\) => \(await import/);
  assert.doesNotThrow(() => brainVerb(async () => brain as never, () => 1));
});
