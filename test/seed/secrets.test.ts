import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCli } from '../helpers/cli.ts';
import { reply, startOpenAIServer, type OpenAITestServer } from '../helpers/openai-server.ts';

/*
 * Secrets planted in a config file (the API key, a header) and in a NATS URL must reach
 * the endpoint and the server, and nothing else: not the run directory (config.json, the
 * corpus, the embedded server's trace store), not the logs, not the error messages.
 */

const KEY = 'sk-planted-A1b2C3d4E5f6G7h8';
const HEADER = 'hdr-planted-Z9y8X7w6V5u4';
const NATS_PASSWORD = 'pw-planted-Q1w2E3r4';

let dir: string;
let server: OpenAITestServer;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'looptool-secrets-'));
  server = await startOpenAIServer();
  server.when(() => true, reply.text('Which city do you mean?'));
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

type Exit = { code: number | null; out: string };

async function looptool(args: string[], env: Record<string, string> = {}): Promise<Exit> {
  const p = startCli(args, { NATS_URL: '', LOOPTOOL_LOG_LEVEL: 'debug', LOOPTOOL_LLM_API_KEY: '', LOOPTOOL_LLM_HEADERS: '', OPENAI_API_KEY: '', ...env });
  return { code: await p.exited, out: p.output() };
}

/** Every file under `root` whose bytes hold `secret`. */
function filesHolding(root: string, secret: string): string[] {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (readFileSync(p).includes(secret)) hits.push(p);
    }
  };
  walk(root);
  return hits;
}

test('an API key and headers from a config file reach the endpoint and never the run directory, the logs or the trace; logs stay out of the output', async () => {
  const cfg = join(dir, 'llm.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      seed: 'secrets',
      brains: { assistant: 'llm' },
      llm: { baseURL: server.url, model: 'test-model', apiKey: KEY, headers: { 'X-Proxy-Token': HEADER }, maxRetries: 0, timeoutMs: 5000 },
      seeding: { judge: { enabled: false }, selfConsistency: { enabled: false } },
    }),
  );
  const out = join(dir, 'run');
  const r = await looptool(['seed', '--dialogues', '2', '--config', cfg, '--out', out]);
  assert.equal(r.code, 0, r.out);
  assert.ok(server.requests.length > 0);
  for (const q of server.requests) {
    assert.equal(q.headers.authorization, `Bearer ${KEY}`);
    assert.equal(q.headers['x-proxy-token'], HEADER);
  }
  for (const s of [KEY, HEADER]) {
    assert.deepEqual(filesHolding(out, s), [], `${s} is in the run directory (trace store included)`);
    assert.ok(!r.out.includes(s), `${s} is in the output or the logs`);
  }
  // logs (debug level here) go to the run's log file, JSON; the terminal output stays human
  assert.doesNotMatch(r.out, /^\{"level"/m);
  assert.match(readFileSync(join(out, 'looptool.log'), 'utf8'), /"msg":"llm brain"/);
  const stored = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(stored.llm.apiKey, '[redacted]');
  assert.deepEqual(stored.llm.headers, { 'X-Proxy-Token': '[redacted]' });

  // continued from the stored config: the key must come again, from the environment
  const missing = await looptool(['seed', '--dialogues', '3', '--out', out]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.out, /llm\.apiKey: not kept in the run directory; set LOOPTOOL_LLM_API_KEY/);
  server.requests.length = 0;
  const again = await looptool(['seed', '--dialogues', '3', '--out', out], { LOOPTOOL_LLM_API_KEY: KEY, LOOPTOOL_LLM_HEADERS: JSON.stringify({ 'X-Proxy-Token': HEADER }) });
  assert.equal(again.code, 0, again.out);
  assert.ok(server.requests.length > 0 && server.requests.every((q) => q.headers.authorization === `Bearer ${KEY}` && q.headers['x-proxy-token'] === HEADER));
  assert.deepEqual(filesHolding(out, KEY), []);
  assert.ok(!again.out.includes(KEY));
});

test('a NATS URL is printed without its credentials', async () => {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  const r = await looptool(['seed', '--dialogues', '1', '--out', join(dir, 'nats'), '--nats', `nats://looptool:${NATS_PASSWORD}@127.0.0.1:${port}`]);
  assert.notEqual(r.code, 0);
  assert.match(r.out, new RegExp(`127\\.0\\.0\\.1:${port}`));
  assert.ok(!r.out.includes(NATS_PASSWORD), r.out);
});
