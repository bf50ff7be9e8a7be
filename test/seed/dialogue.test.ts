import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunConfig } from '../../protocols/config.ts';
import { DialogueRecord, RejectReason } from '../../protocols/dialogue.ts';
import { Sample } from '../../protocols/sample.ts';
import type { ToolSpec } from '../../protocols/toolspec.ts';
import { checkDialogue } from '../../protocols/validate.ts';
import { seedRoles } from '../../agents/registry.ts';
import { LooptoolNode } from '../../runtime/bus/node.ts';
import { readJsonl } from '../../runtime/corpus.ts';
import { readTrace } from '../../runtime/bus/trace-stream.ts';
import { runSeed, seedFiles, serveSeedRoles, settleRunConfig, type SeedOptions } from '../../runtime/seed.ts';
import { startTestBus, type TestBus } from '../helpers/bus.ts';

let bus: TestBus;
before(async () => {
  bus = await startTestBus();
});
after(async () => {
  await bus.stop();
});

let runs = 0;

/**
 * Serves the round-0 roles with `config` on a node of their own and seeds into a fresh
 * run dir. Roles read the world's knobs from their node's config, so each config gets
 * its own node; the previous one is stopped first (one queue group per role on the bus).
 */
async function seed(config: unknown, n: number, opts: Partial<SeedOptions> & { dir?: string } = {}) {
  const cfg = RunConfig.parse(config);
  const run = `seed${++runs}`;
  const dir = opts.dir ?? mkdtempSync(join(bus.dir, 'run-'));
  const node = await LooptoolNode.start({ run, runDir: dir, nc: await bus.connect(), config: cfg as unknown as Record<string, unknown> });
  try {
    await serveSeedRoles(node, seedRoles);
    const summary = await runSeed({ node, runDir: dir, config: settleRunConfig(dir, cfg), dialogues: n, concurrency: 4, ...opts });
    const f = seedFiles(dir);
    return {
      dir,
      run,
      node,
      summary,
      accepted: readJsonl(f.dialogues, DialogueRecord).records,
      rejected: readJsonl(f.rejected, DialogueRecord).records,
      samples: readJsonl(f.samples, Sample).records,
    };
  } finally {
    await node.stop();
  }
}

const fileText = (dir: string, name: keyof ReturnType<typeof seedFiles>) => readFileSync(seedFiles(dir)[name], 'utf8');

test('the embedded default: dialogues end accepted with samples or rejected with a reason; the trace shows them', async () => {
  const r = await seed({ seed: 'e2e' }, 12);
  assert.equal(r.summary.finished, 12);
  assert.equal(r.accepted.length + r.rejected.length, 12);
  assert.ok(r.accepted.length >= 4, `expected most dialogues accepted, got ${r.accepted.length}`);
  for (const d of r.accepted) {
    assert.deepEqual(checkDialogue(d.tools, d.messages), [], `${d.id} passes every rule`);
    assert.equal(d.votes.filter((v) => v.verdict === 'CORRECT').length >= 2, true, `${d.id} has a judge majority`);
    assert.ok(d.messages.some((m) => m.role === 'assistant' && m.tool_calls.length > 0));
  }
  for (const d of r.rejected) {
    assert.ok(RejectReason.safeParse(d.reason).success, `${d.id} has a reason code`);
    assert.ok(d.detail && d.detail.length > 0, `${d.id} says why`);
  }
  const ids = new Set(r.accepted.map((d) => d.id));
  assert.ok(r.samples.length >= r.accepted.length);
  assert.equal(new Set(r.samples.map((s) => s.id)).size, r.samples.length, 'no duplicate sample ids');
  for (const s of r.samples) {
    assert.ok(ids.has(s.provenance.dialogue!), 'samples come from accepted dialogues only');
    assert.equal(s.provenance.source, 'seed');
    assert.ok(s.truth, 'sim samples carry the truth');
    assert.ok(['user', 'tool'].includes(s.context.at(-1)!.role));
  }
  assert.deepEqual(r.summary.samplesBy, r.samples.reduce<Record<string, number>>((a, s) => ((a[s.kind] = (a[s.kind] ?? 0) + 1), a), {}));
  // the OpenAI export holds the unmasked samples
  const ft = fileText(r.dir, 'openai').trim().split('\n');
  assert.equal(ft.length, r.samples.filter((s) => !s.masked).length);
  // every dialogue message and machine state change is in the trace
  const events = [];
  for await (const e of readTrace(await bus.connect(), { run: r.run, role: 'dialogue' })) events.push(e);
  const first = r.accepted[0]!;
  const msgs = events.filter((e) => e.kind === 'message' && (e.data as { dialogue: string }).dialogue === first.id);
  assert.equal(msgs.length, first.messages.length);
  const states = events.filter((e) => e.kind === 'state' && e.trace === first.id).map((e) => (e.data as { to: string }).to);
  assert.ok(states.includes('planning') && states.includes('userTurn') && states.includes('validating.judging') && states.at(-1) === 'accepted', states.join(' > '));
});

test('self-consistency: samples that never agree are picked and masked; off means one sample and no mask', async () => {
  // Every sample slips, always in a way the rules accept (a changed value), so turns
  // rarely agree and the dialogues still get through (the judge is off).
  const slips = { wrong_format: 0, wrong_tool: 0, dropped_arg: 0, extra_arg: 0, wrong_value: 1, missed_call: 0, no_clarify: 0, spurious_call: 0 };
  const noisy = await seed({ seed: 'sc', sim: { noise: { sampleRate: 1, labelRate: 0, kinds: slips } }, seeding: { judge: { enabled: false } } }, 6);
  const all = [...noisy.accepted, ...noisy.rejected];
  const masked = all.flatMap((d) => d.turns.filter((t) => t.masked));
  assert.ok(masked.length > 0, 'some turns could not agree');
  assert.ok(masked.every((t) => t.samples === 3 && !t.agreed), 'a masked turn drew the third sample');
  const agreed = all.flatMap((d) => d.turns.filter((t) => t.agreed));
  assert.ok(agreed.every((t) => t.samples >= 2));
  assert.ok(noisy.samples.some((s) => s.masked), 'masked turns become masked samples');
  const off = await seed({ seed: 'sc', sim: { noise: { sampleRate: 1, labelRate: 0 } }, seeding: { selfConsistency: { enabled: false }, judge: { enabled: false } } }, 3);
  const turns = [...off.accepted, ...off.rejected].flatMap((d) => d.turns);
  assert.ok(turns.length > 0 && turns.every((t) => t.samples === 1 && !t.masked));
});

test('rejections carry their reason: judge majority, bad turns, invalid tools, no tool use, too long', async () => {
  // A judge that is always wrong rejects every dialogue the rules let through.
  const judged = await seed({ seed: 'rej', sim: { judge: { dialogue: { accuracy: 0 } }, noise: { labelRate: 0, sampleRate: 0 } } }, 4);
  assert.equal(judged.accepted.length, 0);
  for (const d of judged.rejected) {
    assert.equal(d.reason, 'judge_incorrect');
    assert.ok(d.votes.length === 3 && d.votes.filter((v) => v.verdict === 'INCORRECT').length >= 2);
  }
  // Any call turn is one tool round too many: every retry fails, the dialogue stops.
  const bad = await seed({ seed: 'rej', seeding: { maxStepsPerRequest: 1, maxBadTurns: 2 }, sim: { noise: { labelRate: 0, sampleRate: 0 }, planner: { kinds: { single: 1, parallel: 0, multiple: 0, multi_step: 0, clarify: 0, irrelevant: 0 } } } }, 3);
  for (const d of bad.rejected) {
    assert.equal(d.reason, 'too_many_bad_turns');
    assert.equal(d.stop, 'bad_turns');
    assert.equal(d.badTurns.length, 2);
    assert.ok(d.badTurns.every((b) => b.role === 'assistant' && /tool rounds/.test(b.reason)));
  }
  assert.equal(bad.rejected.length, 3);
  // A tool set that breaks the spec rules is never simulated.
  const broken: ToolSpec = { name: 'get_rate', description: 'A rate.', parameters: { type: 'object', properties: { level: { type: 'integer', enum: ['high'] as never } }, required: [] } };
  const tools = await seed({ seed: 'rej' }, 2, { toolPool: [[broken]] });
  assert.deepEqual(tools.rejected.map((d) => [d.reason, d.stop, d.messages.length]), [['invalid_tool_schema', 'invalid_tools', 0], ['invalid_tool_schema', 'invalid_tools', 0]]);
  assert.match(tools.rejected[0]!.detail!, /enum/);
  // Only requests no tool serves: the assistant never calls, the dialogue is dropped.
  const talk = await seed({ seed: 'rej', sim: { noise: { labelRate: 0 }, planner: { kinds: { single: 0, parallel: 0, multiple: 0, multi_step: 0, clarify: 0, irrelevant: 1 } } } }, 2);
  assert.deepEqual(talk.rejected.map((d) => d.reason), ['no_tool_use', 'no_tool_use']);
  assert.ok(talk.rejected[0]!.failures.some((f) => f.code === 'no_tool_use'));
  // A cap on messages below what the plan needs.
  const long = await seed({ seed: 'rej', seeding: { maxMessages: 4, targetTurns: 4 } }, 2);
  assert.deepEqual(long.rejected.map((d) => d.reason), ['too_long', 'too_long']);
  assert.ok(long.rejected.every((d) => d.messages.length >= 4));
});

test('the same seed gives the same corpus, whatever the concurrency', async () => {
  const a = await seed({ seed: 'det' }, 14, { concurrency: 1 });
  const b = await seed({ seed: 'det' }, 14, { concurrency: 7 });
  for (const f of ['samples', 'dialogues', 'rejected', 'tools', 'openai'] as const) assert.equal(fileText(a.dir, f), fileText(b.dir, f), `${f} identical`);
  assert.ok(a.samples.length > 0);
  const c = await seed({ seed: 'det-other' }, 14, { concurrency: 7 });
  assert.notEqual(fileText(a.dir, 'samples'), fileText(c.dir, 'samples'), 'another seed, another corpus');
  // and the reference corpus for the resume test below
  reference = a.dir;
});

let reference = '';

test('a seed run stopped part-way and run again finishes the same corpus, without duplicates', async () => {
  assert.ok(reference, 'runs after the determinism test');
  const dir = mkdtempSync(join(bus.dir, 'resume-'));
  const abort = new AbortController();
  const first = await seed({ seed: 'det' }, 14, {
    dir,
    concurrency: 3,
    signal: abort.signal,
    onProgress: (p) => {
      if (p.finished >= 5) abort.abort();
    },
  });
  assert.equal(first.summary.complete, false);
  assert.ok(first.summary.finished >= 5 && first.summary.finished < 14, `stopped part-way at ${first.summary.finished}`);
  // A crash between appends leaves an orphan sample and a torn line behind; both must go.
  const f = seedFiles(dir);
  const orphan = { ...first.samples[0]!, id: 'seed-orphan', provenance: { ...first.samples[0]!.provenance, dialogue: 'never-finished' } };
  appendFileSync(f.samples, `${JSON.stringify(orphan)}\n{"id":"torn","kind":"sin`);
  const second = await seed({ seed: 'det' }, 14, { dir, concurrency: 5 });
  assert.equal(second.summary.complete, true);
  assert.equal(second.summary.ranNow, 14 - first.summary.finished, 'only the missing dialogues ran');
  for (const name of ['samples', 'dialogues', 'rejected', 'tools', 'openai'] as const) assert.equal(fileText(dir, name), fileText(reference, name), `${name} identical to an uninterrupted run`);
  // a third run has nothing left to do
  const third = await seed({ seed: 'det' }, 14, { dir });
  assert.equal(third.summary.ranNow, 0);
  assert.equal(fileText(dir, 'samples'), fileText(reference, 'samples'));
  // continuing a run with another seed is refused
  assert.throws(() => settleRunConfig(dir, RunConfig.parse({ seed: 'other' })), /different "seed"/);
});
