import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { modelsDir } from '../../agents/trainer/presets.ts';
import { DialogueRecord } from '../../protocols/dialogue.ts';
import { Sample } from '../../protocols/sample.ts';
import { readJsonl } from '../../runtime/corpus.ts';
import { SeedSummary, seedFiles } from '../../runtime/seed.ts';
import { startCli, type CliProcess } from '../helpers/cli.ts';

/*
 * Every llm brain against a real model: `looptool serve --model smollm2` (SmolLM2-135M-Instruct
 * on the CPU) and `looptool seed` with defaultBrain "llm" pointed at it. A 135M model answers
 * badly (prose for JSON, no tool calls, made-up names); what is asserted is that the run ends,
 * that its counts add up, and that every rejected dialogue says why. The settings keep it to
 * a minute or so on two loaded cores: two dialogues, one tool, one request, one judge vote,
 * 24 new tokens per answer (the test double in test/seed/llm.test.ts covers the paths that
 * need a model that answers well).
 */
const smolBuilt = existsSync(join(modelsDir(), 'smollm2', 'config.json'));

describe('the llm brains against SmolLM2-135M through looptool serve', { skip: smolBuilt ? false : 'smollm2 is not built on this machine (npm run setup)' }, () => {
  let serve: CliProcess | undefined;
  let url = '';
  const root = mkdtempSync(join(tmpdir(), 'looptool-llm-real-'));
  before(async () => {
    serve = startCli(['serve', '--model', 'smollm2', '--port', '0', '--threads', '2']);
    const line = await serve.line(/^looptool serve: http:\/\/127\.0\.0\.1:\d+\/v1/, 300_000);
    url = line.match(/http:\/\/\S+\/v1/)![0];
  });
  after(async () => {
    if (serve && serve.child.exitCode === null) {
      serve.child.kill('SIGINT');
      await serve.exited;
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('seed --dialogues 2 with every brain llm runs to the end; accepted + rejected = 2, each rejection has a reason', { timeout: 600_000 }, async (t) => {
    const cfg = join(root, 'llm.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        defaultBrain: 'llm',
        llm: { baseURL: url, model: 'smollm2', maxTokens: 24, timeoutMs: 600_000, maxRetries: 1, repairRetries: 1 },
        seeding: { tools: 1, targetTurns: 1, maxBadTurns: 1, judge: { votes: 1 }, selfConsistency: { enabled: false }, callTimeoutMs: 600_000 },
      }),
    );
    const out = join(root, 'run');
    const args = ['seed', '--dialogues', '2', '--concurrency', '2', '--config', cfg, '--out', out];
    const run = startCli([...args, '--json']);
    const code = await run.exited;
    const lines = run.output().trim().split('\n');
    const summary = SeedSummary.parse(JSON.parse(lines.findLast((l) => l.startsWith('{'))!));
    t.diagnostic(`summary: ${JSON.stringify(summary)}`);
    assert.equal(code, 0, run.output());
    assert.equal(summary.complete, true);
    assert.equal(summary.notAttempted, 0, `no outage: ${summary.unavailable}`);
    assert.equal(summary.finished, 2);
    assert.equal(summary.accepted + summary.rejected, 2);
    assert.equal(Object.values(summary.rejectedBy).reduce((a, b) => a + b, 0), summary.rejected);
    assert.ok(!('unknown' in summary.rejectedBy), 'every rejection names its reason');

    const files = seedFiles(out);
    const accepted = readJsonl(files.dialogues, DialogueRecord).records;
    const rejected = readJsonl(files.rejected, DialogueRecord).records;
    const samples = readJsonl(files.samples, Sample).records;
    assert.equal(accepted.length, summary.accepted);
    assert.equal(rejected.length, summary.rejected);
    for (const r of rejected) {
      assert.ok(r.reason, `${r.id} is rejected without a reason`);
      t.diagnostic(`${r.id} rejected: ${r.reason}${r.detail ? ` (${String(r.detail).slice(0, 160)})` : ''}`);
    }
    assert.equal(samples.length, summary.samples);
    const ids = new Set(accepted.map((d) => d.id));
    assert.ok(samples.every((s) => ids.has(s.provenance.dialogue ?? '')), 'samples come from accepted dialogues only');

    // The same command again: nothing left to run, the human report names the counts and reasons.
    const again = startCli(args);
    assert.equal(await again.exited, 0, again.output());
    const text = again.output();
    assert.match(text, new RegExp(`accepted ${summary.accepted} \\(`));
    assert.match(text, new RegExp(`rejected ${summary.rejected}`));
    for (const [reason, n] of Object.entries(summary.rejectedBy)) assert.match(text, new RegExp(`${reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+${n}\\b`));
  });
});
