import { relative, resolve } from 'node:path';
import { defineCommand, EXIT, UsageError } from '../command.ts';
import { intFlag, parseFlags } from '../args.ts';
import { bold } from '../../terminal.ts';
import { TABLE_VARIANTS, VARIANTS, type Variant } from '../../../protocols/loop/config.ts';
import { newRunId, runsRoot, writeJsonAtomic } from '../../rundir.ts';
import { packSeedsRun, poolAblationDirs, pooledText, seedsText } from '../../loop/seed-runs.ts';
import { seedColumns, seedTablesText } from '../../loop/seed-tables.ts';
import { compareRuns, comparisonText, parseColumnSpec } from '../../loop/compare-runs.ts';
import { roundJson } from '../../loop/report.ts';
import { CONFIG_FLAGS, configFromFlags, consoleProgress, pairLine, presetBase } from '../loop-console.ts';
import { interruptOnSignals } from '../interrupt.ts';

const ALL = Object.keys(VARIANTS) as Variant[];

/** --pool, --compare and --pack run nothing: refuse every flag given beside `flag` but `allowed` (and --json, --quiet). */
function onlyWith(values: Record<string, unknown>, flag: string, allowed: readonly string[], what: string): void {
  const others = Object.keys(values).filter((k) => ![flag, ...allowed, 'json', 'quiet'].includes(k) && values[k] !== undefined);
  if (others.length) throw new UsageError(`--${flag} ${what} and runs nothing: drop --${others.join(', --')}`);
}

export default defineCommand({
  name: 'ablate',
  summary: 'full, no-JGLV, no-EDDE, no-HPPL, random-expansion and static (or the --variants named, balanced among them) on the same seed data; with --seeds N, mean ± 95% CI over seeds',
  usage: `ablate [--config FILE | --preset demo|smollm2] [--rounds N] [--test-size N] [--seed S] [--seeds N [--first-seed K] [--parallel P]] [--variants ${ALL.join(',')}] [--out runs/<id>] [--nats URL] [--quiet] [--json]
       ablate --pool DIR,DIR[,…] [--json]
       ablate --pack DIR --out FILE
       ablate --compare [NAME=]DIR[:VARIANT],[NAME=]DIR[:VARIANT][,…] [--reference NAME] [--json]
  --preset NAME    start from a preset instead of the defaults: demo (the settings of npm run demo, the nano base)
                   or smollm2 (the demo's world with SmolLM2-135M-Instruct, the settings of docs/loop.md's CPU pilot)
  --seeds N        run every variant on N seeds (<seed>-K … <seed>-(K+N-1)) and report mean ± 95% CI over them,
                   each variant's paired difference to static, and (--json) the raw per-seed figures
  --variants LIST  which variants (default ${TABLE_VARIANTS.join(',')});
                   balanced is the full loop with merged rounds kept to the seed pool's mix of call
                   and no-call labels (docs/loop.md)
  --first-seed K   first seed index (default 1): pick seeds you have never used before reading a result
  --parallel P     runs at once (seed, variant pairs; a seed's first variant before its others), each with its own
                   policy worker and the cores shared out as its threads
                   (default 1; with --preset demo, one per core as in npm run demo; a SmolLM2 worker needs ~8 GB)
  --pool DIRS      run nothing: read finished --seeds runs (their seed-<i>/<variant> folders) and summarise all their seeds as one,
                   saying which settings the runs differ in; a seed in two of them is an error
  --pack DIR       run nothing: write a finished --seeds run's or replicate set's figures to --out FILE (its configurations and
                   each round's evaluation; no checkpoints, samples or logs: a few hundred KB), to keep beside the results;
                   --pool and --compare read a pack wherever they read a run folder
  --compare COLS   run nothing: pair finished --seeds runs of different settings on the same seeds, seed by seed; a column
                   is DIR:VARIANT (DIR alone: each variant that finished there), named <folder>/<variant> or NAME= before it; prints each
                   column's mean ± 95% CI, its paired difference to the reference and what the settings differ in
  --reference NAME the column the others are paired against (default: the first static column, else the last)
  --quiet          no stage lines or bars; with --seeds, still one line on stderr per finished run, with the time left`,
  async run(argv) {
    const { values } = parseFlags(argv, {
      config: CONFIG_FLAGS.config,
      preset: { type: 'string' },
      rounds: CONFIG_FLAGS.rounds,
      'test-size': CONFIG_FLAGS['test-size'],
      seed: CONFIG_FLAGS.seed,
      variants: { type: 'string' },
      seeds: { type: 'string' },
      'first-seed': { type: 'string' },
      parallel: { type: 'string' },
      out: { type: 'string' },
      nats: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      pool: { type: 'string' },
      compare: { type: 'string' },
      reference: { type: 'string' },
      pack: { type: 'string' },
    });
    if (values.pack !== undefined) {
      onlyWith(values, 'pack', ['out'], 'reads a finished run');
      if (!values.out) throw new UsageError('--pack needs --out FILE, the pack to write (for example docs/results/<name>.json)');
      const pack = packSeedsRun(values.pack);
      writeJsonAtomic(resolve(values.out), pack);
      const finished = pack.seeds.reduce((n, s) => n + Object.keys(s.finished).length, 0);
      console.log(`packed ${pack.seeds.length} seed folders (${finished} finished runs) of ${values.pack} into ${values.out}`);
      return EXIT.ok;
    }
    if (values.compare !== undefined) {
      onlyWith(values, 'compare', ['reference'], 'reads finished runs');
      const specs = values.compare.split(',').map((d) => d.trim()).filter(Boolean).map(parseColumnSpec);
      if (!specs.length) throw new UsageError('--compare needs run folders, separated by commas (DIR or DIR:VARIANT)');
      const r = compareRuns(specs, values.reference);
      const { tables: _tables, ...figures } = r;
      console.log(values.json ? JSON.stringify(figures) : comparisonText(r));
      return EXIT.ok;
    }
    if (values.reference !== undefined) throw new UsageError('--reference goes with --compare');
    if (values.pool !== undefined) {
      onlyWith(values, 'pool', [], 'reads finished runs');
      const dirs = values.pool.split(',').map((d) => d.trim()).filter(Boolean);
      if (dirs.length < 2) throw new UsageError('--pool needs two or more ablation folders or seed packs, separated by commas');
      const pooled = poolAblationDirs(dirs);
      const { columns: _columns, ...figures } = pooled;
      console.log(values.json ? JSON.stringify(figures) : pooledText(pooled));
      return EXIT.ok;
    }
    const variants = (values.variants ?? TABLE_VARIANTS.join(',')).split(',').map((v) => v.trim()).filter(Boolean);
    for (const v of variants) if (!ALL.includes(v as Variant)) throw new UsageError(`unknown variant "${v}" (known: ${ALL.join(', ')})`);
    if (new Set(variants).size !== variants.length) throw new UsageError('--variants lists a variant twice');
    const config = configFromFlags(values, presetBase(values));
    const dir = resolve(values.out ?? `${runsRoot()}/${newRunId('ablate')}`);
    if (values['first-seed'] !== undefined && values.seeds === undefined) throw new UsageError('--first-seed needs --seeds N');
    if (values.parallel !== undefined && values.seeds === undefined) throw new UsageError('--parallel needs --seeds N');
    const nSeeds = values.seeds === undefined ? undefined : intFlag(values.seeds, 'seeds', 1, 1);
    // the loop's runner (roles, bus, trainer): loaded only to run, so --pool, --compare and --pack start quickly
    const { ablateSeeds, ablationText, compareVariants, defaultParallel, runSeeds, unfinishedText } = await import('../../loop/ablate.ts');
    const interrupt = interruptOnSignals();
    if (nSeeds !== undefined) {
      try {
        const seeds = runSeeds(config.seed, nSeeds, intFlag(values['first-seed'], 'first-seed', 1));
        const r = await ablateSeeds({
          dir,
          config,
          seeds,
          parallel: intFlag(values.parallel, 'parallel', values.preset === 'demo' ? defaultParallel(seeds.length) : 1, 1),
          variants: variants as Variant[],
          nats: values.nats,
          signal: interrupt.signal,
          progress: (seed, v) => consoleProgress(`${seed} ${v}`, values.quiet || values.json),
          onPair: (e) => process.stderr.write(`${pairLine(e)}\n`),
        });
        if (values.json)
          console.log(
            JSON.stringify({
              dir,
              complete: r.complete,
              summary: r.summary,
              runs: r.seeds.map((d) => ({ seed: d.seed, variants: d.rows.map((x) => ({ variant: x.variant, status: x.result.status, error: x.result.error, rounds: x.evals.map(roundJson) })) })),
            }),
          );
        else {
          console.log(seedsText(r.summary));
          console.log(['', ...seedTablesText(r.summary, seedColumns(r, variants))].join('\n'));
          const unfinished = unfinishedText(r, seeds, variants as Variant[]);
          if (unfinished.length) console.log(['', 'Not finished:', ...unfinished.map((l) => `  ${l}`)].join('\n'));
          console.log(bold(r.complete ? `table in ${relative(process.cwd(), dir)}/ablation.md, figures in ablation.json` : `incomplete; run the same command with --out ${relative(process.cwd(), dir)} to continue`));
        }
        if (interrupt.signal.aborted) return EXIT.interrupted;
        return r.complete ? EXIT.ok : EXIT.failed;
      } finally {
        interrupt.dispose();
      }
    }
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
        console.log(JSON.stringify({ dir, complete: ok, variants: rows.map((r) => ({ variant: r.variant, status: r.result.status, rounds: r.evals.map(roundJson) })) }));
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
