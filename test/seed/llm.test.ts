import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { RunConfig } from '../../protocols/config.ts';
import { DialogueRecord } from '../../protocols/dialogue.ts';
import { Sample } from '../../protocols/sample.ts';
import { checkDialogue } from '../../protocols/validate.ts';
import { AssistantContract } from '../../protocols/roles/assistant.ts';
import { seedRoles } from '../../agents/registry.ts';
import assistantRole from '../../agents/assistant/role.ts';
import { LooptoolNode } from '../../runtime/bus/node.ts';
import { readJsonl } from '../../runtime/corpus.ts';
import { readTrace } from '../../runtime/bus/trace-stream.ts';
import { runSeed, seedFiles, serveSeedRoles } from '../../runtime/seed.ts';
import { startTestBus, type TestBus } from '../helpers/bus.ts';
import { reply, startOpenAIServer, type OpenAITestServer, type RecordedRequest, type Reply } from '../helpers/openai-server.ts';

type Schema = { type?: string; enum?: unknown[]; items?: Schema; properties?: Record<string, Schema>; required?: string[] };

/** A value of the schema's type, as a model that reads the schema would write. */
function valueFor(s: Schema): unknown {
  if (s.enum?.length) return s.enum[0];
  switch (s.type) {
    case 'integer':
    case 'number':
      return 2;
    case 'boolean':
      return true;
    case 'array':
      return [valueFor(s.items ?? { type: 'string' })];
    case 'object':
      return Object.fromEntries((s.required ?? []).map((k) => [k, valueFor(s.properties?.[k] ?? {})]));
    default:
      return 'Oslo';
  }
}

/**
 * Plays a plausible tool-calling model: answers a request with a schema-valid call
 * of the first tool (required arguments only) and tool results with a summary.
 */
function model(req: RecordedRequest): Reply {
  const msgs = req.body?.messages ?? [];
  const last = msgs[msgs.length - 1];
  if (last?.role === 'tool') return reply.text('Done: here is what the service returned.');
  const tool = req.body?.tools?.[0]?.function;
  if (!tool) return reply.text('I cannot help with that.');
  const params = (tool.parameters ?? {}) as Schema;
  return reply.toolCalls([{ name: tool.name, arguments: valueFor({ ...params, type: 'object' }) as Record<string, unknown> }]);
}

let bus: TestBus;
let server: OpenAITestServer;
before(async () => {
  bus = await startTestBus();
  server = await startOpenAIServer();
});
after(async () => {
  await server.close();
  await bus.stop();
});

function llmConfig(extra: object = {}) {
  return RunConfig.parse({
    seed: 'llm',
    brains: { assistant: 'llm' },
    llm: { baseURL: server.url, model: 'test-model', apiKey: 'sk-test-secret-123', timeoutMs: 400, maxRetries: 2, retryBaseMs: 5, retryMaxMs: 20, repairRetries: 1 },
    seeding: { judge: { enabled: false } },
    ...extra,
  });
}

test('an llm assistant wired through its role: malformed replies, a wrong tool, 500, 429 and a timeout are retried or rejected with a reason, never a crash', async () => {
  server.reset();
  let n = 0;
  // The first requests fail in every way an endpoint can; the rest are answered by `model`.
  server.when(
    () => true,
    (req) => {
      n++;
      if (n <= 4) return reply.malformed(); // both first samples and their repair turns: the turn fails
      if (n === 5) return reply.serverError(500);
      if (n === 6) return reply.rateLimited(0);
      if (n === 7) return reply.hang();
      if (n === 8) return reply.toolCalls([{ name: 'no_such_tool', arguments: {} }]);
      if (n === 9) return { content: '<tool_call>{"name": broken</tool_call>' };
      return model(req);
    },
  );
  const config = llmConfig();
  const dir = mkdtempSync(join(bus.dir, 'llm-'));
  const node = await LooptoolNode.start({ run: 'llm1', runDir: dir, nc: await bus.connect(), config: config as unknown as Record<string, unknown> });
  try {
    await serveSeedRoles(node, seedRoles);
    const summary = await runSeed({ node, runDir: dir, config, dialogues: 2, concurrency: 1 });
    assert.equal(summary.finished, 2, 'every dialogue finished');
    const f = seedFiles(dir);
    const accepted = readJsonl(f.dialogues, DialogueRecord).records;
    const rejected = readJsonl(f.rejected, DialogueRecord).records;
    const samples = readJsonl(f.samples, Sample).records;
    const all = [...accepted, ...rejected];
    // The failed turn is on record with the role and the reason; the dialogue went on with a fresh seed.
    const bad = all.flatMap((d) => d.badTurns);
    assert.ok(bad.some((b) => b.role === 'assistant' && /no usable|no valid|could not be read/.test(b.reason)), JSON.stringify(bad));
    assert.ok(accepted.length >= 1, `an llm dialogue gets through: ${JSON.stringify(rejected.map((d) => [d.reason, d.detail]))}`);
    for (const d of accepted) assert.deepEqual(checkDialogue(d.tools, d.messages), []);
    for (const d of rejected) assert.ok(d.reason && d.detail);
    // Samples of llm turns: kinds from the plan, no simulator truth (there is none).
    assert.ok(samples.length > 0);
    assert.ok(samples.every((s) => s.truth === undefined));
    // Simulator truth never reaches the endpoint: no plan, no hidden fields, no key in the trace.
    assert.ok(server.requests.length >= 10);
    for (const r of server.requests) {
      assert.equal(r.body?.model, 'test-model');
      assert.doesNotMatch(r.rawBody, /"hidden"|"truth"|"noise"/);
      for (const d of all) if (d.plan) assert.ok(!r.rawBody.includes(d.plan.goal), 'the plan\'s goal is not in any prompt');
    }
    // Retries and repairs are visible in the trace, redacted.
    await node.tracer.close();
    const logs = [];
    for await (const e of readTrace(await bus.connect(), { run: 'llm1', role: 'assistant' })) if (e.kind === 'log') logs.push(e);
    const kinds = new Set(logs.map((e) => (e.data as { llm?: { kind: string } }).llm?.kind));
    assert.ok(kinds.has('retry') && kinds.has('repair'), [...kinds].join(','));
    assert.ok(logs.every((e) => !JSON.stringify(e).includes('sk-test-secret-123')));
  } finally {
    await node.stop();
  }
});

test('at its concurrency the llm assistant keeps many requests in flight through one role', async () => {
  server.reset();
  server.setLatency(100);
  server.when(() => true, (req) => model(req));
  const config = llmConfig({ llm: { baseURL: server.url, model: 'test-model-2', concurrency: 32, timeoutMs: 5000 } });
  const node = await LooptoolNode.start({ run: 'llm2', runDir: bus.dir, nc: await bus.connect(), config: config as unknown as Record<string, unknown> });
  try {
    await node.serve(assistantRole);
    const tools = [{ name: 'get_weather', description: 'Weather.', parameters: { type: 'object' as const, properties: { city: { type: 'string' as const } }, required: ['city'] } }];
    const out = await Promise.all(
      Array.from({ length: 64 }, (_, i) => node.call(AssistantContract, 'respond', { seed: `c/${i}`, tools, messages: [{ role: 'user', content: `weather ${i}?` }] })),
    );
    assert.ok(out.every((o) => o.tool_calls[0]?.name === 'get_weather' && o.truth === undefined));
    assert.ok(server.maxInFlight >= 24 && server.maxInFlight <= 32, `in flight: ${server.maxInFlight}`);
  } finally {
    server.setLatency(0);
    await node.stop();
  }
});
