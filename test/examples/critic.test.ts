import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunConfig } from '../../protocols/config.ts';
import { DialogueRecord } from '../../protocols/dialogue.ts';
import { defineRole } from '../../protocols/role.ts';
import { reviewerContract } from '../../protocols/roles/reviewer.ts';
import type { TraceEvent } from '../../protocols/trace.ts';
import { seedRoles } from '../../agents/registry.ts';
import { loadRoleModules } from '../../runtime/roles.ts';
import { runSeed, seedFiles } from '../../runtime/seed.ts';
import { readJsonl } from '../../runtime/corpus.ts';
import { locateTrace } from '../../runtime/bus/trace-locate.ts';
import { readTrace } from '../../runtime/bus/trace-stream.ts';
import { formatProblems } from '../../examples/critic/critic.ts';
import { startTestBus } from '../helpers/bus.ts';

// The example role of docs/adding-a-role.md, run the documented way: its file plus one
// line of configuration, through `looptool seed`, with no core file touched.

function records(runDir: string): DialogueRecord[] {
  const f = seedFiles(runDir);
  return [...readJsonl(f.dialogues, DialogueRecord).records, ...readJsonl(f.rejected, DialogueRecord).records];
}

test('the critic reviews every assistant turn inside the dialogue machine (looptool seed --config examples/critic/config.json)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'looptool-critic-'));
  const out = join(root, 'critic-run');
  try {
    const cli = spawnSync(process.execPath, ['--import', 'tsx', 'runtime/cli/main.ts', 'seed', '--dialogues', '10', '--config', 'examples/critic/config.json', '--seed', 'critic-test', '--out', out, '--json'], {
      encoding: 'utf8',
      timeout: 180_000,
      env: { ...process.env, NATS_URL: '', LOOPTOOL_LOG_LEVEL: 'warn' },
    });
    assert.equal(cli.status, 0, cli.stderr);
    const summary = JSON.parse(cli.stdout.trim().split('\n').at(-1)!) as { finished: number };
    assert.equal(summary.finished, 10);

    const recs = records(out);
    assert.equal(recs.length, 10);
    const appended = recs.reduce((n, r) => n + r.messages.filter((m) => m.role === 'assistant').length, 0);
    const badTurns = recs.reduce((n, r) => n + r.badTurns.length, 0);
    const criticRejects = recs.flatMap((r) => r.badTurns.filter((b) => b.reason.startsWith('critic:')));

    // Read the finished run's trace back from its own store.
    const saved = process.env.LOOPTOOL_RUNS;
    process.env.LOOPTOOL_RUNS = root;
    const source = await locateTrace({ run: 'critic-run' });
    if (saved === undefined) delete process.env.LOOPTOOL_RUNS;
    else process.env.LOOPTOOL_RUNS = saved;
    const events: TraceEvent[] = [];
    try {
      for await (const e of readTrace(source.nc, { run: 'critic-run' })) events.push(e);
    } finally {
      await source.close();
    }
    const reviews = events.filter((e) => e.role === 'critic' && e.kind === 'request' && e.verb === 'review').length;
    // Every assistant message that joined a dialogue was reviewed first; a review may also have stopped a turn.
    assert.ok(appended > 0);
    assert.ok(reviews >= appended, `${reviews} reviews for ${appended} assistant messages`);
    assert.ok(reviews <= appended + badTurns, `${reviews} reviews, ${appended} messages, ${badTurns} bad turns`);
    assert.ok(events.some((e) => e.role === 'dialogue' && e.kind === 'state' && String((e.data as { to?: string }).to).includes('reviewing')));
    // Nothing the critic would reject is in an accepted dialogue.
    for (const r of recs.filter((x) => x.status === 'accepted')) {
      for (const m of r.messages) if (m.role === 'assistant') for (const c of m.tool_calls) assert.deepEqual(formatProblems(r.tools, c), [], `${r.id}: ${c.name}`);
    }
    for (const b of criticRejects) assert.match(b.reason, /is not in (date|time|date-time|email|uri) format/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('reviewers can revise and reject: revisions join the dialogue, rejections are bad turns drawn again', async () => {
  const bus = await startTestBus();
  try {
    const node = await bus.node('reviewers');
    // "tidy" marks every text answer it has seen; "grumpy" rejects each dialogue's first tool-calling turn once.
    const tidy = defineRole({
      contract: reviewerContract('tidy'),
      concurrency: 8,
      verbs: {
        review: {
          async handle({ candidate }) {
            if (candidate.tool_calls.length) return { verdict: 'accept' as const, note: '' };
            return { verdict: 'revise' as const, revised: { ...candidate, content: `${candidate.content} [tidy]` }, note: 'marked' };
          },
        },
      },
    });
    const grumpy = defineRole({
      contract: reviewerContract('grumpy'),
      concurrency: 8,
      verbs: {
        review: {
          async handle({ seed, candidate }) {
            // seeds of a redrawn turn carry "retry"; the first try of a calling turn is refused
            if (candidate.tool_calls.length && !seed.includes('/retry/')) return { verdict: 'reject' as const, note: 'try again' };
            return { verdict: 'accept' as const, note: '' };
          },
        },
      },
    });
    for (const r of [...seedRoles, tidy, grumpy]) await node.serve(r);
    const config = RunConfig.parse({ seed: 'reviewers', seeding: { reviewers: ['grumpy', 'tidy'], maxBadTurns: 6 } });
    const dir = join(bus.dir, 'reviewers');
    const summary = await runSeed({ node, runDir: dir, config, dialogues: 4, concurrency: 2 });
    assert.equal(summary.finished, 4);
    const recs = records(dir);
    let texts = 0;
    for (const r of recs) {
      for (const m of r.messages) {
        if (m.role === 'assistant' && m.tool_calls.length === 0) {
          texts++;
          assert.ok(m.content.endsWith('[tidy]'), `${r.id}: "${m.content}" was not revised`);
        }
      }
      if (r.messages.some((m) => m.role === 'assistant' && m.tool_calls.length > 0)) {
        assert.ok(r.badTurns.some((b) => b.role === 'reviewer' && b.reason === 'grumpy: try again'), `${r.id}: no grumpy bad turn`);
      }
    }
    assert.ok(texts > 0, 'some assistant turns were text');
    assert.ok(recs.some((r) => r.badTurns.length > 0));
  } finally {
    await bus.stop();
  }
});

test('the critic is loaded from its file alone, and its checks name the argument', async () => {
  const cfg = RunConfig.parse(JSON.parse(readFileSync('examples/critic/config.json', 'utf8')));
  assert.deepEqual(cfg.seeding.reviewers, ['critic']);
  const [critic] = await loadRoleModules(cfg.roles);
  assert.equal(critic!.contract.name, 'critic');
  const tools = [
    {
      name: 'book',
      description: 'book a table',
      parameters: {
        type: 'object' as const,
        properties: { day: { type: 'string' as const, format: 'date' }, guests: { type: 'array' as const, items: { type: 'object' as const, properties: { email: { type: 'string' as const, format: 'email' } } } } },
        required: ['day'],
      },
    },
  ];
  assert.deepEqual(formatProblems(tools, { name: 'book', arguments: { day: '2026-03-03', guests: [{ email: 'a@b.io' }] } }), []);
  assert.deepEqual(formatProblems(tools, { name: 'book', arguments: { day: 'March 3rd 2026', guests: [{ email: 'ann' }] } }), [
    'book.day: "March 3rd 2026" is not in date format',
    'book.guests.0.email: "ann" is not in email format',
  ]);
});
