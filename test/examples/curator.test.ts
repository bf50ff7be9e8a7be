import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { curatorContract, defineRole, isLooptoolError, Sample, type CurateDecision } from 'looptool';
import { loadRoleModules } from 'looptool/runtime';
import { RunConfig } from '../../protocols/config.ts';
import { readConfigFile } from '../../runtime/cli/config-file.ts';
import { curateSamples } from '../../runtime/loop/curate.ts';
import { startTestBus } from '../helpers/bus.ts';

// A role that takes part in the loop, added the documented way: its file (written
// against the public entry point only) plus configuration, with no core file touched.

const tool = {
  name: 'search_flights',
  description: 'Search flights',
  parameters: { type: 'object' as const, properties: { origin: { type: 'string' as const } }, required: ['origin'] },
};

function sample(id: string, origin: string, request = `flights from ${origin}`): Sample {
  return Sample.parse({
    id,
    kind: 'single',
    tools: [tool],
    context: [{ role: 'user', content: request }],
    label: { type: 'calls', calls: [{ name: 'search_flights', arguments: { origin } }] },
    provenance: { source: 'expansion', round: 1, parent: `seed-${id}` },
  });
}

test('a curator joins a run from its file and one line of config', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'looptool-curator-'));
  try {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ roles: ['test/examples/curator-role.ts'], loop: { curators: ['novelty'] } }));
    const cfg = readConfigFile(file);
    assert.deepEqual(cfg.loop.curators, ['novelty']);
    const [novelty] = await loadRoleModules(cfg.roles);
    assert.equal(novelty!.contract.name, 'novelty');
    assert.deepEqual(Object.keys(novelty!.verbs), ['curate']);
    // no curators is the default: the loop merges every accepted expansion, as before
    assert.deepEqual(RunConfig.parse({}).loop.curators, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('curateSamples shows the candidates to each curator in order over the bus; a dropped sample goes no further', async () => {
  const bus = await startTestBus();
  try {
    const node = await bus.node('curators');
    const [novelty] = await loadRoleModules(['test/examples/curator-role.ts']);
    // "south" drops flights from Lima; it must never see what novelty dropped
    const seenBySouth: string[] = [];
    const south = defineRole({
      contract: curatorContract('south'),
      concurrency: 2,
      verbs: {
        curate: {
          async handle({ samples }) {
            seenBySouth.push(...samples.map((s) => s.id));
            const decisions: CurateDecision[] = samples.map((s) => {
              const lima = JSON.stringify(s.label).includes('Lima');
              return { id: s.id, keep: !lima, note: lima ? 'no flights from Lima' : '' };
            });
            return { decisions };
          },
        },
      },
    });
    await node.serve(novelty!);
    await node.serve(south);
    const candidates = [sample('a', 'Oslo'), sample('b', 'Lima'), sample('c', 'Oslo'), sample('d', 'Rome'), sample('e', 'Oslo', 'Flights from Oslo '), sample('f', 'Oslo', 'trains from Oslo')];
    const out = await curateSamples(node.call, ['novelty', 'south'], candidates, { round: 1, idPrefix: 'test.r1.curate' });
    assert.deepEqual(out.kept.map((s) => s.id), ['a', 'd', 'f']);
    assert.deepEqual(
      out.dropped.map((d) => [d.sample.id, d.curator, d.note]),
      [
        ['c', 'novelty', 'repeats a'],
        ['e', 'novelty', 'repeats a'],
        ['b', 'south', 'no flights from Lima'],
      ],
    );
    assert.deepEqual(seenBySouth.sort(), ['a', 'b', 'd', 'f']);
    // in batches, a curator weighs each batch alone: "e" repeats "a" from another batch, so it stays
    const batched = await curateSamples(node.call, ['novelty'], candidates, { round: 1, batch: 4 });
    assert.deepEqual(batched.dropped.map((d) => d.sample.id), ['c']);
    const none = await curateSamples(node.call, [], candidates, { round: 1 });
    assert.deepEqual(none, { kept: candidates, dropped: [] });
  } finally {
    await bus.stop();
  }
});

test('a curator that leaves a sample undecided fails the call with invalid_output', async () => {
  const bus = await startTestBus();
  try {
    const node = await bus.node('curators-bad');
    await node.serve(
      defineRole({
        contract: curatorContract('forgetful'),
        concurrency: 1,
        verbs: { curate: { async handle({ samples }) { return { decisions: samples.slice(1).map((s) => ({ id: s.id, keep: true, note: '' })) }; } } },
      }),
    );
    await assert.rejects(
      curateSamples(node.call, ['forgetful'], [sample('a', 'Oslo'), sample('b', 'Rome')], { round: 2 }),
      (err) => isLooptoolError(err, 'invalid_output') && /forgetful: no decision for 1 sample\(s\): a/.test(err.message),
    );
  } finally {
    await bus.stop();
  }
});
