import { mkdirSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { defineCommand, EXIT } from '../command.ts';
import { parseFlags } from '../args.ts';
import { bold, dim } from '../../terminal.ts';
import { newRunId, runsRoot } from '../../rundir.ts';
import { baseRef, runLoop } from '../../loop/driver.ts';
import { RunStore } from '../../loop/store.ts';
import { roundEvals, roundJson } from '../../loop/report.ts';
import { CONFIG_FLAGS, configFromFlags, consoleProgress, roundsTable } from '../loop-console.ts';
import { interruptOnSignals } from '../interrupt.ts';

export default defineCommand({
  name: 'run',
  summary: 'the closed loop end to end: seeding, then per round training, probing, JGLV, EDDE, merging, evaluation; report in the run dir',
  usage: 'run [--config FILE] [--rounds N] [--test-size N] [--seed S] [--no-jglv] [--no-edde] [--no-hppl] [--static] [--out runs/<id>] [--base RUN (a sibling name or a path)] [--nats URL] [--role-concurrency N] [--quiet] [--json]',
  async run(argv) {
    const { values } = parseFlags(argv, {
      ...CONFIG_FLAGS,
      out: { type: 'string' },
      base: { type: 'string' },
      nats: { type: 'string' },
      'role-concurrency': { type: 'string' },
      quiet: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    });
    const config = configFromFlags(values);
    const dir = resolve(values.out ?? `${runsRoot()}/${newRunId('loop')}`);
    mkdirSync(dir, { recursive: true });
    const interrupt = interruptOnSignals();
    try {
      if (!values.json) process.stderr.write(dim(`run dir ${relative(process.cwd(), dir) || '.'}; continue a stopped run with: looptool resume ${relative(process.cwd(), dir)}\n`));
      const r = await runLoop({
        dir,
        config,
        ...(values.base !== undefined ? { base: baseRef(dir, values.base) } : {}),
        nats: values.nats,
        roleConcurrency: values['role-concurrency'] ? Number(values['role-concurrency']) : undefined,
        signal: interrupt.signal,
        ...consoleProgress('', values.quiet || values.json),
      });
      const evals = roundEvals(new RunStore(dir));
      if (values.json) console.log(JSON.stringify({ run: r.run, dir, status: r.status, error: r.error, rounds: evals.map(roundJson) }));
      else {
        if (evals.length) console.log(roundsTable([{ name: r.manifest.variant, evals }]));
        console.log(r.status === 'done' ? bold(`done: report in ${relative(process.cwd(), dir)}/report.md; its answers: looptool answers ${relative(process.cwd(), dir)}`) : bold(`stopped: ${r.error}; continue with looptool resume ${relative(process.cwd(), dir)}`));
      }
      if (interrupt.interrupted) return EXIT.interrupted;
      return r.status === 'done' ? EXIT.ok : EXIT.failed;
    } finally {
      interrupt.dispose();
    }
  },
});
