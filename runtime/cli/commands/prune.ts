import { relative } from 'node:path';
import { parseFlags } from '../args.ts';
import { defineCommand, EXIT, UsageError } from '../command.ts';
import { bold, dim } from '../../terminal.ts';
import { findRuns, pruneCheckpoints, type PruneKeep } from '../../loop/prune.ts';

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;

export default defineCommand({
  name: 'prune',
  summary: 'remove the policy checkpoints of finished runs that nothing will read again (the last, and the ones later variants start from, stay)',
  usage: 'prune <run or folder of runs>... [--keep continuations|last] [--dry-run] [--json]',
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { keep: { type: 'string', default: 'continuations' }, 'dry-run': { type: 'boolean', default: false }, json: { type: 'boolean', default: false } }, true);
    if (positionals.length === 0) throw new UsageError('give at least one run, or a folder of runs (an ablation, runs/)');
    if (values.keep !== 'continuations' && values.keep !== 'last') throw new UsageError(`--keep expects "continuations" or "last", got "${values.keep}"`);
    for (const p of positionals) if (findRuns(p).length === 0) throw new UsageError(`no loop run at or below "${p}" (looked for manifest.json)`);
    const dryRun = values['dry-run'];
    const results = pruneCheckpoints(positionals, { keep: values.keep as PruneKeep, dryRun });
    if (values.json) {
      console.log(JSON.stringify({ dryRun, runs: results }));
      return EXIT.ok;
    }
    const here = (p: string) => relative(process.cwd(), p) || '.';
    for (const r of results) {
      const what = r.note ?? (r.removed.length ? `${dryRun ? 'would remove' : 'removed'} ${r.removed.length} (${gib(r.bytes)}), kept ${r.kept.length}` : `nothing to remove, kept ${r.kept.length}`);
      console.log(`${here(r.run)}  ${what}`);
      for (const p of r.removed) console.log(dim(`  - ${here(p)}`));
    }
    const bytes = results.reduce((n, r) => n + r.bytes, 0);
    console.log(bold(`${dryRun ? 'would free' : 'freed'} ${gib(bytes)} in ${results.filter((r) => r.removed.length).length} of ${results.length} runs`));
    return EXIT.ok;
  },
});
