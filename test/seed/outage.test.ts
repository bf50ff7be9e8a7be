import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DialogueRecord } from '../../protocols/dialogue.ts';
import { readJsonl } from '../../runtime/corpus.ts';
import { seedFiles } from '../../runtime/seed.ts';
import { startCli } from '../helpers/cli.ts';
import { reply, startOpenAIServer, type OpenAITestServer } from '../helpers/openai-server.ts';

/*
 * An endpoint outage is not data: with the llm assistant pointed at a port where nothing
 * listens, or at an endpoint that answers 503 after every retry, `seed` records nothing,
 * says how many dialogues were not attempted and why, and exits 3; the same command run
 * again once the endpoint answers runs them. A model that answers badly still gives
 * rejections with reasons.
 */

let dir: string;
let server: OpenAITestServer;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'looptool-outage-'));
  server = await startOpenAIServer();
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

type Exit = { code: number | null; out: string };

/** The CLI as a child; asynchronous, so the endpoint in this process keeps answering. */
async function looptool(args: string[]): Promise<Exit> {
  const p = startCli(args, { NATS_URL: '' });
  return { code: await p.exited, out: p.output() };
}

/** A loopback port where nothing listens. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function configFile(name: string, baseURL: string): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      seed: 'outage',
      brains: { assistant: 'llm' },
      llm: { baseURL, model: 'test-model', timeoutMs: 2000, maxRetries: 1, retryBaseMs: 5, retryMaxMs: 20, repairRetries: 0 },
      seeding: { judge: { enabled: false }, selfConsistency: { enabled: false } },
    }),
  );
  return path;
}

const records = (out: string) => [...readJsonl(seedFiles(out).dialogues, DialogueRecord).records, ...readJsonl(seedFiles(out).rejected, DialogueRecord).records];

test('nothing listening on the llm port: no dialogue is recorded, the summary says why, exit 3', async () => {
  const out = join(dir, 'refused');
  const r = await looptool(['seed', '--dialogues', '3', '--concurrency', '1', '--config', configFile('refused', `http://127.0.0.1:${await deadPort()}/v1`), '--out', out]);
  assert.equal(r.code, 3, r.out);
  assert.match(r.out, /0\/3 dialogues finished/);
  assert.match(r.out, /not attempted 2 \(3 left for the next run\): .*connection failed/);
  assert.doesNotMatch(r.out, /too_many_bad_turns/);
  assert.deepEqual(records(out), [], 'an outage leaves no rejected dialogue behind');
});

test('5xx after every retry: not attempted; the same command runs them once the endpoint is back', async () => {
  const out = join(dir, 'flaky');
  const config = configFile('flaky', server.url);
  server.reset();
  server.when(() => true, reply.serverError(503, 'model loading'));
  const down = await looptool(['seed', '--dialogues', '3', '--concurrency', '2', '--config', config, '--out', out]);
  assert.equal(down.code, 3, down.out);
  assert.match(down.out, /not attempted \d+ \(3 left for the next run\): .*HTTP 503/);
  assert.deepEqual(records(out), []);

  server.reset();
  server.when(() => true, reply.text('I can help with that, but I need to know more first.'));
  const up = await looptool(['seed', '--dialogues', '3', '--concurrency', '2', '--config', config, '--out', out]);
  assert.equal(up.code, 0, up.out);
  assert.match(up.out, /3\/3 dialogues finished \(3 now/);
  assert.equal(records(out).length, 3);
  assert.ok(server.requests.length > 0);
});

test('a model that answers badly still gives rejections with reasons, not an outage', async () => {
  const out = join(dir, 'bad-model');
  server.reset();
  server.when(() => true, reply.malformed());
  const r = await looptool(['seed', '--dialogues', '2', '--concurrency', '2', '--config', configFile('bad', server.url), '--out', out]);
  assert.equal(r.code, 0, r.out);
  assert.doesNotMatch(r.out, /not attempted/);
  const recs = records(out);
  assert.equal(recs.length, 2);
  for (const d of recs) {
    assert.equal(d.status, 'rejected');
    assert.ok(d.reason && d.detail, JSON.stringify(d));
  }
});

test('Ctrl-C during a hung llm call ends the command at once, not after the hosts\' grace period', async () => {
  const out = join(dir, 'hung');
  server.reset();
  server.when(() => true, reply.hang());
  const p = startCli(['seed', '--dialogues', '2', '--config', configFile('hung', server.url), '--out', out], { NATS_URL: '' });
  const deadline = Date.now() + 120_000;
  while (server.requests.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.ok(server.requests.length > 0, p.output());
  const t0 = Date.now();
  p.child.kill('SIGINT');
  const code = await p.exited;
  const ms = Date.now() - t0;
  assert.equal(code, 130, p.output());
  // the in-flight call is aborted, not waited for (the hosts give requests 10 s otherwise)
  assert.ok(ms < 8000, `took ${ms} ms to stop`);
  assert.deepEqual(records(out), []);
});
