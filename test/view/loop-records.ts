import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Manifest, RoundEval } from '../../protocols/loop/records.ts';
import { Composition } from '../../protocols/loop/merge.ts';
import { VARIANTS } from '../../protocols/loop/config.ts';
import { RunStore } from '../../runtime/loop/store.ts';
import { FileCheckpointer } from '../../runtime/loop/checkpoint/index.ts';
import { roundEvals, writeReport } from '../../runtime/loop/report.ts';
import { runIdForDir } from '../../runtime/live-runs.ts';

/**
 * The per-round records a demo leaves (`<demo>/full` and `<demo>/static`: manifest,
 * round-j/eval.json, round-j/composition.json, report.md), written through the loop's
 * own schemas and report writer, for viewer tests that cannot run the loop (it needs the
 * policy worker). Each eval record carries the trivial baselines; a D_{rounds+1} is
 * merged after the last round, as the loop does, and no round trains on it.
 */
export function writeLoopRecords(demoDir: string, o: { rounds: number }): { composition: number[] } {
  const evals: Record<string, RoundEval[]> = {};
  for (const variant of ['full', 'static'] as const) {
    const dir = join(demoDir, variant);
    mkdirSync(dir, { recursive: true });
    const now = new Date().toISOString();
    const manifest = Manifest.parse({ version: 1, run: runIdForDir(dir), created: now, variant, ablations: VARIANTS[variant], rounds: o.rounds, status: 'done', stages: [], updated: now });
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    for (let j = 0; j <= o.rounds + 1; j++) {
      mkdirSync(join(dir, `round-${j}`), { recursive: true });
      const composition =
        j >= 1
          ? Composition.parse({
              round: j,
              budget: 40,
              total: 40,
              seedNewShare: 0.5,
              parts: variant === 'static' || j === 1 ? { seed: 40, es: 0, ee: 0, hppl: 0, seed_new: 0, fill: 0 } : { seed: 0, es: 10, ee: 12, hppl: 8, seed_new: 10, fill: 0 },
              corrected: 2,
              available: { es: 10, ee: 12, candidates: 30, unusedSeed: 50 },
              duplicates: 0,
              shortfall: 0,
              hpplRandom: false,
            })
          : undefined;
      if (composition) writeFileSync(join(dir, `round-${j}`, 'composition.json'), JSON.stringify(composition));
      if (j > o.rounds) continue;
      const correct = 20 + j * (variant === 'full' ? 6 : 2);
      const half = (c: number) => ({ n: 40, correct: c, accuracy: c / 40 });
      const byKind = { single: half(Math.ceil(correct / 2) + 4), parallel: half(Math.floor(correct / 2) - 4) };
      const record = RoundEval.parse({ type: 'eval', round: j, test: { n: 80, correct, accuracy: correct / 80, byKind }, ...(composition ? { composition } : {}) });
      // the trivial baselines, as the science work adds them to each eval record
      writeFileSync(join(dir, `round-${j}`, 'eval.json'), JSON.stringify({ ...record, baselines: { never_call: 0.1, always_call: 0.45 } }));
    }
    evals[variant] = roundEvals(new RunStore(dir));
  }
  for (const variant of ['full', 'static'] as const) {
    const store = new RunStore(join(demoDir, variant));
    const other = variant === 'full' ? 'static' : 'full';
    writeReport(store, new FileCheckpointer(store).get('manifest')!, [{ name: other, evals: evals[other]! }]);
  }
  return { composition: Array.from({ length: o.rounds }, (_, i) => i + 1) };
}
