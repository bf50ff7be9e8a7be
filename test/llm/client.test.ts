import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import { z } from 'zod';
import { isLooptoolError, LooptoolError } from '../../protocols/errors.ts';
import { LlmClient, retryAfterMs, type LlmEvent } from '../../agents/common/llm/client.ts';
import { resolveEndpoint, type EndpointOverrides } from '../../agents/common/llm/config.ts';
import { extractJson, stripThink } from '../../agents/common/llm/extract.ts';
import { Limiter } from '../../agents/common/llm/limiter.ts';
import { redact, Secret } from '../../agents/common/llm/secret.ts';
import { reply, startOpenAIServer, type OpenAITestServer } from '../helpers/openai-server.ts';

const KEY = 'sk-looptool-test-0123456789abcdef';
let server: OpenAITestServer;
let modelSeq = 0;

before(async () => {
  server = await startOpenAIServer();
});
after(async () => {
  await server.close();
});
beforeEach(() => server.reset());

/** A client on a fresh model name, so each test gets its own limiter. */
function client(over: EndpointOverrides = {}, events?: LlmEvent[]): LlmClient {
  const ep = resolveEndpoint(
    'tester',
    { baseURL: server.url, model: `m${++modelSeq}`, apiKey: KEY, timeoutMs: 2000, maxRetries: 2, repairRetries: 2, retryBaseMs: 5, retryMaxMs: 2000, ...over },
    {},
  );
  return new LlmClient(ep, events ? { onEvent: (e) => events.push(e) } : {});
}

const prompt = ChatPromptTemplate.fromMessages([
  ['system', 'You rate {thing}. Reply with JSON {{"score": integer 1-5, "why": string}}.'],
  ['human', 'Rate this: {item}'],
]);
const Rating = z.object({ score: z.number().int().min(1).max(5), why: z.string().min(1) });

test('structured: renders the template, sends model/messages, parses a fenced reply', async () => {
  server.enqueue(reply.fenced({ score: 4, why: 'tasty' }));
  const c = client({ temperature: 0.3, maxTokens: 77 });
  const out = await c.structured(prompt, { thing: 'soups', item: 'tomato soup' }, Rating);
  assert.deepEqual(out, { score: 4, why: 'tasty' });
  assert.equal(server.requests.length, 1);
  const body = server.requests[0]!.body!;
  assert.equal(body.model, c.endpoint.model);
  assert.equal(body.temperature, 0.3);
  assert.equal(body.max_tokens, 77);
  assert.deepEqual(
    body.messages!.map((m) => m.role),
    ['system', 'user'],
  );
  assert.match(body.messages![0]!.content!, /You rate soups\. Reply with JSON \{"score"/);
  assert.equal(body.messages![1]!.content, 'Rate this: tomato soup');
  assert.equal(server.requests[0]!.path, '/v1/chat/completions');
});

test('max_tokens: a brain\'s own ask is sent, capped by a maxTokens the user set; without one the default fills in', async () => {
  const sent = async (over: EndpointOverrides, ask: number | undefined) => {
    server.enqueue(reply.json({ score: 3, why: 'ok' }));
    await client(over).structured(prompt, { thing: 'soups', item: 'x' }, Rating, ask === undefined ? {} : { maxTokens: ask });
    return server.requests.at(-1)!.body!.max_tokens;
  };
  assert.equal(await sent({}, 2048), 2048);
  assert.equal(await sent({}, undefined), 1024);
  assert.equal(await sent({ maxTokens: 128 }, 2048), 128);
  assert.equal(await sent({ maxTokens: 128 }, 64), 64);
  assert.equal(await sent({ maxTokens: 128 }, undefined), 128);
});

test('structured: malformed JSON gets a repair turn and then succeeds', async () => {
  const events: LlmEvent[] = [];
  server.enqueue(reply.malformed(), reply.json({ score: 2, why: 'bland' }));
  const c = client({}, events);
  const out = await c.structured(prompt, { thing: 'soups', item: 'x' }, Rating);
  assert.deepEqual(out, { score: 2, why: 'bland' });
  assert.equal(server.requests.length, 2);
  const second = server.requests[1]!.body!.messages!;
  // The repair turn quotes the bad reply back as the assistant's and says what was wrong.
  assert.equal(second.at(-2)!.role, 'assistant');
  assert.equal(second.at(-2)!.content, (reply.malformed() as { content: string }).content);
  assert.equal(second.at(-1)!.role, 'user');
  assert.match(second.at(-1)!.content!, /could not be used: the reply does not contain a JSON object/);
  assert.equal(c.stats.repairs, 1);
  assert.deepEqual(
    events.map((e) => e.kind),
    ['repair'],
  );
});

test('structured: wrong schema, repairs exhausted → invalid_output naming the field', async () => {
  server.when(() => true, reply.json({ score: 'five', why: 'great' }));
  const c = client({ repairRetries: 2 });
  await assert.rejects(
    c.structured(prompt, { thing: 'soups', item: 'x' }, Rating),
    (e: unknown) => {
      assert.ok(e instanceof LooptoolError);
      assert.equal(e.code, 'invalid_output');
      assert.deepEqual(
        e.reply.issues.map((i) => i.path),
        ['score'],
      );
      assert.match(e.message, /gave no valid output in 3 tries: the JSON does not match the required schema/);
      assert.match(e.message, /score: /);
      return true;
    },
  );
  // 1 try + 2 repairs; every repair turn names the field path.
  assert.equal(server.requests.length, 3);
  for (const r of server.requests.slice(1)) assert.match(r.body!.messages!.at(-1)!.content!, /^- score: .*expected number/m);
});

test('structured: repair turn fixes a wrong schema', async () => {
  server.enqueue(reply.json({ score: 9, why: '' }), reply.json({ score: 5, why: 'fixed' }));
  const out = await client().structured(prompt, { thing: 't', item: 'i' }, Rating);
  assert.deepEqual(out, { score: 5, why: 'fixed' });
  const repair = server.requests[1]!.body!.messages!.at(-1)!.content!;
  assert.match(repair, /- score: /);
  assert.match(repair, /- why: /);
});

test('timeout: a hanging endpoint is retried, then rejected as unavailable (an outage, not a model failure)', async () => {
  server.when(() => true, reply.hang());
  const events: LlmEvent[] = [];
  const c = client({ timeoutMs: 80, maxRetries: 1 }, events);
  const t0 = Date.now();
  await assert.rejects(c.text([{ role: 'user', content: 'hello' }]), (e: unknown) => {
    assert.ok(e instanceof LooptoolError);
    assert.equal(e.code, 'unavailable');
    assert.match(e.message, /failed after 2 attempts: no answer within 80 ms/);
    return true;
  });
  assert.ok(Date.now() - t0 >= 160, 'two attempts of 80 ms each');
  assert.equal(server.requests.length, 2);
  assert.deepEqual(
    events.map((e) => e.kind),
    ['retry', 'error'],
  );
});

test('timeout: one hang then an answer succeeds', async () => {
  server.enqueue(reply.hang(), reply.text('hello back'));
  const out = await client({ timeoutMs: 80 }).text([{ role: 'user', content: 'hello' }]);
  assert.equal(out, 'hello back');
  assert.equal(server.requests.length, 2);
});

test('429: retried after Retry-After, then succeeds', async () => {
  server.enqueue(reply.rateLimited('0.15'), reply.text('finally'));
  const events: LlmEvent[] = [];
  const out = await client({ retryBaseMs: 1 }, events).text([{ role: 'user', content: 'hi' }]);
  assert.equal(out, 'finally');
  assert.equal(server.requests.length, 2);
  const gap = server.requests[1]!.at - server.requests[0]!.at;
  assert.ok(gap >= 140, `waited ${gap} ms, Retry-After said 150`);
  assert.equal(events[0]!.kind, 'retry');
  assert.equal(events[0]!.status, 429);
  assert.equal(events[0]!.delayMs, 150);
});

test('429: Retry-After is capped by retryMaxMs; exhausted retries → unavailable, not retried again by the bus', async () => {
  server.when(() => true, reply.rateLimited(3600));
  const t0 = Date.now();
  await assert.rejects(client({ maxRetries: 2, retryMaxMs: 20 }).text([{ role: 'user', content: 'hi' }]), (e: unknown) => {
    assert.ok(e instanceof LooptoolError);
    assert.equal(e.code, 'unavailable');
    assert.equal(e.reply.retryable, false);
    assert.match(e.message, /failed after 3 attempts: rate limited \(HTTP 429\)/);
    return true;
  });
  assert.ok(Date.now() - t0 < 2000, 'an hour-long Retry-After was not obeyed verbatim');
  assert.equal(server.requests.length, 3);
});

test('500: retried with backoff, then rejected with the reason', async () => {
  server.when(() => true, reply.serverError(500, 'model crashed'));
  await assert.rejects(client({ maxRetries: 3 }).text([{ role: 'user', content: 'hi' }]), (e: unknown) => {
    assert.ok(e instanceof LooptoolError);
    assert.equal(e.code, 'unavailable');
    assert.match(e.message, /failed after 4 attempts: endpoint error \(HTTP 500\): model crashed/);
    return true;
  });
  assert.equal(server.requests.length, 4);
});

test('500 then success; 400 is not retried; a body that is not JSON is retried', async () => {
  server.enqueue(reply.serverError(503), reply.text('up again'));
  assert.equal(await client().text([{ role: 'user', content: 'a' }]), 'up again');

  server.reset();
  server.enqueue(reply.serverError(400, 'bad param max_tokens'), reply.text('never'));
  await assert.rejects(client().text([{ role: 'user', content: 'b' }]), /failed after 1 attempt: the endpoint rejected the request \(HTTP 400\): bad param max_tokens/);
  assert.equal(server.requests.length, 1);

  server.reset();
  server.enqueue(reply.notJson(), reply.text('json again'));
  assert.equal(await client().text([{ role: 'user', content: 'c' }]), 'json again');
});

test('a dead endpoint (connection refused) → a clear unavailable error, never a crash', async () => {
  const dead = await startOpenAIServer();
  const url = dead.url;
  await dead.close();
  const ep = resolveEndpoint('tester', { baseURL: url, model: 'dead', apiKey: KEY, maxRetries: 1, retryBaseMs: 1 }, {});
  await assert.rejects(new LlmClient(ep).text([{ role: 'user', content: 'x' }]), (e: unknown) => {
    assert.ok(e instanceof LooptoolError);
    assert.equal(e.code, 'unavailable');
    assert.match(e.message, /connection failed/);
    return true;
  });
});

test('DNS and TLS failures are unavailable too (an outage, not a model failure)', async () => {
  const dns = resolveEndpoint('tester', { baseURL: 'http://no-such-host.invalid/v1', model: 'm', maxRetries: 0 }, {});
  await assert.rejects(new LlmClient(dns).text([{ role: 'user', content: 'x' }]), (e: unknown) => isLooptoolError(e, 'unavailable') && /connection failed/.test(e.message));
  // https to a plain-http server: the TLS handshake fails
  const tls = resolveEndpoint('tester', { baseURL: server.url.replace('http:', 'https:'), model: 'm', maxRetries: 0 }, {});
  await assert.rejects(new LlmClient(tls).text([{ role: 'user', content: 'x' }]), (e: unknown) => isLooptoolError(e, 'unavailable') && /connection failed/.test(e.message));
});

test('caller abort: queued and in-flight calls stop without retrying', async () => {
  server.when(() => true, { content: 'slow', delayMs: 300 });
  const c = client({ concurrency: 1 });
  const ac = new AbortController();
  const first = c.text([{ role: 'user', content: '1' }], {}, { signal: ac.signal });
  const second = c.text([{ role: 'user', content: '2' }], {}, { signal: ac.signal });
  setTimeout(() => ac.abort(new Error('shutting down')), 50);
  await assert.rejects(first, (e: unknown) => isLooptoolError(e, 'timeout') && /cancelled/.test(e.message));
  await assert.rejects(second, (e: unknown) => e instanceof LooptoolError && /cancelled while waiting for an llm slot: shutting down/.test(e.message));
  assert.equal(server.requests.length, 1);
  assert.equal(c.limiter.active, 0);
});

test('concurrency: the server never sees more than the limit in flight, and nothing is dropped', async () => {
  server.setLatency(30);
  try {
    const c = client({ concurrency: 3 });
    const outs = await Promise.all(Array.from({ length: 20 }, (_, i) => c.text([{ role: 'user', content: `q${i}` }])));
    assert.equal(outs.length, 20);
    assert.equal(server.requests.length, 20);
    assert.equal(server.maxInFlight, 3);
    assert.equal(c.limiter.maxActive, 3);
  } finally {
    server.setLatency(0);
  }
});

test('concurrency: two roles on the same endpoint share one limit', async () => {
  server.setLatency(30);
  try {
    const common = { baseURL: server.url, model: `shared-${++modelSeq}`, apiKey: KEY, concurrency: 4 };
    const a = new LlmClient(resolveEndpoint('planner', common, {}));
    const b = new LlmClient(resolveEndpoint('judge', { ...common, concurrency: 2 }, {}));
    assert.equal(a.limiter, b.limiter);
    await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).text([{ role: 'user', content: `q${i}` }])));
    assert.equal(server.requests.length, 12);
    // The smaller declared limit wins for everyone.
    assert.equal(server.maxInFlight, 2);
  } finally {
    server.setLatency(0);
  }
});

test('limiter: FIFO order, abort removes only the waiter', async () => {
  const l = new Limiter(1);
  const order: number[] = [];
  await l.acquire();
  const ac = new AbortController();
  const waits = [1, 2, 3].map((i) =>
    l.acquire(i === 2 ? ac.signal : undefined).then(
      () => {
        order.push(i);
        l.release();
      },
      () => order.push(-i),
    ),
  );
  ac.abort();
  l.release();
  await Promise.all(waits);
  assert.deepEqual(order, [-2, 1, 3]);
  assert.equal(l.active, 0);
  assert.equal(l.waiting, 0);
});

test('key redaction: the key travels only in the Authorization header', async () => {
  server.enqueue(reply.text('ok'));
  await client().text([{ role: 'user', content: 'hi' }]);
  const r = server.requests[0]!;
  assert.equal(r.headers.authorization, `Bearer ${KEY}`);
  assert.ok(!r.rawBody.includes(KEY), 'key in body');
  assert.ok(!r.path.includes(KEY), 'key in URL');
  for (const [k, v] of Object.entries(r.headers)) if (k !== 'authorization') assert.ok(!String(v).includes(KEY), `key in header ${k}`);
});

test('key redaction: errors, events, JSON and inspect never show the key', async () => {
  // An endpoint that quotes the key back in its error (OpenAI does, partly masked).
  server.when(() => true, {
    status: 401,
    error: `Incorrect API key provided: ${KEY}. Also got header Bearer ${KEY} and ${KEY.slice(0, 12)}****cdef`,
  });
  const events: LlmEvent[] = [];
  const c = client({}, events);
  const err = await c.text([{ role: 'user', content: 'hi' }]).catch((e: unknown) => e);
  assert.ok(err instanceof LooptoolError);
  assert.match(err.message, /refused our credentials \(HTTP 401\)/);
  const shown = [
    err.message,
    String(err.stack),
    JSON.stringify(err.reply),
    JSON.stringify(events),
    inspect(err, { depth: 10 }),
    JSON.stringify(c),
    inspect(c, { depth: 10 }),
    JSON.stringify(c.endpoint),
    inspect(c.endpoint, { depth: 10 }),
    String(c.endpoint.apiKey),
    `${c.endpoint.apiKey}`,
  ];
  for (const s of shown) {
    assert.ok(!s.includes(KEY), `key leaked in: ${s.slice(0, 200)}`);
    assert.ok(!s.includes(KEY.slice(0, 12)), `key prefix leaked in: ${s.slice(0, 200)}`);
  }
  assert.match(err.message, /\[redacted\]/);
  assert.equal(c.endpoint.apiKey.reveal(), KEY);
});

test('key redaction: helper masks known secrets, bearer tokens and sk- keys', () => {
  const s = new Secret('my-very-secret-value');
  assert.equal(redact('a my-very-secret-value b', [s]), 'a [redacted] b');
  assert.equal(redact('Authorization: Bearer abc.def-ghi'), 'Authorization: Bearer [redacted]');
  assert.equal(redact('key sk-proj-ABCDEFGH12345 end'), 'key [redacted] end');
  assert.equal(redact('short keys like "none" are left alone', ['none']), 'short keys like "none" are left alone');
  assert.equal(JSON.stringify({ s }), '{"s":"[redacted]"}');
});

test('no key configured: no Authorization header is sent', async () => {
  server.enqueue(reply.text('ok'));
  const ep = resolveEndpoint('tester', { baseURL: server.url, model: `nokey-${++modelSeq}` }, {});
  await new LlmClient(ep).text([{ role: 'user', content: 'hi' }]);
  assert.equal(server.requests[0]!.headers.authorization, undefined);
});

test('extractJson: fences, prose, <think>, nested strings with braces, wanted shape', () => {
  assert.deepEqual(extractJson('{"a":1}'), { ok: true, value: { a: 1 } });
  assert.deepEqual(extractJson('Here you go:\n```json\n{"a": [1, 2]}\n```\nBye'), { ok: true, value: { a: [1, 2] } });
  assert.deepEqual(extractJson('<think>maybe {"a": 0}</think>\nThe answer is {"a": "}{"} ok'), { ok: true, value: { a: '}{' } });
  assert.deepEqual(extractJson('reasoning without opener</think>{"b":2}'), { ok: true, value: { b: 2 } });
  assert.deepEqual(extractJson('I pick [1,2] and {"c":3}', 'object'), { ok: true, value: { c: 3 } });
  assert.deepEqual(extractJson('I pick [1,2] and {"c":3}', 'array'), { ok: true, value: [1, 2] });
  assert.deepEqual(extractJson('```\n{"d":4}'), { ok: true, value: { d: 4 } });
  const bad = extractJson('{"a": [1,, 2]');
  assert.equal(bad.ok, false);
  assert.equal(extractJson('<think>only thinking, cut off').ok, false);
  assert.equal(stripThink('<think>x</think> y'), 'y');
});

test('retryAfterMs: ms header, seconds, HTTP date, garbage', () => {
  assert.equal(retryAfterMs(new Headers({ 'retry-after-ms': '250' })), 250);
  assert.equal(retryAfterMs(new Headers({ 'retry-after': '2' })), 2000);
  const soon = new Date(Date.now() + 5000).toUTCString();
  const d = retryAfterMs(new Headers({ 'retry-after': soon }))!;
  assert.ok(d > 3000 && d <= 5000, String(d));
  assert.equal(retryAfterMs(new Headers({ 'retry-after': 'soon-ish' })), undefined);
  assert.equal(retryAfterMs(undefined), undefined);
});

test('key redaction: credentials in the base URL are hidden too', async () => {
  const s = await startOpenAIServer();
  try {
    s.when(() => true, reply.serverError(400, 'nope'));
    const url = s.url.replace('http://', 'http://alice:hunter2-secret@');
    const c = new LlmClient(resolveEndpoint('tester', { baseURL: url, model: 'cred', maxRetries: 0 }, {}));
    const err = await c.text([{ role: 'user', content: 'x' }]).catch((e: unknown) => e);
    assert.ok(err instanceof LooptoolError);
    assert.ok(!err.message.includes('hunter2-secret'), err.message);
    assert.ok(!JSON.stringify(c).includes('hunter2-secret'));
    assert.equal(s.requests.length, 1);
  } finally {
    await s.close();
  }
});
