import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { groupAdvantages, groupHasSignal, GrpoSettings, warmupLr } from '../../protocols/grpo.ts';

test('advantages by hand: (r - mean) / (std + eps), population std', () => {
  // rewards 1, 0, 0, 0: mean 0.25, std sqrt(0.1875) = 0.4330127...
  const a = groupAdvantages([1, 0, 0, 0], 0);
  const std = Math.sqrt(0.1875);
  assert.ok(Math.abs(a[0] - 0.75 / std) < 1e-12);
  for (const x of a.slice(1)) assert.ok(Math.abs(x + 0.25 / std) < 1e-12);
  // eps enters the denominator
  const b = groupAdvantages([1, 0], 0.5);
  assert.deepEqual(b, [0.5 / 1.0, -0.5 / 1.0]);
});

test('a group with no variance contributes nothing', () => {
  assert.deepEqual(groupAdvantages([1, 1, 1, 1]), [0, 0, 0, 0]);
  assert.deepEqual(groupAdvantages([0, 0, 0]), [0, 0, 0]);
  assert.deepEqual(groupAdvantages([0.3]), [0]);
  assert.deepEqual(groupAdvantages([]), []);
  assert.deepEqual(groupAdvantages([1, 1 + 1e-15, 1]), [0, 0, 0], 'rounding noise is not a signal');
  assert.equal(groupHasSignal([1, 1]), false);
  assert.equal(groupHasSignal([1, 0]), true);
});

test('Dr. GRPO scaling removes only the mean', () => {
  assert.deepEqual(groupAdvantages([1, 0, 0, 0], 1e-6, 'none'), [0.75, -0.25, -0.25, -0.25]);
});

test('non-finite rewards are refused with the index', () => {
  assert.throws(() => groupAdvantages([0, Number.NaN]), /rewards\[1\]/);
});

test('properties: zero mean, unit population variance when rewards differ, order-preserving', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -1000, max: 1000 }).map((x) => x / 100), { minLength: 2, maxLength: 32 }), (rs) => {
      const a = groupAdvantages(rs, 0);
      const mean = a.reduce((x, y) => x + y, 0) / a.length;
      assert.ok(Math.abs(mean) < 1e-9);
      if (a.some((x) => x !== 0)) {
        const v = a.reduce((x, y) => x + y * y, 0) / a.length;
        assert.ok(Math.abs(v - 1) < 1e-6, `variance ${v}`);
      }
      for (let i = 0; i < rs.length; i++)
        for (let j = 0; j < rs.length; j++) if (rs[i] > rs[j] && a.some((x) => x !== 0)) assert.ok(a[i] > a[j]);
    }),
  );
});

test('GRPO settings default to the paper', () => {
  const s = GrpoSettings.parse({});
  assert.equal(s.group_size, 16);
  assert.equal(s.eps_low, 0.2);
  assert.equal(s.eps_high, 0.28);
  assert.equal(s.beta, 0);
  assert.equal(s.aggregation, 'token-mean');
  assert.equal(s.lr, 1e-6);
  assert.equal(s.temperature, 1.0);
  assert.equal(s.epochs, 2);
  assert.equal(s.reset_optimizer, true);
  assert.throws(() => GrpoSettings.parse({ aggregation: 'sum' }));
});

test('a warm-up of W steps: step k at lr × (k+1)/(W+1), never at 0, then the lr; W 0 is the constant rate', () => {
  assert.deepEqual([0, 1, 2, 3].map((k) => warmupLr(3e-5, 2, k)), [1e-5, 2e-5, 3e-5, 3e-5]);
  assert.deepEqual([0, 1].map((k) => warmupLr(3e-5, 0, k)), [3e-5, 3e-5]);
});
