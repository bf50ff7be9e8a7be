import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunConfig } from '../../protocols/config.ts';
import { VARIANTS } from '../../protocols/loop/config.ts';
import { StageContext } from '../../runtime/loop/stages/context.ts';
import { RunStore } from '../../runtime/loop/store.ts';
import { storedRunConfig } from '../../runtime/run-config.ts';
import { MemoryCheckpointer } from '../../runtime/loop/checkpoint/index.ts';
import type { LooptoolNode } from '../../runtime/bus/node.ts';
import type { Manifest } from '../../protocols/loop/records.ts';

let root: string;
before(() => (root = mkdtempSync(join(tmpdir(), 'looptool-share-'))));
after(() => rmSync(root, { recursive: true, force: true }));

const D1 = [{ type: 'sample', part: 'seed', sample: { id: 's1' } }];

/** A comparison folder: the base run `full` with its round 1 trained, and a variant run beside it. */
function comparison(name: string, base: RunConfig, mine: RunConfig, data = D1): StageContext {
  const dir = join(root, name);
  const b = new RunStore(join(dir, 'full'));
  const v = new RunStore(join(dir, 'static'));
  mkdirSync(b.path('round-1'), { recursive: true });
  mkdirSync(v.path('round-1'), { recursive: true });
  b.writeJson('config.json', storedRunConfig(base));
  b.write('round-1/data.jsonl', D1);
  b.writeJson('round-1/train.json', { kind: 'grpo', steps: 7, checkpoint: 'checkpoints/ckpt-0002-grpo-r1', sft: { checkpoint: 'checkpoints/ckpt-0001-sft' } });
  v.write('round-1/data.jsonl', data);
  const node = { call: async () => ({}), run: 'static' } as unknown as LooptoolNode;
  const manifest = { version: 1, run: 'static', stages: [] } as unknown as Manifest;
  return new StageContext({ node, store: v, checkpoints: new MemoryCheckpointer(), config: mine, ablations: mine.loop.ablations, base: 'full' }, manifest);
}

const config = (over: Record<string, unknown> = {}, ablations: (typeof VARIANTS)[keyof typeof VARIANTS] = VARIANTS.full) => RunConfig.parse({ seed: 'share', ...over, loop: { ablations, ...((over.loop as object) ?? {}) } });

test('a variant shares its base run\'s round 1 exactly when D_1 and every setting but the ablations agree', () => {
  assert.equal(comparison('same', config(), config({}, VARIANTS.static)).sharesBaseRound(1), true);
  assert.equal(comparison('round2', config(), config({}, VARIANTS.static)).sharesBaseRound(2), false, 'later rounds train on the variant\'s own data');
  assert.equal(comparison('lr', config(), config({ loop: { train: { lr: 1e-5 } } }, VARIANTS.static)).sharesBaseRound(1), false, 'a different learning rate');
  assert.equal(comparison('seed', config(), config({ seed: 'other' }, VARIANTS.static)).sharesBaseRound(1), false, 'a different seed');
  assert.equal(comparison('data', config(), config({}, VARIANTS.static), [{ type: 'sample', part: 'seed', sample: { id: 's2' } }]).sharesBaseRound(1), false, 'a different D_1');
});

test('the adopted round-1 training names the base run\'s checkpoints from the variant\'s folder', () => {
  const cx = comparison('adopt', config(), config({}, VARIANTS.static));
  const { summary, checkpoint } = cx.adoptBaseTraining(1);
  assert.equal(checkpoint, join(root, 'adopt', 'full', 'checkpoints', 'ckpt-0002-grpo-r1'));
  assert.equal(summary.checkpoint, join('..', 'full', 'checkpoints', 'ckpt-0002-grpo-r1'));
  assert.equal((summary.sft as { checkpoint: string }).checkpoint, join('..', 'full', 'checkpoints', 'ckpt-0001-sft'));
  assert.equal(summary.base, 'full');
  assert.equal(cx.checkpointAfter(1), checkpoint, 'the next round starts from the base\'s policy');
});
