import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { z } from 'zod';
import { modelsDir } from '../../agents/trainer/presets.ts';
import { chatCompletion, type SamplingSettings } from '../../protocols/openai-chat.ts';
import { GenerateBatcher, type Generate } from '../../runtime/serve/batcher.ts';
import { startCli, type CliProcess } from '../helpers/cli.ts';

// What an OpenAI chat completion must look like to a client (the fields clients read).
const ToolCallOut = z.strictObject({
  id: z.string().min(1),
  type: z.literal('function'),
  function: z.strictObject({ name: z.string().min(1), arguments: z.string() }),
});
const Completion = z.strictObject({
  id: z.string().startsWith('chatcmpl-'),
  object: z.literal('chat.completion'),
  created: z.number().int(),
  model: z.string(),
  choices: z
    .array(
      z.strictObject({
        index: z.number().int(),
        message: z.strictObject({ role: z.literal('assistant'), content: z.string().nullable(), tool_calls: z.array(ToolCallOut).min(1).optional() }),
        finish_reason: z.enum(['stop', 'length', 'tool_calls']),
        logprobs: z.null(),
      }),
    )
    .min(1),
  usage: z.strictObject({ prompt_tokens: z.number().int().positive(), completion_tokens: z.number().int().positive(), total_tokens: z.number().int() }),
});
const ErrorBody = z.strictObject({
  error: z.strictObject({ message: z.string().min(1), type: z.string(), param: z.string().nullable(), code: z.string().nullable() }),
});

const tools = [
  {
    type: 'function' as const,
    function: {
      name: 'get_weather',
      description: 'Current weather in a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  },
];
const ask = [{ role: 'user' as const, content: 'What is the weather in Paris?' }];

/** `looptool serve` in a child process; resolves with its base URL once it prints it. */
async function serve(model: string): Promise<{ cli: CliProcess; url: string }> {
  const cli = startCli(['serve', '--model', model, '--port', '0', '--threads', '2']);
  const line = await cli.line(/^looptool serve: http:\/\/127\.0\.0\.1:\d+\/v1/, 300_000);
  return { cli, url: line.match(/http:\/\/\S+\/v1/)![0] };
}

async function stop(cli: CliProcess | undefined): Promise<void> {
  if (!cli || cli.child.exitCode !== null) return;
  cli.child.kill('SIGINT');
  const code = await cli.exited;
  assert.equal(code, 0, `Ctrl-C stops the server cleanly: ${cli.output()}`);
  assert.match(cli.output(), /stopping the server/);
}

const post = (url: string, body: unknown) =>
  fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe('looptool serve --model nano', () => {
  let cli: CliProcess | undefined;
  let url = '';
  let client: OpenAI;
  before(async () => {
    ({ cli, url } = await serve('nano'));
    client = new OpenAI({ baseURL: url, apiKey: 'unused', maxRetries: 0 });
  });
  after(() => stop(cli));

  it('GET /v1/models lists the one model', async () => {
    const r = await fetch(`${url}/models`);
    assert.equal(r.status, 200);
    const body = z
      .strictObject({ object: z.literal('list'), data: z.array(z.strictObject({ id: z.string(), object: z.literal('model'), created: z.number().int(), owned_by: z.literal('looptool') })).length(1) })
      .parse(await r.json());
    assert.equal(body.data[0]!.id, 'nano');
  });

  it('a greedy tools request through the openai client is an OpenAI chat completion', async () => {
    const res = await client.chat.completions.create({ model: 'nano', messages: ask, tools, temperature: 0, max_tokens: 24 });
    const c = Completion.parse(res);
    assert.equal(c.model, 'nano');
    assert.equal(c.choices.length, 1);
    assert.ok(c.usage.completion_tokens <= 24);
    assert.equal(c.usage.total_tokens, c.usage.prompt_tokens + c.usage.completion_tokens);
    // A whole tool round trip (an assistant call with string arguments, the tool's answer by call id) is accepted.
    const follow = await client.chat.completions.create({
      model: 'nano',
      messages: [
        ...ask,
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: '{"temp_c": 21}' },
      ],
      tools,
      temperature: 0,
      max_tokens: 8,
    });
    Completion.parse(follow);
  });

  it('stream: true sends the reply as chat.completion.chunk events, then [DONE]', async () => {
    const r = await post(url, { messages: ask, temperature: 0, max_tokens: 6, stream: true });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/event-stream/);
    const events = (await r.text()).split('\n\n').filter(Boolean).map((e) => e.replace(/^data: /, ''));
    assert.equal(events.at(-1), '[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk'));
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    assert.ok(['stop', 'length'].includes(chunks.at(-1).choices[0].finish_reason));
    assert.ok(chunks.at(-1).usage.completion_tokens <= 6);
  });

  it('concurrent requests are answered, batched into fewer generate calls than requests', async () => {
    const stats = async () => z.object({ requests: z.number(), generate_calls: z.number(), largest_batch: z.number() }).parse(await (await fetch(`${url}/stats`)).json());
    const s0 = await stats();
    const N = 6;
    const replies = await Promise.all(Array.from({ length: N }, (_, i) => post(url, { messages: [{ role: 'user', content: `weather in city ${i}?` }], tools, temperature: 0, max_tokens: 24 })));
    for (const r of replies) {
      assert.equal(r.status, 200);
      Completion.parse(await r.json());
    }
    const s1 = await stats();
    assert.equal(s1.requests - s0.requests, N);
    const calls = s1.generate_calls - s0.generate_calls;
    // The first request finds the worker idle and goes alone; the others queue behind it.
    assert.ok(calls < N, `${N} requests took ${calls} generate calls`);
    assert.ok(s1.largest_batch >= 2);
    const shared = new Set(replies.map((r) => r.headers.get('x-looptool-generate-call')));
    assert.ok(shared.size < N, 'some replies name the same generate call');
  });

  it('bad input is a 400 in OpenAI\'s error shape that names the field', async () => {
    const cases: [unknown, string | null][] = [
      [{ messages: ask, temperature: 'hot' }, 'temperature'],
      [{ model: 'nano' }, 'messages'],
      [{ messages: [{ role: 'wizard', content: 'x' }] }, 'messages.0.role'],
      [{ messages: ask, max_tokens: 0 }, 'max_tokens'],
      [{ messages: ask, stop: ['\n'] }, 'stop'],
      [{ messages: ask, tools: [{ type: 'function', function: { name: 'bad name!' } }] }, 'tools.0.function.name'],
      [{ messages: [...ask, { role: 'tool', tool_call_id: 'nope', content: '1' }] }, 'messages.1.tool_call_id'],
      [
        { messages: [...ask, { role: 'assistant', content: null, tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '{not json' } }] }] },
        'messages.1.tool_calls.0.function.arguments',
      ],
      ['{"messages": [', null],
    ];
    for (const [body, param] of cases) {
      const r = await post(url, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      const e = ErrorBody.parse(await r.json());
      assert.equal(e.error.type, 'invalid_request_error');
      assert.equal(e.error.param, param, e.error.message);
      if (param) assert.match(e.error.message, new RegExp(param.replace(/\./g, '\\.')));
    }
    // A prompt past the model's context is refused by the worker: the client's fault, a 400 too.
    const long = await post(url, { messages: [{ role: 'user', content: 'weather in Paris '.repeat(3000) }], max_tokens: 4 });
    assert.equal(long.status, 400);
    const le = ErrorBody.parse(await long.json());
    assert.equal(le.error.param, 'messages');
    assert.match(le.error.message, /the prompt: \d+ tokens leave no room in the model context/);
    const missing = await fetch(`${url}/nowhere`);
    assert.equal(missing.status, 404);
    ErrorBody.parse(await missing.json());
  });
});

describe('the reply of a Hermes answer', () => {
  it('becomes tool_calls with string arguments and finish_reason "tool_calls"; prose stays content', () => {
    const text = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>';
    const c = Completion.parse(chatCompletion('chatcmpl-x', 'm', 1, { prompt_tokens: 3, samples: [{ text, finish_reason: 'stop', token_ids: [1, 2] }] }));
    assert.equal(c.choices[0]!.finish_reason, 'tool_calls');
    assert.equal(c.choices[0]!.message.content, null);
    assert.deepEqual(JSON.parse(c.choices[0]!.message.tool_calls![0]!.function.arguments), { city: 'Paris' });
    const cut = Completion.parse(chatCompletion('chatcmpl-y', 'm', 1, { prompt_tokens: 3, samples: [{ text: '<tool_call>\n{"name": "get', finish_reason: 'length', token_ids: [1] }] }));
    assert.equal(cut.choices[0]!.finish_reason, 'length');
    assert.equal(cut.choices[0]!.message.content, '<tool_call>\n{"name": "get');
  });
});

describe('the batcher', () => {
  const greedy: SamplingSettings = { temperature: 0, top_p: 1, max_new_tokens: 8, n: 1 };
  const prompt = (content: string) => ({ tools: [], messages: [{ role: 'user' as const, content }] });
  /** A generate double: records each call's prompts and answers each prompt with its own text. */
  function double(fail?: (contents: string[]) => Error | undefined) {
    const calls: { contents: string[]; temperature: number | undefined }[] = [];
    const generate: Generate = async (args) => {
      const contents = args.prompts.map((p) => ('messages' in p ? String(p.messages[0]!.content) : ''));
      calls.push({ contents, temperature: args.temperature });
      await new Promise((r) => setTimeout(r, 20));
      const err = fail?.(contents);
      if (err) throw err;
      return {
        results: contents.map((c) => ({ prompt_tokens: 1, samples: [{ text: c, token_ids: [1], logprobs: [0], finish_reason: 'stop' as const }] })),
        new_tokens: contents.length,
        seconds: 0.02,
        tokens_per_s: 50,
      };
    };
    return { calls, generate };
  }

  it('groups waiting requests by sampling settings, up to max-batch, oldest first', async () => {
    const d = double();
    const b = new GenerateBatcher(d.generate, 2, () => false);
    const hot = { ...greedy, temperature: 0.7 };
    const out = await Promise.all([
      b.submit(prompt('a'), greedy),
      b.submit(prompt('b'), hot),
      b.submit(prompt('c'), greedy),
      b.submit(prompt('d'), greedy),
      b.submit(prompt('e'), hot),
    ]);
    assert.deepEqual(out.map((r) => r.samples[0]!.text), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(d.calls.map((c) => c.contents), [['a'], ['b', 'e'], ['c', 'd']]);
    assert.deepEqual(b.stats, { requests: 5, generate_calls: 3, largest_batch: 2, queued: 0, dropped: 0 });
  });

  it('a batch refused as a bad request is retried one request at a time: only the bad one fails', async () => {
    const d = double((cs) => (cs.includes('bad') ? new Error('bad request') : undefined));
    const b = new GenerateBatcher(d.generate, 8, (e) => (e as Error).message === 'bad request');
    const first = b.submit(prompt('x'), greedy);
    const rest = [b.submit(prompt('y'), greedy), b.submit(prompt('bad'), greedy), b.submit(prompt('z'), greedy)].map((p) => p.then((r) => r.samples[0]!.text, (e: Error) => e.message));
    assert.equal((await first).samples[0]!.text, 'x');
    assert.deepEqual(await Promise.all(rest), ['y', 'bad request', 'z']);
    assert.deepEqual(d.calls.map((c) => c.contents), [['x'], ['y', 'bad', 'z'], ['y'], ['bad'], ['z']]);
  });

  it('requests that differ only in their seeds share a call, which takes the first one\'s seed', async () => {
    const seen: (number | undefined)[] = [];
    const d = double();
    const b = new GenerateBatcher(async (args) => (seen.push(args.seed), d.generate(args)), 8, () => false);
    const hot = { ...greedy, temperature: 0.7 };
    await Promise.all([b.submit(prompt('a'), { ...hot, seed: 1 }), b.submit(prompt('b'), { ...hot, seed: 2 }), b.submit(prompt('c'), { ...hot, seed: 3 })]);
    assert.deepEqual(d.calls.map((c) => c.contents), [['a'], ['b', 'c']]);
    assert.deepEqual(seen, [1, 2]);
  });

  it('a waiting request whose client goes away leaves the queue; one already in a call is answered', async () => {
    const d = double();
    const b = new GenerateBatcher(d.generate, 8, () => false);
    const first = new AbortController();
    const second = new AbortController();
    const a = b.submit(prompt('a'), greedy, first.signal);
    const gone = b.submit(prompt('b'), greedy, second.signal).then(
      () => 'answered',
      (e: Error) => e.constructor.name,
    );
    const c = b.submit(prompt('c'), greedy);
    first.abort(); // 'a' is already in the first call
    second.abort();
    assert.equal((await a).samples[0]!.text, 'a');
    assert.equal(await gone, 'ClientGone');
    assert.equal((await c).samples[0]!.text, 'c');
    assert.deepEqual(d.calls.map((x) => x.contents), [['a'], ['c']]);
    assert.equal(b.stats.dropped, 1);
  });
});

const smolBuilt = existsSync(join(modelsDir(), 'smollm2', 'config.json'));

describe('looptool serve --model smollm2 (the real 135M model)', { skip: smolBuilt ? false : 'smollm2 is not built on this machine (npm run setup)' }, () => {
  let cli: CliProcess | undefined;
  let url = '';
  before(async () => {
    ({ cli, url } = await serve('smollm2'));
  });
  after(() => stop(cli));

  it('answers one short tools request with a valid OpenAI completion', async (t) => {
    const client = new OpenAI({ baseURL: url, apiKey: 'unused', maxRetries: 0, timeout: 300_000 });
    const res = Completion.parse(await client.chat.completions.create({ model: 'smollm2', messages: ask, tools, temperature: 0, max_tokens: 8 }));
    t.diagnostic(`smollm2 says: ${JSON.stringify(res.choices[0]!.message)}`);
    assert.equal(res.model, 'smollm2');
    assert.ok(res.usage.completion_tokens >= 1 && res.usage.completion_tokens <= 8);
  });
});
