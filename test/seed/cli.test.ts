import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import seedCommand from '../../runtime/cli/commands/seed.ts';
import { UsageError } from '../../runtime/cli/command.ts';

const CLI = ['--import', 'tsx', 'runtime/cli/main.ts', 'seed'];
const env = { ...process.env, NO_COLOR: '1', NATS_URL: '' };

function seed(args: string[]) {
  const r = spawnSync(process.execPath, [...CLI, ...args], { env, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr, json: () => JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, unknown> };
}

test('looptool seed on the embedded default: a validated corpus, Ctrl-C keeps what is done, a re-run finishes it without duplicates', async () => {
  const root = mkdtempSync(join(tmpdir(), 'looptool-seed-cli-'));
  try {
    const out = join(root, 'runs', 'cli-seed');
    // Interrupted part-way (SIGINT after the first progress line past 0).
    const child = spawn(process.execPath, [...CLI, '--dialogues', '30', '--concurrency', '2', '--seed', 'cli', '--out', out], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout!.on('data', (d) => (text += d));
    await new Promise<void>((resolve) => {
      createInterface({ input: child.stderr! }).on('line', (l) => {
        text += `${l}\n`;
        if (/^dialogues [1-9]\d*\/30/.test(l)) {
          child.kill('SIGINT');
          resolve();
        }
      });
    });
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    assert.equal(code, 130, text);
    assert.match(text, /incomplete: run the same command again/);
    assert.ok(!existsSync(join(out, 'round-0', 'summary.json')), 'an unfinished round has no summary');
    const doneBefore = readFileSync(join(out, 'round-0', 'dialogues.jsonl'), 'utf8').split('\n').filter(Boolean).length + readFileSync(join(out, 'round-0', 'rejected.jsonl'), 'utf8').split('\n').filter(Boolean).length;
    assert.ok(doneBefore >= 1 && doneBefore < 30);

    // The same command continues; the seed is taken from the run's stored config.
    // 16 dialogues in flight, each listening for Ctrl-C: no MaxListenersExceededWarning
    const again = seed(['--dialogues', '30', '--concurrency', '16', '--out', out, '--json']);
    assert.equal(again.code, 0, again.err);
    assert.doesNotMatch(again.err, /MaxListenersExceededWarning/);
    const s = again.json();
    assert.equal(s.finished, 30);
    assert.equal(s.ranNow, 30 - doneBefore);
    assert.equal((s.accepted as number) + (s.rejected as number), 30);
    assert.ok((s.samples as number) > 0);
    const samples = readFileSync(join(out, 'round-0', 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string });
    assert.equal(samples.length, s.samples);
    assert.equal(new Set(samples.map((x) => x.id)).size, samples.length, 'no duplicate samples');
    assert.ok(existsSync(join(out, 'round-0', 'samples.openai.jsonl')));
    assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).seed, 'cli');

    // Nothing left to do (run in this process: the command is a plain function); the
    // human report names reasons and kinds.
    const logged: string[] = [];
    const log = console.log;
    console.log = (...a: unknown[]) => void logged.push(a.join(' '));
    let code3: number;
    try {
      code3 = await seedCommand.run(['--dialogues', '30', '--out', out]);
    } finally {
      console.log = log;
    }
    assert.equal(code3, 0);
    assert.match(logged.join('\n'), /30\/30 dialogues finished \(0 now/);
    assert.match(logged.join('\n'), /samples by kind:/);

    // Usage errors name what is wrong (the dispatcher turns them into exit code 2).
    await assert.rejects(seedCommand.run(['--out', out]), (e: unknown) => e instanceof UsageError && /--dialogues N is required/.test(e.message));
    await assert.rejects(seedCommand.run(['--dialogues', '30', '--out', out, '--seed', 'other']), (e: unknown) => e instanceof UsageError && /different "seed"/.test(e.message));
    const cfg = join(root, 'bad.json');
    writeFileSync(cfg, JSON.stringify({ seeding: { judge: { votes: 'three' } } }));
    await assert.rejects(seedCommand.run(['--dialogues', '2', '--out', join(root, 'runs', 'x'), '--config', cfg]), (e: unknown) => e instanceof UsageError && /seeding\.judge\.votes/.test(e.message));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
