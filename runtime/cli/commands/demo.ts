import { relative, resolve } from 'node:path';
import { defineCommand, EXIT } from '../command.ts';
import { intFlag, parseFlags } from '../args.ts';
import { bold, dim } from '../../terminal.ts';
import { newRunId, runsRoot } from '../../rundir.ts';
import { runLabel } from '../../live-runs.ts';
import { ablateSeeds, defaultParallel, runSeeds } from '../../loop/ablate.ts';
import { seedsText } from '../../loop/seed-runs.ts';
import { CONFIG_FLAGS, configFromFlags, consoleProgress } from '../loop-console.ts';
import { seedColumns, seedRoundsTable, seedTablesText } from '../../loop/seed-tables.ts';
import { DEMO_SEEDS, demoConfig } from '../../loop/preset.ts';
import { interruptOnSignals } from '../interrupt.ts';

/**
 * `npm run demo`: the closed loop on the embedded default (sim brains, the nano policy on
 * the CPU, an embedded NATS server), beside the static baseline trained on the same seed
 * data with the same compute, on several seeds: the small-scale counterpart of the
 * paper's iteration curve, read with its uncertainty and its trivial baselines.
 */
export default defineCommand({
  name: 'demo',
  summary: 'the closed loop vs the static baseline on the embedded default (sim world, nano policy, CPU) over several seeds; accuracy per round with 95% CIs',
  usage: `demo [--seeds N] [--parallel P] [--rounds N] [--test-size N] [--seed S] [--config FILE] [--out runs/<id>] [--quiet]
  --seeds N      seeds to run loop and static on (default ${DEMO_SEEDS}); one seed's gap is not a result
  --parallel P   runs at once (seed, variant pairs), each with its own policy worker (default: one per core, at most one per seed)`,
  async run(argv) {
    const { values } = parseFlags(argv, {
      rounds: CONFIG_FLAGS.rounds,
      'test-size': CONFIG_FLAGS['test-size'],
      seed: CONFIG_FLAGS.seed,
      config: CONFIG_FLAGS.config,
      seeds: { type: 'string' },
      parallel: { type: 'string' },
      out: { type: 'string' },
      quiet: { type: 'boolean', default: false },
    });
    const nSeeds = intFlag(values.seeds, 'seeds', DEMO_SEEDS, 1);
    // the demo prints its own progress; role and worker info lines would only interleave with it
    process.env.LOOPTOOL_LOG_LEVEL ??= 'warn';
    const config = configFromFlags(values, demoConfig);
    const seeds = runSeeds(config.seed, nSeeds);
    const parallel = intFlag(values.parallel, 'parallel', defaultParallel(seeds.length), 1);
    const dir = resolve(values.out ?? `${runsRoot()}/${newRunId('demo')}`);
    const t0 = performance.now();
    const interrupt = interruptOnSignals();
    try {
      console.log(bold(`looptool demo: the closed loop vs static training on the same seed data, ${seeds.length} seeds × ${config.loop.rounds} rounds, budget ${config.loop.budget} samples per round, ${parallel} seed${parallel === 1 ? '' : 's'} at a time`));
      console.log(
        dim(
          `run dir ${relative(process.cwd(), dir)} (seed-<i>/full is the loop, seed-<i>/static the baseline; per seed they share round 0: seed pool, test split, starting policy); watch: looptool view, or looptool view --run ${runLabel(dir)}/seed-1/full`,
        ),
      );
      const r = await ablateSeeds({
        dir,
        config,
        seeds,
        parallel,
        variants: ['full', 'static'],
        signal: interrupt.signal,
        progress: (seed, v) => consoleProgress(`${seed} ${v === 'full' ? 'loop' : 'static'}`, values.quiet),
      });
      const minutes = (performance.now() - t0) / 60_000;
      const again = `run the same command with --out ${relative(process.cwd(), dir)} to continue`;
      if (!r.seeds.some((s) => s.rows.some((x) => x.result.status === 'done'))) {
        console.log(bold(`stopped after ${minutes.toFixed(1)} min with no run finished${interrupt.signal.aborted ? ' (interrupted)' : ''}; ${again}`));
        return interrupt.signal.aborted ? EXIT.interrupted : EXIT.failed;
      }
      const columns = seedColumns(r, ['full', 'static'], (v) => (v === 'full' ? 'loop' : v));
      console.log('');
      console.log(bold(`ToolMatch accuracy (%) on each seed's held-out test split, mean ± 95% CI over ${r.seeds.length} seeds (round 0 = the starting policy):`));
      console.log(seedRoundsTable(columns));
      console.log('');
      console.log(seedTablesText(r.summary, columns).join('\n'));
      console.log('');
      console.log(seedsText(r.summary));
      const rel = relative(process.cwd(), dir);
      console.log(dim(`${minutes.toFixed(1)} min; tables: ${rel}/ablation.md, figures: ablation.json, per-run reports: seed-<i>/<variant>/report.md`));
      console.log(dim(`what the two answered, item by item: looptool answers ${rel}/seed-1/full --versus ${rel}/seed-1/static`));
      if (!r.complete) console.log(bold(`incomplete; ${again}`));
      if (interrupt.signal.aborted) return EXIT.interrupted;
      return r.complete ? EXIT.ok : EXIT.failed;
    } finally {
      interrupt.dispose();
    }
  },
});
