import { relative, resolve } from 'node:path';
import { defineCommand, EXIT } from '../command.ts';
import { parseFlags } from '../args.ts';
import { bold, dim } from '../style.ts';
import { newRunId, runsRoot } from '../../rundir.ts';
import { runLabel } from '../../live-runs.ts';
import { compareVariants } from '../../loop/ablate.ts';
import { CONFIG_FLAGS, configFromFlags, consoleProgress, roundsTable } from '../../loop/console.ts';
import { demoConfig } from '../../loop/preset.ts';
import { interruptOnSignals } from '../interrupt.ts';

/**
 * `npm run demo`: the closed loop on the embedded default (sim brains, the tiny policy on
 * the CPU, an embedded NATS server), beside the static baseline trained on the same seed
 * data with the same compute: the small-scale counterpart of the paper's iteration curve.
 */
export default defineCommand({
  name: 'demo',
  summary: 'the closed loop vs the static baseline on the embedded default (sim world, tiny policy, CPU); accuracy per round',
  usage: 'demo [--rounds N] [--seed S] [--config FILE] [--out runs/<id>] [--quiet]',
  async run(argv) {
    const { values } = parseFlags(argv, { rounds: CONFIG_FLAGS.rounds, seed: CONFIG_FLAGS.seed, config: CONFIG_FLAGS.config, out: { type: 'string' }, quiet: { type: 'boolean', default: false } });
    // the demo prints its own progress; role and worker info lines would only interleave with it
    process.env.LOOPTOOL_LOG_LEVEL ??= 'warn';
    // Another seed draws another world, seed corpus and test split: how a researcher
    // checks that the loop's gap is not one seed's luck (docs/loop.md).
    const config = configFromFlags(values, demoConfig);
    const dir = resolve(values.out ?? `${runsRoot()}/${newRunId('demo')}`);
    const t0 = performance.now();
    const interrupt = interruptOnSignals();
    try {
      console.log(bold(`looptool demo: the closed loop vs static training on the same seed data, ${config.loop.rounds} rounds, budget ${config.loop.budget} samples per round`));
      console.log(dim(`run dir ${relative(process.cwd(), dir)} (full/ is the loop, static/ the baseline; they share round 0: seed pool, test split, warmed-up policy); watch: looptool view, or looptool view --run ${runLabel(dir)}/full`));
      const rows = await compareVariants({
        dir,
        config,
        variants: ['full', 'static'],
        signal: interrupt.signal,
        progress: (v) => consoleProgress(v === 'full' ? 'loop' : 'static', values.quiet),
      });
      const minutes = (performance.now() - t0) / 60_000;
      const named = rows.map((r) => ({ name: r.variant === 'full' ? 'loop' : 'static', evals: r.evals }));
      console.log('');
      console.log(bold('ToolMatch accuracy on the held-out test split (round 0 = after the supervised warm-up):'));
      console.log(roundsTable(named));
      const last = (n: string) => named.find((x) => x.name === n)?.evals.at(-1)?.test.accuracy;
      const [l, s] = [last('loop'), last('static')];
      if (l !== undefined && s !== undefined) console.log(bold(`last round: loop ${(100 * l).toFixed(1)}% vs static ${(100 * s).toFixed(1)}% (${l > s ? '+' : ''}${(100 * (l - s)).toFixed(1)} points)`));
      console.log(dim(`${minutes.toFixed(1)} min; reports: ${relative(process.cwd(), dir)}/full/report.md, ${relative(process.cwd(), dir)}/static/report.md, chart ${relative(process.cwd(), dir)}/accuracy.svg`));
      const ok = rows.length === 2 && rows.every((r) => r.result.status === 'done');
      if (interrupt.signal.aborted) return EXIT.interrupted;
      return ok ? EXIT.ok : EXIT.failed;
    } finally {
      interrupt.dispose();
    }
  },
});
