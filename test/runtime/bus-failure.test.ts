import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startEmbeddedNats } from '../../runtime/bus/server.ts';
import { processAlive } from '../../runtime/process.ts';
import { startCli } from '../helpers/cli.ts';
import { readJsonl } from '../../runtime/corpus.ts';
import { DialogueRecord } from '../../protocols/dialogue.ts';

const indicesOnDisk = (out: string): number[] =>
  ['dialogues.jsonl', 'rejected.jsonl'].flatMap((f) => readJsonl(join(out, 'round-0', f), DialogueRecord).records.map((r) => r.index));
const corpus = (out: string) => ['dialogues.jsonl', 'rejected.jsonl'].map((f) => readFileSync(join(out, 'round-0', f), 'utf8')).join('\n--\n');

test('the embedded nats-server SIGKILLed under a running seed: the run fails within seconds, says the bus went away and how to resume, and resumes', async () => {
  const runs = mkdtempSync(join(tmpdir(), 'looptool-busfail-'));
  const out = join(runs, 'killed');
  try {
    const seed = startCli(['seed', '--dialogues', '5000', '--concurrency', '8', '--seed', 'busfail', '--out', out], { LOOPTOOL_RUNS: runs });
    await seed.line(/^dialogues \d+\/5000/, 60_000);
    await new Promise((r) => setTimeout(r, 1000));
    const pids = spawnSync('pgrep', ['-f', `${join(out, 'nats')}/server.conf`], { encoding: 'utf8' }).stdout.trim().split('\n').map(Number).filter(Boolean);
    assert.equal(pids.length, 1, 'one embedded server');
    const killedAt = Date.now();
    process.kill(pids[0]!, 'SIGKILL');
    const code = await seed.exitedWithin(30_000);
    const took = Date.now() - killedAt;
    assert.notEqual(code, 'hung', `seed still running 30 s after its bus died:\n${seed.output()}`);
    assert.notEqual(code, 0, seed.output());
    // well inside the call timeout (120 s): the run does not wait for its calls to time out
    assert.ok(took < 20_000, `took ${took} ms`);
    const text = seed.output();
    assert.match(text, /the bus went away: the embedded nats-server \(pid \d+\) was killed \(SIGKILL\)/);
    assert.match(text, /run the same command again to continue/);
    assert.doesNotMatch(text, /at .*\.ts:\d+/, 'no stack trace');
    const m = /seed: (\d+)\/5000 dialogues finished/.exec(text);
    assert.ok(m, text);
    const finished = Number(m![1]);
    // what the failed run reported finished is what it kept on disk
    const kept = indicesOnDisk(out);
    assert.equal(kept.length, finished, corpus(out));
    // Resumable: the next invocation runs only what is missing. Dialogues finish out of order under concurrency, so
    // some kept ones may lie beyond the first `target` indices: those are neither rerun nor counted.
    const target = finished + 3;
    const missing = target - kept.filter((i) => i < target).length;
    const again = startCli(['seed', '--dialogues', String(target), '--out', out], { LOOPTOOL_RUNS: runs });
    assert.equal(await again.exited, 0, again.output());
    assert.match(again.output(), new RegExp(`${target}/${target} dialogues finished \\(${missing} now`));
  } finally {
    rmSync(runs, { recursive: true, force: true });
  }
});

test('NATS_URL: the server SIGKILLed and restarted on its port mid-run; the client reconnects (reported), calls in flight are sent again, the corpus is the one of an undisturbed run', async () => {
  const runs = mkdtempSync(join(tmpdir(), 'looptool-busfail-'));
  const port = await freePort();
  const store = join(runs, 'external-nats');
  let server = await startEmbeddedNats({ storeDir: store, port });
  try {
    const args = ['seed', '--dialogues', '400', '--concurrency', '8', '--seed', 'reconnect'];
    const seed = startCli([...args, '--out', join(runs, 'outage')], { LOOPTOOL_RUNS: runs, NATS_URL: server.url });
    await seed.line(/^dialogues \d+\/400/, 60_000);
    await new Promise((r) => setTimeout(r, 700));
    process.kill(server.pid, 'SIGKILL');
    await seed.line(/bus: lost the connection to .*reconnecting \(at most \d+ attempts/, 10_000);
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(!processAlive(server.pid));
    // watch for the reconnect before the server is back: the client may reconnect before startEmbeddedNats returns
    const reconnected = seed.line(/bus: reconnected to .* after [\d.]+ s \(\d+ attempts?\); \d+ call\(s\) in flight sent again/, 20_000);
    server = await startEmbeddedNats({ storeDir: store, port });
    await reconnected;
    assert.equal(await seed.exited, 0, seed.output());
    assert.match(seed.output(), /400\/400 dialogues finished \(400 now/);
    // the same run without an outage (its own embedded bus): the same corpus, nothing lost or doubled
    const calm = startCli([...args, '--out', join(runs, 'calm')], { LOOPTOOL_RUNS: runs });
    assert.equal(await calm.exited, 0, calm.output());
    assert.equal(corpus(join(runs, 'outage')), corpus(join(runs, 'calm')));
  } finally {
    await server.stop();
    rmSync(runs, { recursive: true, force: true });
  }
});
