import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WorkerError, WorkerProcess } from '../../agents/trainer/worker-process.ts';
import { resolveModelSpec } from '../../agents/trainer/presets.ts';

/** The test cache's nano (scripts/run-tests.mjs builds it). */
const NANO = resolveModelSpec({ preset: 'nano' });

// The real torch worker, driven through the supervisor: every verb once, and bad input of
// every kind, after which the same worker process still answers.
let w: WorkerProcess;
const tools = [
  {
    name: 'get_weather',
    description: 'Current weather in a city',
    parameters: { type: 'object' as const, properties: { city: { type: 'string' as const } }, required: ['city'] },
  },
];
const prompt = { tools, messages: [{ role: 'user' as const, content: 'Weather in Oslo?' }] };
const target = '<tool_call>\n{"name":"get_weather","arguments":{"city":"Oslo"}}\n</tool_call>';

before(async () => {
  w = await WorkerProcess.start({ threads: 1 });
});
after(async () => {
  await w?.close();
});

test('ready line names torch and the process', () => {
  assert.equal(typeof w.info?.torch, 'string');
  assert.equal(w.info?.pid, w.pid);
});

test('a verb before load is a structured not_loaded error', async () => {
  await assert.rejects(w.generate({ prompts: [prompt] }), (e: WorkerError) => e.type === 'not_loaded' && /load/.test(e.message));
});

test('load, generate, score, sft_step, grpo_step, stats round trip', async () => {
  const info = await w.load({ model: NANO, seed: 5, optimizer: { lr: 1e-3 } });
  assert.equal(info.model.kind, 'hf');
  assert.equal(info.model.model_type, 'qwen3');
  // the test cache's nano (runtime/models/nano.ts, NANO_SMOKE): 0.55M parameters
  assert.ok(info.model.params > 100_000 && info.model.params < 10_000_000, `params ${info.model.params}`);

  const g = await w.generate({ prompts: [prompt, { text: '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n' }], n: 3, max_new_tokens: 16, seed: 1 });
  assert.equal(g.results.length, 2);
  for (const r of g.results) {
    assert.equal(r.samples.length, 3);
    for (const s of r.samples) {
      assert.equal(s.token_ids.length, s.logprobs.length);
      assert.ok(s.token_ids.length >= 1 && s.token_ids.length <= 16);
      assert.ok(s.logprobs.every((x) => x <= 0));
    }
  }
  assert.ok(g.results[0].prompt_tokens > 50, 'the tools are rendered into the prompt');

  // Score the sampled ids: the same log-probs come back (KV-cached sampling == full forward).
  const s0 = g.results[0].samples[0];
  const sc = await w.score({ items: [{ prompt, completion_ids: s0.token_ids }, { prompt, completion: target }], return_token_logprobs: true });
  assert.equal(sc.results[0].tokens, s0.token_ids.length);
  sc.results[0].token_logprobs!.forEach((x, i) => assert.ok(Math.abs(x - s0.logprobs[i]) < 1e-3));
  const targetScore = sc.results[1];
  assert.ok(targetScore.ppl! > 1 && Math.abs(Math.exp(-targetScore.logprob_sum / targetScore.tokens) - targetScore.ppl!) < 1e-6 * targetScore.ppl!);

  // SFT on the target lowers its loss.
  let first = 0;
  let last = 0;
  for (let i = 0; i < 8; i++) {
    const r = await w.sftStep({ samples: [{ prompt, completion: target }] });
    if (i === 0) first = r.loss;
    last = r.loss;
    assert.ok(r.grad_norm! > 0 && r.tokens_per_s > 0);
  }
  assert.ok(last < first * 0.8, `sft loss ${first} -> ${last}`);

  const adv = [1, -0.5, -0.5];
  const m = await w.grpoStep({
    groups: [{ prompt, completions: g.results[0].samples.map((s, i) => ({ token_ids: s.token_ids, logprobs: s.logprobs, advantage: adv[i] })) }],
  });
  // The policy moved with SFT since sampling: ratio is not 1, and the metrics say so.
  assert.ok(Number.isFinite(m.loss) && m.updates === 1 && m.sequences === 3);
  assert.ok(m.clip_frac >= 0 && m.clip_frac <= 1 && m.entropy > 0 && m.grad_norm! > 0);
  assert.notEqual(m.ratio_mean, 1);

  const st = await w.stats();
  assert.equal(st.counters.sft_steps, 8);
  assert.equal(st.counters.grpo_steps, 1);
  assert.equal(st.loaded, true);
});

test('bad input never kills the worker', async () => {
  const pid = w.pid;
  // Caught by zod before it is sent, with the field named.
  await assert.rejects(w.generate({ prompts: [], n: 0 }), (e: WorkerError) => {
    assert.equal(e.type, 'bad_request');
    assert.match(e.message, /args\.prompts/);
    assert.match(e.message, /args\.n/);
    return true;
  });
  // Passes zod, refused by the worker with the field named.
  await assert.rejects(w.generate({ prompts: [{ ids: [10_000] }] }), (e: WorkerError) => e.type === 'bad_request' && /args\.prompts\.0\.ids/.test(e.message));
  await assert.rejects(
    w.score({ items: [{ prompt: { text: 'x7 '.repeat(3000) }, completion: 'y' }] }),
    (e: WorkerError) => e.type === 'bad_request' && /model context/.test(e.message),
  );
  await assert.rejects(
    w.request('grpo_step', { groups: [{ prompt, completions: [{ token_ids: [1, 2], logprobs: [-1], advantage: 1 }] }] }),
    (e: WorkerError) => e.type === 'bad_request' && /logprobs/.test(e.message),
  );
  await assert.rejects(w.restore({ path: '/nonexistent/ckpt' }), (e: WorkerError) => e.type === 'bad_request' && /no checkpoint/.test(e.message));
  // Raw garbage on the wire: answered (as a protocol_error: it names no request of ours).
  const errs: unknown[] = [];
  w.on('protocol_error', (e) => errs.push(e));
  w.writeRaw('this is not json');
  w.writeRaw('{"id": "x1", "verb": "fly", "args": {}}');
  w.writeRaw('{"id": "x2", "verb": "stats", "args": []}');
  const pong = await w.ping();
  assert.equal(pong.pid, pid);
  assert.equal(w.pid, pid, 'same process');
  assert.equal(errs.length, 3, JSON.stringify(errs));
  assert.match(JSON.stringify(errs), /bad_json/);
  assert.match(JSON.stringify(errs), /unknown_verb/);
  assert.equal(w.restarts, 0);
});

test("a Ctrl-C that reaches the worker (a terminal signals the whole process group) is left to its parent: the worker goes on answering", async () => {
  const pid = w.pid!;
  process.kill(pid, 'SIGINT');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal((await w.ping()).pid, pid);
  assert.equal(w.restarts, 0);
});

test('the worker exits when its stdin closes', async () => {
  const w2 = await WorkerProcess.start({ threads: 1 });
  const exited = once(w2, 'exit');
  const pid = w2.pid!;
  await w2.close();
  const [info] = (await exited) as [{ code: number | null }];
  assert.equal(info.code, 0, 'a clean exit at EOF, not a kill');
  assert.throws(() => process.kill(pid, 0));
});
