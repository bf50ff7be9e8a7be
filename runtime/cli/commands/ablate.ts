import { relative, resolve } from 'node:path';
import { defineCommand, EXIT, UsageError } from '../command.ts';
import { parseFlags } from '../args.ts';
import { bold } from '../style.ts';
import { VARIANTS, type Variant } from '../../../protocols/loop/config.ts';
import { newRunId, runsRoot } from '../../rundir.ts';
import { ablationText, compareVariants } from '../../loop/ablate.ts';
import { CONFIG_FLAGS, configFromFlags, consoleProgress } from '../../loop/console.ts';
import { interruptOnSignals } from '../interrupt.ts';

const ALL = Object.keys(VARIANTS) as Variant[];

export default defineCommand({
  name: 'ablate',
  summary: 'full, no-JGLV, no-EDDE, no-HPPL and static on the same seed data; prints the ablation table',
  usage: `ablate [--config FILE] [--rounds N] [--seed S] [--variants ${ALL.join(',')}] [--out runs/<id>] [--nats URL] [--quiet] [--json]`,
  async run(argv) {
    const { values } = parseFlags(argv, {
      config: CONFIG_FLAGS.config,
      rounds: CONFIG_FLAGS.rounds,
      seed: CONFIG_FLAGS.seed,
      variants: { type: 'string' },
      out: { type: 'string' },
      nats: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    });
    const variants = (values.variants ?? ALL.join(',')).split(',').map((v) => v.trim()).filter(Boolean);
    for (const v of variants) if (!ALL.includes(v as Variant)) throw new UsageError(`unknown variant "${v}" (known: ${ALL.join(', ')})`);
    if (new Set(variants).size !== variants.length) throw new UsageError('--variants lists a variant twice');
    const config = configFromFlags(values);
    const dir = resolve(values.out ?? `${runsRoot()}/${newRunId('ablate')}`);
    const interrupt = interruptOnSignals();
    try {
      const rows = await compareVariants({
        dir,
        config,
        variants: variants as Variant[],
        nats: values.nats,
        signal: interrupt.signal,
        progress: (v) => consoleProgress(v, values.quiet || values.json),
      });
      const ok = rows.length === variants.length && rows.every((r) => r.result.status === 'done');
      if (values.json)
        console.log(JSON.stringify({ dir, complete: ok, variants: rows.map((r) => ({ variant: r.variant, status: r.result.status, accuracy: r.evals.map((e) => ({ round: e.round, accuracy: e.test.accuracy })) })) }));
      else {
        console.log(ablationText(rows));
        console.log(bold(ok ? `table and chart in ${relative(process.cwd(), dir)}/ablation.md` : `incomplete; run the same command with --out ${relative(process.cwd(), dir)} to continue`));
      }
      if (interrupt.signal.aborted) return EXIT.interrupted;
      return ok ? EXIT.ok : EXIT.failed;
    } finally {
      interrupt.dispose();
    }
  },
});
