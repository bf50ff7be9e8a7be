import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AST_CATEGORIES,
  CATEGORIES,
  type CheckMode,
  checkEntry,
  checkResultLine,
  referenceResult,
} from '../../protocols/bfcl/index.ts';
import { pyJsonText } from '../../protocols/bfcl/reference.ts';
import { dataset } from './data.ts';

// shared/bfcl/v3/README.md "Known oddities": no answer can pass these under the official checker.
const IMPOSSIBLE: Record<string, string> = {
  'live_simple_106-63-0': 'simple_function_checker:missing_required',
  'live_simple_112-68-0': 'simple_function_checker:missing_required',
  'live_multiple_964-207-0': 'simple_function_checker:missing_required',
  'live_multiple_862-181-3': 'simple_function_checker:unexpected_param',
};

const SIZES: Record<string, number> = {
  simple: 400,
  multiple: 200,
  parallel: 200,
  parallel_multiple: 200,
  live_simple: 258,
  live_multiple: 1053,
  live_parallel: 16,
  live_parallel_multiple: 24,
  irrelevance: 240,
  live_irrelevance: 882,
  live_relevance: 18,
};

describe('BFCL v3 reference answers on the real data', () => {
  it('loads every category with the documented entry counts and no problems', () => {
    for (const cat of CATEGORIES) {
      const ds = dataset(cat);
      assert.equal(ds.order.length, SIZES[cat], cat);
      assert.deepEqual(ds.problems, [], cat);
      for (const id of ds.order) assert.equal(ds.entries.get(id)!.invalid, undefined, id);
    }
  });

  for (const mode of ['prompt', 'fc'] as CheckMode[]) {
    it(`pass in every category except the impossible entries (${mode} mode)`, () => {
      const failures: Record<string, string> = {};
      let checked = 0;
      for (const cat of CATEGORIES) {
        const ds = dataset(cat);
        for (const id of ds.order) {
          const entry = ds.entries.get(id)!;
          const v = checkEntry(entry, referenceResult(entry, mode), mode);
          checked++;
          if (!v.valid) failures[id] = v.error_type!;
        }
      }
      assert.equal(checked, 3491);
      assert.deepEqual(failures, IMPOSSIBLE);
    });
  }

  it('gives the leaderboard counts for gold answers: 256/258 live_simple, 1051/1053 live_multiple', () => {
    for (const cat of AST_CATEGORIES) {
      const ds = dataset(cat);
      let ok = 0;
      for (const id of ds.order) {
        const e = ds.entries.get(id)!;
        // through the result-line path the CLI uses (JSON text of a BFCL result line)
        const line = `{"id": ${JSON.stringify(id)}, "result": ${pyJsonText(referenceResult(e, 'fc'))}}`;
        if (checkResultLine(ds, line, 'fc').valid) ok++;
      }
      const expected = cat === 'live_simple' ? 256 : cat === 'live_multiple' ? 1051 : SIZES[cat];
      assert.equal(ok, expected, cat);
    }
  });

  it('keeps 4.0 a float in the ground truth (int -> float only at the top level)', () => {
    // simple_13: interval is array<float> with ground truth [[1.0, 3.0]]
    const e = dataset('simple').entries.get('simple_13')!;
    const alts = e.gt![0].params.get('interval')!;
    assert.equal(pyJsonText(alts), '[[1.0, 3.0]]');
  });
});
