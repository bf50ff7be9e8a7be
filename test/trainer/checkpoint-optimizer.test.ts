import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrainerConfig } from '../../protocols/trainer.ts';
import { checkpointOptimizer } from '../../agents/trainer/shared-worker.ts';

test('checkpoints carry the optimizer state only where a later call would read it, unless the config says', () => {
  assert.equal(checkpointOptimizer(TrainerConfig.parse({})), false, 'every call starts a fresh optimizer by default');
  assert.equal(checkpointOptimizer(TrainerConfig.parse({ grpo: { reset_optimizer: false } })), true, 'GRPO calls that continue one optimizer need it');
  assert.equal(checkpointOptimizer(TrainerConfig.parse({ checkpoint_optimizer: true })), true);
  assert.equal(checkpointOptimizer(TrainerConfig.parse({ checkpoint_optimizer: false, grpo: { reset_optimizer: false } })), false);
  assert.throws(() => TrainerConfig.parse({ checkpoint_optimizer: 'yes' }), /checkpoint_optimizer/);
});
