import { relative, resolve } from 'node:path';
import { defineCommand, EXIT, UsageError } from '../command.ts';
import { intFlag, parseFlags } from '../args.ts';
import { bold } from '../../terminal.ts';
import { replicateNames, replicatesText, runReplicates, storedConfig } from '../../loop/replicate.ts';
import { CONFIG_FLAGS, configFromFlags, consoleProgress, pairLine } from '../loop-console.ts';
import { interruptOnSignals } from '../interrupt.ts';
import { findRunDir } from '../find-run.ts';

export default defineCommand({
  name: 'replicate',
  summary: "train a finished run's round 0 again N times, each with its own training seed: how far a result is training's own noise",
  usage: `replicate <run dir or id> --replicates N [--first K] [--config FILE] [--rounds N] [--static | --no-jglv | --no-edde | --no-hppl] [--parallel P] [--out DIR] [--nats URL] [--quiet] [--json]
  <run>            a finished run: every replicate takes its round 0 (world, seed pool, test split, warm-up)
  --replicates N   replicates replicate-K … replicate-(K+N-1), each its run's loop.trainSeed
  --parallel P     replicates at once (default 1), each with its own policy worker and the cores shared out as its
                   threads, as in ablate --parallel: for the nano policy on several cores (a SmolLM2 worker needs ~8 GB)
  --first K        first replicate index (default 1); the same names in two sets share batch order and rollout seeds
  --config FILE    the setting to train (default: the run's own); it must keep the run's world (seed, sim, seeding, brains)
  --out DIR        where the set goes (default <run>-replicates), replicate-<k>/<variant> per replicate;
                   run the same command again to continue a stopped set
  Pair two sets by replicate with \`looptool ablate --compare DIR,DIR\`; pool them with \`ablate --pool\`.`,
  async run(argv) {
    const { values, positionals } = parseFlags(
      argv,
      {
        config: CONFIG_FLAGS.config,
        rounds: CONFIG_FLAGS.rounds,
        static: CONFIG_FLAGS.static,
        'no-jglv': CONFIG_FLAGS['no-jglv'],
        'no-edde': CONFIG_FLAGS['no-edde'],
        'no-hppl': CONFIG_FLAGS['no-hppl'],
        replicates: { type: 'string' },
        first: { type: 'string' },
        parallel: { type: 'string' },
        out: { type: 'string' },
        nats: { type: 'string' },
        quiet: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
      true,
    );
    if (positionals.length !== 1) throw new UsageError('give exactly one finished run (directory or id) to replicate');
    if (values.replicates === undefined) throw new UsageError('--replicates N is required');
    const base = findRunDir(positionals[0]!);
    const names = replicateNames(intFlag(values.replicates, 'replicates', 1, 1), intFlag(values.first, 'first', 1, 1));
    const config = configFromFlags(values, () => storedConfig(base));
    const dir = resolve(values.out ?? `${base}-replicates`);
    const interrupt = interruptOnSignals();
    try {
      const s = await runReplicates({
        base,
        dir,
        config,
        names,
        parallel: intFlag(values.parallel, 'parallel', 1, 1),
        nats: values.nats,
        signal: interrupt.signal,
        progress: (name) => consoleProgress(name, values.quiet || values.json),
        onRun: (e) => process.stderr.write(`${pairLine(e)}\n`),
      });
      if (values.json) console.log(JSON.stringify({ dir, ...s }));
      else {
        console.log(replicatesText(s));
        if (s.failed) console.log(['', 'Not finished:', `  ${s.failed.name}: failed: ${s.failed.error ?? 'no error recorded'} (${relative(process.cwd(), s.failed.dir)})`].join('\n'));
        const again = `run the same command to continue (--out ${relative(process.cwd(), dir)})`;
        // a failure repeats until its cause is mended; an interrupted set only needs the command again
        console.log(bold(s.complete ? `set in ${relative(process.cwd(), dir)}/ (replicates.md, replicates.json)` : s.failed ? `incomplete: mend what stopped ${s.failed.name} (above), then ${again}` : `incomplete; ${again}`));
      }
      if (interrupt.interrupted) return EXIT.interrupted;
      return s.complete ? EXIT.ok : EXIT.failed;
    } finally {
      interrupt.dispose();
    }
  },
});
