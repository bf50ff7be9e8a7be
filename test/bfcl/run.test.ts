import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type Category,
  type CheckMode,
  CATEGORIES,
  bfclMessages,
  bfclTools,
  checkResultLine,
  referenceResult,
  resultFromAnswer,
} from '../../protocols/bfcl/index.ts';
import type { PyDict } from '../../protocols/toolcalls/index.ts';
import { REPO_ROOT } from '../../runtime/bfcl/files.ts';
import { ResultFile, lockDir } from '../../runtime/bfcl/result-file.ts';
import { loadQuestions, resultFileName } from '../../runtime/bfcl/run.ts';
import { type OpenAITestServer, type RecordedRequest, type Reply, startOpenAIServer } from '../helpers/openai-server.ts';
import { DATA_DIR, dataset } from './data.ts';

/**
 * `looptool eval bfcl run` end to end: the real CLI in a child process against the
 * OpenAI-protocol test server (a real HTTP server in this process), which recognises each
 * BFCL question by its messages and tools and answers it as a script says.
 */

const KEY = 'sk-bfcl-test-secret-0123456789';

type Run = { code: number | null; stdout: string; stderr: string };

function start(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'runtime/cli/main.ts'), 'eval', 'bfcl', 'run', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOOPTOOL_LLM_RETRY_BASE_MS: '20', LOOPTOOL_LLM_RETRY_MAX_MS: '3000', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += String(d)));
  child.stderr!.on('data', (d: Buffer) => (stderr += String(d)));
  const done = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

const looptool = (args: string[], env?: NodeJS.ProcessEnv) => start(args, env).done;

/** The request's identity: what the model was shown. */
function requestKey(messages: { role: string; content?: string | null }[], toolNames: string[]): string {
  return JSON.stringify([messages.map((m) => [m.role, m.content ?? '']), toolNames]);
}

type Question = { id: string; category: Category; index: number };

/** Every question of `categories` (first `limit`) by the key of the request that asks it. */
function questionIndex(categories: readonly Category[], limit: number, mode: CheckMode): Map<string, Question> {
  const byKey = new Map<string, Question>();
  for (const category of categories) {
    loadQuestions(DATA_DIR, category, limit).questions.forEach((q, index) => {
      const tools = mode === 'fc' && q.functions.length ? bfclTools(q.functions).tools.map((t) => t.function.name) : [];
      const key = requestKey(bfclMessages(q, mode), tools);
      if (!byKey.has(key)) byKey.set(key, { id: q.id, category, index });
    });
  }
  return byKey;
}

/** A reply that writes `result` (a BFCL result value) the way an OpenAI server would. */
function replyFor(result: unknown): Reply {
  if (typeof result === 'string') return { content: result };
  const calls = (result as PyDict[]).map((d) => ({ name: String(d.keys[0]), arguments: d.vals[0] as string }));
  return { toolCalls: calls };
}

/** Deliberately wrong answers of three kinds, as raw replies and as the result line we expect. */
function broken(id: string, index: number, mode: CheckMode): { reply: Reply; line: string } {
  const kind = index % 3;
  if (mode === 'fc') {
    if (kind === 0) return { reply: { toolCalls: [{ name: 'no_such_function', arguments: '{}' }] }, line: JSON.stringify({ id, result: [{ no_such_function: '{}' }] }) };
    if (kind === 1) return { reply: { content: 'I have no idea.' }, line: JSON.stringify({ id, result: 'I have no idea.' }) };
    return { reply: { toolCalls: [{ name: 'f', arguments: '{"a": ' }] }, line: JSON.stringify({ id, result: [{ f: '{"a": ' }] }) };
  }
  const text = ['[no_such_function(x=1)]', 'I have no idea.', '[f(a=]'][kind]!;
  return { reply: { content: text }, line: JSON.stringify({ id, result: text }) };
}

function answerWith(server: OpenAITestServer, index: Map<string, Question>, answer: (q: Question) => Reply): void {
  server.when(
    () => true,
    (req: RecordedRequest) => {
      const key = requestKey(req.body?.messages ?? [], (req.body?.tools ?? []).map((t) => t.function.name));
      const q = index.get(key);
      if (!q) return { status: 400, error: 'the test server does not know this question' };
      return answer(q);
    },
  );
}

function reference(q: Question, mode: CheckMode): Reply {
  return replyFor(referenceResult(dataset(q.category).entries.get(q.id)!, mode));
}

/** Result lines per category; asserts every line parses and no id appears twice. */
function readResults(dir: string, categories: readonly Category[]): Map<Category, string[]> {
  const out = new Map<Category, string[]>();
  for (const c of categories) {
    const path = join(dir, resultFileName(c));
    const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
    assert.ok(text === '' || text.endsWith('\n'), `${c}: the file ends with a whole line`);
    const ids = text.split('\n').filter(Boolean).map((l) => JSON.parse(l).id as string);
    assert.equal(new Set(ids).size, ids.length, `${c}: an id was written twice`);
    out.set(c, ids);
  }
  return out;
}

/** Waits until a result file has `n` lines (the CLI's start-up takes seconds on a loaded machine). */
async function waitForLines(path: string, n: number, timeoutMs = 60_000): Promise<void> {
  for (const until = Date.now() + timeoutMs; Date.now() < until; ) {
    if (existsSync(path) && readFileSync(path, 'utf8').split('\n').filter(Boolean).length >= n) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${path} did not reach ${n} lines in ${timeoutMs} ms`);
}

function firstIds(category: Category, limit: number): string[] {
  return loadQuestions(DATA_DIR, category, limit).questions.map((q) => q.id);
}

describe('looptool eval bfcl run', () => {
  let server: OpenAITestServer;
  let dir: string;
  let n = 0;
  const out = () => join(dir, `out-${++n}`);

  before(async () => {
    server = await startOpenAIServer();
    dir = mkdtempSync(join(tmpdir(), 'looptool-bfcl-run-'));
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const mode of ['fc', 'prompt'] as const) {
    it(`${mode} mode: reference answers score 100% on every category, the key goes only to the endpoint`, async () => {
      server.reset();
      const limit = 4;
      answerWith(server, questionIndex(CATEGORIES, limit, mode), (q) => reference(q, mode));
      const o = out();
      const r = await looptool(['--endpoint', server.url, '--model', 'ref-model', '--mode', mode, '--limit', String(limit), '--out', o, '--json', '--api-key-env', 'BFCL_TEST_KEY'], {
        BFCL_TEST_KEY: KEY,
      });
      assert.equal(r.code, 0, r.stderr);
      const res = JSON.parse(r.stdout);
      for (const c of CATEGORIES) {
        assert.equal(res.categories[c].total, limit, c);
        assert.equal(res.categories[c].correct, limit, `${c}: ${JSON.stringify(res.categories[c].errorTypes)}`);
      }
      assert.equal(res.run.answered, limit * CATEGORIES.length);
      assert.match(r.stderr, /answers\/s/);
      const ids = readResults(o, CATEGORIES);
      for (const c of CATEGORIES) assert.deepEqual([...ids.get(c)!].sort(), firstIds(c, limit).sort(), c);
      // What the endpoint saw: the key, tools only in fc mode (with BFCL's "." -> "_"), the prompt-mode instructions otherwise.
      const reqs = server.requests;
      assert.equal(reqs.length, limit * CATEGORIES.length);
      assert.ok(reqs.every((q) => q.headers.authorization === `Bearer ${KEY}`));
      assert.ok(reqs.every((q) => q.body?.temperature === 0 && q.body?.model === 'ref-model'));
      if (mode === 'fc') {
        const simple1 = reqs.find((q) => q.body?.tools?.some((t) => t.function.name === 'math_factorial'));
        assert.ok(simple1, 'simple_1 went with its tool named math_factorial');
        assert.ok(reqs.every((q) => (q.body?.messages ?? []).every((m) => !/Python syntax/.test(m.content ?? ''))));
      } else {
        assert.ok(reqs.every((q) => q.body?.tools === undefined));
        assert.ok(reqs.every((q) => q.body?.messages?.[0]?.role === 'system' && /Python syntax/.test(q.body.messages[0].content ?? '')));
      }
      for (const name of readdirSync(o)) assert.ok(!readFileSync(join(o, name), 'utf8').includes(KEY), `${name} holds the key`);
      assert.ok(!r.stdout.includes(KEY) && !r.stderr.includes(KEY));
    });

    it(`${mode} mode: broken answers score exactly the checker's verdicts`, async () => {
      server.reset();
      const limit = 6;
      const categories: Category[] = ['simple', 'multiple', 'parallel_multiple', 'irrelevance', 'live_simple', 'live_relevance'];
      answerWith(server, questionIndex(categories, limit, mode), (q) => (q.index % 2 === 0 ? reference(q, mode) : broken(q.id, q.index, mode).reply));
      const o = out();
      const r = await looptool(['--endpoint', server.url, '--model', 'broken-model', '--mode', mode, '--limit', String(limit), '--out', o, '--json', '--categories', categories.join(',')]);
      assert.equal(r.code, 0, r.stderr);
      const res = JSON.parse(r.stdout);
      for (const c of categories) {
        let expected = 0;
        firstIds(c, limit).forEach((id, index) => {
          const entry = dataset(c).entries.get(id)!;
          const line = index % 2 === 0 ? `{"id": ${JSON.stringify(id)}, "result": ${resultJson(referenceResult(entry, mode))}}` : broken(id, index, mode).line;
          if (checkResultLine(dataset(c), line, mode).valid) expected++;
        });
        assert.equal(res.categories[c].correct, expected, c);
        assert.ok(expected < limit, `${c}: some broken answer is wrong`);
      }
      readResults(o, categories);
    });
  }

  it('resume after SIGKILL: the second run asks only the rest, every id exactly once', async () => {
    server.reset();
    server.setLatency(40);
    const limit = 15;
    const categories: Category[] = ['simple', 'live_multiple'];
    answerWith(server, questionIndex(categories, limit, 'fc'), (q) => reference(q, 'fc'));
    const o = out();
    const args = ['--endpoint', server.url, '--model', 'm', '--limit', String(limit), '--out', o, '--categories', categories.join(','), '--concurrency', '2', '--json'];
    const first = start(args);
    await waitForLines(join(o, resultFileName('simple')), 5);
    first.child.kill('SIGKILL');
    await first.done;
    const before = readResults(o, categories);
    const written = [...before.values()].reduce((a, ids) => a + ids.length, 0);
    assert.ok(written >= 5 && written < 2 * limit, `killed mid-run (${written} written)`);
    server.setLatency(0);
    const second = await looptool(args);
    assert.equal(second.code, 0, second.stderr);
    const res = JSON.parse(second.stdout);
    assert.equal(res.run.skipped, written);
    assert.equal(res.run.answered, 2 * limit - written);
    const ids = readResults(o, categories);
    for (const c of categories) {
      assert.deepEqual([...ids.get(c)!].sort(), [...firstIds(c, limit)].sort(), c);
      assert.equal(res.categories[c].correct, limit);
    }
  });

  it('Ctrl-C stops the run cleanly (exit 130, whole lines kept), and a rerun completes it', async () => {
    server.reset();
    server.setLatency(40);
    const limit = 12;
    answerWith(server, questionIndex(['multiple'], limit, 'prompt'), (q) => reference(q, 'prompt'));
    const o = out();
    const args = ['--endpoint', server.url, '--model', 'm', '--mode', 'prompt', '--limit', String(limit), '--out', o, '--categories', 'multiple', '--concurrency', '2', '--json'];
    const first = start(args);
    await waitForLines(join(o, resultFileName('multiple')), 3);
    first.child.kill('SIGINT');
    const r = await first.done;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /interrupted: .*run the same command again to continue/s);
    assert.ok(!existsSync(join(o, '.lock')), 'the lock is released');
    const written = readResults(o, ['multiple']).get('multiple')!.length;
    assert.ok(written >= 3 && written < limit, `${written} written`);
    server.setLatency(0);
    const again = await looptool(args);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).run.skipped, written);
    assert.deepEqual(readResults(o, ['multiple']).get('multiple')!.sort(), firstIds('multiple', limit).sort());
  });

  it('500, 429 with Retry-After, a body that is not JSON and a timeout are retried; each answer written once', async () => {
    server.reset();
    const limit = 3;
    answerWith(server, questionIndex(['simple'], limit, 'fc'), (q) => reference(q, 'fc'));
    server.enqueue({ status: 500, error: 'boom' }, { status: 429, retryAfter: 1 }, { rawBody: '{"choices": [garbage' }, { rawBody: '<html>502</html>' }, { hang: true });
    const o = out();
    const t0 = Date.now();
    const r = await looptool(['--endpoint', server.url, '--model', 'm', '--limit', String(limit), '--out', o, '--categories', 'simple', '--concurrency', '1', '--timeout-ms', '400', '--retries', '6', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.equal(res.categories.simple.correct, limit);
    assert.deepEqual(readResults(o, ['simple']).get('simple'), firstIds('simple', limit));
    const reqs = server.requests;
    assert.equal(reqs.length, limit + 5);
    assert.ok(reqs[2]!.at - reqs[1]!.at >= 900, `the retry after the 429 waited for Retry-After (${reqs[2]!.at - reqs[1]!.at} ms)`);
    assert.ok(Date.now() - t0 >= 1000);
  });

  it('a refused connection stops the run with an error that names the endpoint', async () => {
    const o = out();
    const r = await looptool(['--endpoint', 'http://127.0.0.1:9/v1', '--model', 'm', '--limit', '2', '--out', o, '--categories', 'simple', '--retries', '1']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /stopped: .*http:\/\/127\.0\.0\.1:9\/v1.*connection failed/);
    assert.match(r.stderr, /0\/2 answers are in/);
    assert.deepEqual(readResults(o, ['simple']).get('simple'), []);
  });

  it('an endpoint that fails for good mid-run stops it; what was written stays whole and a rerun completes it', async () => {
    server.reset();
    const limit = 8;
    const index = questionIndex(['simple'], limit, 'fc');
    let served = 0;
    server.when(
      () => true,
      (req) => {
        if (served >= 3) return { status: 503, error: 'overloaded for good' };
        served++;
        const key = requestKey(req.body?.messages ?? [], (req.body?.tools ?? []).map((t) => t.function.name));
        return reference(index.get(key)!, 'fc');
      },
    );
    const o = out();
    const args = ['--endpoint', server.url, '--model', 'm', '--limit', String(limit), '--out', o, '--categories', 'simple', '--concurrency', '1', '--retries', '2', '--json'];
    const r = await looptool(args);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /stopped: .*HTTP 503.*overloaded for good/);
    assert.equal(r.stdout, '', 'no scores for an unfinished run');
    assert.equal(readResults(o, ['simple']).get('simple')!.length, 3);
    server.reset();
    answerWith(server, index, (q) => reference(q, 'fc'));
    const again = await looptool(args);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).run.skipped, 3);
    assert.deepEqual(readResults(o, ['simple']).get('simple')!.sort(), firstIds('simple', limit).sort());
  });

  it('a question the endpoint refuses (HTTP 400) is not written and counts as wrong; the others are answered', async () => {
    server.reset();
    const limit = 4;
    const index = questionIndex(['simple'], limit, 'fc');
    answerWith(server, index, (q) => (q.id === 'simple_2' ? { status: 400, error: 'prompt too long for the context' } : reference(q, 'fc')));
    const o = out();
    const r = await looptool(['--endpoint', server.url, '--model', 'm', '--limit', String(limit), '--out', o, '--categories', 'simple', '--json']);
    assert.equal(r.code, 1, 'an incomplete evaluation is not a success');
    const res = JSON.parse(r.stdout);
    assert.equal(res.categories.simple.correct, limit - 1);
    assert.equal(res.categories.simple.missing, 1);
    assert.deepEqual(res.run.rejected.map((x: { id: string }) => x.id), ['simple_2']);
    assert.match(r.stderr, /refused simple_2: .*prompt too long/);
  });

  it('an endpoint that refuses every question stops after the first 8; a reply that is not a chat message stops with the field named', async () => {
    server.reset();
    server.when(() => true, { status: 400, error: 'tools are not supported by this server' });
    const refused = await looptool(['--endpoint', server.url, '--model', 'm', '--limit', '20', '--out', out(), '--categories', 'simple', '--concurrency', '1']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /stopped: the endpoint refused the first 8 questions; the last said: .*tools are not supported/);
    assert.equal(server.requests.length, 8);
    server.reset();
    server.when(() => true, { rawBody: JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 42 }, finish_reason: 'stop' }] }) });
    const o = out();
    const odd = await looptool(['--endpoint', server.url, '--model', 'm', '--limit', '2', '--out', o, '--categories', 'simple']);
    assert.equal(odd.code, 1);
    assert.match(odd.stderr, /not an OpenAI chat message .*choices\.0\.message\.content/);
    assert.deepEqual(readResults(o, ['simple']).get('simple'), []);
  });

  it('usage: multi-turn categories are out of scope (and --help says so), --model is required', async () => {
    const help = await looptool(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /eval bfcl run/);
    assert.match(help.stdout, /Multi-turn categories are out of scope/);
    const mt = await looptool(['--endpoint', server.url, '--model', 'm', '--categories', 'multi_turn_base']);
    assert.equal(mt.code, 2);
    assert.match(mt.stderr, /multi-turn categories are out of scope/);
    const nomodel = await looptool(['--endpoint', server.url]);
    assert.equal(nomodel.code, 2);
    assert.match(nomodel.stderr, /--model is required/);
  });
});

describe('looptool eval bfcl run --model (a local policy through its worker)', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('nano answers every question once in batches, the checker scores what it wrote, and a rerun asks nothing', async () => {
    const o = mkdtempSync(join(tmpdir(), 'looptool-bfcl-policy-'));
    dirs.push(o);
    const categories: Category[] = ['simple', 'irrelevance'];
    const args = ['--model', 'nano', '--categories', categories.join(','), '--limit', '3', '--concurrency', '2', '--max-tokens', '24', '--out', o, '--json'];
    const r = await looptool(args);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.deepEqual(res.run.answerer, { kind: 'policy', model: { preset: 'nano' } });
    assert.equal(res.run.answered, 6);
    const written = readResults(o, categories);
    for (const c of categories) {
      assert.deepEqual(written.get(c), firstIds(c, 3), `${c}: the first 3 questions, each once`);
      const lines = readFileSync(join(o, resultFileName(c)), 'utf8').split('\n').filter(Boolean);
      const correct = lines.filter((l) => checkResultLine(dataset(c), l, 'fc').valid).length;
      assert.equal(res.categories[c].correct, correct, `${c}: the score is the checker's verdicts on the written lines`);
    }
    const again = await looptool(args);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).run.answered, 0);
    assert.equal(JSON.parse(again.stdout).run.skipped, 6);
  });

  it('a model that is neither a preset nor a directory is a usage error', async () => {
    const r = await looptool(['--model', join(tmpdir(), 'no-such-checkpoint'), '--limit', '1']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /neither a preset \(nano, smollm2\) nor a directory/);
  });
});

describe('eval bfcl run: reading replies and keeping result files whole', () => {
  it('fc mode reads native tool calls as written, Hermes blocks from the text, else the text', () => {
    assert.deepEqual(resultFromAnswer('fc', { content: '', toolCalls: [{ name: 'f', arguments: '{"x": 4.0}' }, { name: 'g', arguments: '' }] }), [
      { f: '{"x": 4.0}' },
      { g: '{}' },
    ]);
    const hermes = '<think>which one?</think>\n<tool_call>\n{"name": "math_factorial", "arguments": {"number": 5, "scale": 2.0}}\n</tool_call>';
    assert.deepEqual(resultFromAnswer('fc', { content: hermes, toolCalls: [] }), [{ math_factorial: '{"number":5,"scale":2.0}' }]);
    assert.equal(resultFromAnswer('fc', { content: 'No function fits.', toolCalls: [] }), 'No function fits.');
    assert.equal(resultFromAnswer('fc', { content: '<tool_call>{"name": broken', toolCalls: [] }), '<tool_call>{"name": broken');
  });

  it('prompt mode keeps the text; calls a server parsed out of it are written back as Python calls', () => {
    assert.equal(resultFromAnswer('prompt', { content: '[f(a=1)]', toolCalls: [] }), '[f(a=1)]');
    assert.equal(resultFromAnswer('prompt', { content: '', toolCalls: [{ name: 'f', arguments: '{"a": 1, "b": "x"}' }] }), "[f(a=1, b='x')]");
  });

  it('a torn last line left by a crash is dropped on open; whole lines and their ids stay', async () => {
    const d = mkdtempSync(join(tmpdir(), 'looptool-bfcl-file-'));
    try {
      const path = join(d, 'BFCL_v3_simple_result.json');
      writeFileSync(path, '{"id":"simple_0","result":"[f()]"}\n{"id":"simple_1","result":"[f()]"}\n{"id":"simple_2","res');
      const f = new ResultFile(path);
      assert.deepEqual([...f.answered], ['simple_0', 'simple_1']);
      assert.ok(f.repairedBytes > 0);
      f.append('simple_2', '{"id":"simple_2","result":"[g()]"}');
      await f.close();
      assert.equal(readFileSync(path, 'utf8'), '{"id":"simple_0","result":"[f()]"}\n{"id":"simple_1","result":"[f()]"}\n{"id":"simple_2","result":"[g()]"}\n');
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('one writer per directory: a live writer is refused, a dead one\'s lock is taken over', () => {
    const d = mkdtempSync(join(tmpdir(), 'looptool-bfcl-lock-'));
    try {
      const release = lockDir(d);
      writeFileSync(join(d, '.lock'), String(process.ppid));
      assert.throws(() => lockDir(d), /another "eval bfcl run" \(pid \d+\) is writing to/);
      release();
      writeFileSync(join(d, '.lock'), '999999999');
      lockDir(d)();
      assert.ok(!existsSync(join(d, '.lock')));
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

/** JSON text of a reference result (exact numbers kept). */
function resultJson(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  return `[${(v as PyDict[]).map((d) => `{${JSON.stringify(String(d.keys[0]))}: ${JSON.stringify(d.vals[0])}}`).join(', ')}]`;
}
