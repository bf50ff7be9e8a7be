import { relative } from 'node:path';
import { defineCommand, EXIT, UsageError } from '../command.ts';
import { intFlag, parseFlags } from '../args.ts';
import { bold } from '../../terminal.ts';
import { findRunDir } from '../find-run.ts';
import { runLoop } from '../../loop/driver.ts';
import { RunStore } from '../../loop/store.ts';
import { roundEvals, roundJson } from '../../loop/report.ts';
import { consoleProgress, MAX_ROUNDS, roundsTable } from '../loop-console.ts';
import { settleRunConfig } from '../../seed.ts';
import { interruptOnSignals } from '../interrupt.ts';

export default defineCommand({
  name: 'resume',
  summary: 'continue a loop run that stopped or was killed, from its last finished stage (nothing finished is redone)',
  usage: 'resume <run dir or id> [--rounds N] [--rerun-damaged] [--nats URL] [--quiet] [--json]',
  async run(argv) {
    const { values, positionals } = parseFlags(
      argv,
      { rounds: { type: 'string' }, 'rerun-damaged': { type: 'boolean', default: false }, nats: { type: 'string' }, quiet: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
      true,
    );
    if (positionals.length !== 1) throw new UsageError('give exactly one run (directory or id)');
    const dir = findRunDir(positionals[0]!);
    let config = settleRunConfig(dir, undefined);
    config = { ...config, loop: { ...config.loop, rounds: intFlag(values.rounds, 'rounds', config.loop.rounds, 0, MAX_ROUNDS) } };
    const interrupt = interruptOnSignals();
    try {
      const r = await runLoop({
        dir,
        config,
        resume: true,
        rerunDamaged: values['rerun-damaged'],
        onRerun: (stages) => {
          if (!values.json) process.stderr.write(`damaged run: running again ${stages[0] === 'all' ? 'every stage (finished work is reused where the seeding driver kept it)' : stages.join(', ')}\n`);
        },
        nats: values.nats,
        signal: interrupt.signal,
        ...consoleProgress('', values.quiet || values.json),
      });
      const evals = roundEvals(new RunStore(dir));
      if (values.json) console.log(JSON.stringify({ run: r.run, dir, status: r.status, error: r.error, rounds: evals.map(roundJson) }));
      else {
        if (evals.length) console.log(roundsTable([{ name: r.manifest.variant, evals }]));
        console.log(r.status === 'done' ? bold(`done: report in ${relative(process.cwd(), dir)}/report.md`) : bold(`stopped: ${r.error}`));
      }
      if (interrupt.interrupted) return EXIT.interrupted;
      return r.status === 'done' ? EXIT.ok : EXIT.failed;
    } finally {
      interrupt.dispose();
    }
  },
});
