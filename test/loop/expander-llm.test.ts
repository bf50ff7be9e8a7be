import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RunConfig } from '../../protocols/config.ts';
import { ExpanderContract } from '../../protocols/roles/expander.ts';
import { publicView, Sample } from '../../protocols/sample.ts';
import { checkDialogue } from '../../protocols/validate.ts';
import { LooptoolError } from '../../protocols/errors.ts';
import { seedRoles } from '../../agents/registry.ts';
import expander from '../../agents/expander/role.ts';
import { LooptoolNode } from '../../runtime/bus/node.ts';
import { startTestBus, type TestBus } from '../helpers/bus.ts';
import { allText, reply, startOpenAIServer, type OpenAITestServer } from '../helpers/openai-server.ts';

/*
 * The expander's llm brain over the bus, against a real HTTP server speaking the OpenAI
 * protocol: the prompt carries tools, context, label, prediction, analysis and the
 * variation, never the hidden truth or the simulator's tool meta; a broken reply gets a
 * repair turn naming the field; the written sample is completed with the tool role's
 * results into a dialogue the validator's rules accept.
 */

let bus: TestBus;
let server: OpenAITestServer;
let node: LooptoolNode;

const tool = {
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: { type: 'object' as const, properties: { city: { type: 'string' as const } }, required: ['city'] },
  meta: { source: 'synth', verb: 'get', object: 'the weather', family: 'SIMULATOR-META-FAMILY', params: [] },
};
const seed = Sample.parse({
  id: 'seed-1',
  kind: 'single',
  tools: [tool],
  context: [{ role: 'user', content: 'How is the weather in Oslo?' }],
  label: { type: 'calls', calls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] },
  provenance: { source: 'seed', round: 0 },
  truth: { label: { type: 'calls', calls: [{ name: 'get_weather', arguments: { city: 'HIDDEN-TRUTH-CITY' } }] }, noisy: true },
});
const input = {
  seed: 'x1',
  round: 1,
  slot: 2,
  sample: publicView(seed),
  prediction: { type: 'calls' as const, calls: [{ name: 'get_weather', arguments: { city: 'Osaka' } }] },
  analysis: 'ANALYSIS-TEXT: the city was copied wrongly',
  variation: 'persona' as const,
  hidden: { truth: seed.truth! },
};

before(async () => {
  bus = await startTestBus();
  server = await startOpenAIServer();
  const config = RunConfig.parse({
    seed: 'expander-llm',
    brains: { expander: 'llm' },
    llm: { baseURL: server.url, model: 'test-model', apiKey: 'sk-test-secret-123', timeoutMs: 2000, maxRetries: 1, retryBaseMs: 5, retryMaxMs: 20, repairRetries: 1 },
  });
  node = await LooptoolNode.start({ run: 'expander-llm', runDir: bus.dir, nc: await bus.connect(), config: config as unknown as Record<string, unknown> });
  for (const r of [...seedRoles, expander]) await node.serve(r);
});
after(async () => {
  await node?.stop();
  await server?.close();
  await bus?.stop();
});

test('the llm expander writes a sample from the prompt it is allowed to see, repairs a broken reply, and the dialogue passes the rules', async () => {
  server.reset();
  server.enqueue(reply.json({ messages: [{ role: 'user', content: 'Weather?' }], answer: { calls: [{ name: 'get_forecast', arguments: { city: 'Lima' } }] } }));
  server.enqueue(
    reply.fenced({
      messages: [{ role: 'user', content: 'As a pilot I need the weather in Lima before takeoff, please.' }],
      answer: { calls: [{ name: 'get_weather', arguments: { city: 'Lima' } }] },
      notes: 'new city, a pilot persona',
    }),
  );
  const out = await node.call(ExpanderContract, 'expand', input);
  assert.equal(out.sample.id, 'seed-1~e1.2');
  assert.equal(out.sample.provenance.source, 'expansion');
  assert.equal(out.sample.provenance.parent, 'seed-1');
  assert.equal(out.sample.provenance.variation, 'persona');
  assert.equal(out.sample.truth, undefined, 'an llm brain has no truth to give');
  assert.deepEqual(out.sample.label, { type: 'calls', calls: [{ name: 'get_weather', arguments: { city: 'Lima' } }] });
  assert.equal(out.requireToolUse, true);
  assert.deepEqual(checkDialogue(out.sample.tools, out.dialogue, { requireToolUse: true }), []);
  assert.equal(out.dialogue.at(-1)!.role, 'assistant');
  assert.equal(out.dialogue.filter((m) => m.role === 'tool').length, 1);

  assert.equal(server.requests.length, 2, 'one repair turn');
  const first = allText(server.requests[0]!);
  for (const s of ['How is the weather in Oslo?', 'Osaka', 'ANALYSIS-TEXT', 'persona', 'get_weather']) assert.ok(first.includes(s), `the prompt shows ${s}`);
  for (const s of ['HIDDEN-TRUTH-CITY', 'SIMULATOR-META-FAMILY', 'sk-test-secret-123']) assert.ok(!allText(server.requests[0]!).includes(s) && !allText(server.requests[1]!).includes(s), `the prompt never shows ${s}`);
  assert.match(allText(server.requests[1]!), /get_forecast/, 'the repair turn names the unknown tool');
});

test('a reply that stays broken after the repair turns is an error naming the field, not a sample', async () => {
  server.reset();
  const bad = reply.json({ messages: [{ role: 'assistant', content: 'hi' }], answer: { text: 'x' } });
  server.enqueue(bad, bad, bad);
  await assert.rejects(node.call(ExpanderContract, 'expand', { ...input, seed: 'x2' }, { retries: 0 }), (err: LooptoolError) => {
    assert.equal(err.code, 'invalid_output');
    assert.match(err.message, /messages/);
    return true;
  });
});
