import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { intFlag, parseFlags } from '../runtime/cli/args.ts';
import { defineBench } from './result.ts';
import { percentile } from './stats.ts';

/**
 * How long a `looptool` command takes to start: `<command> --help` loads the command's
 * modules and prints, so its wall time is what every call of that command pays before it
 * does anything. Each is timed against the floor, a bare `node --import tsx -e 0` (Node
 * and the TypeScript loader alone), alternating command and floor so that the ratio,
 * taken pair by pair, holds when the machine's speed drifts. Medians over the pairs.
 *
 * Targets: `run` (the loop's runner: roles, bus, trainer; every run, resume and ablation
 * pays it) within 4x the floor, and `ablate` (whose --pool, --compare and --pack read
 * finished runs without the runner) within 2.5x. Before the llm brains were loaded on
 * first use and ablate's reader was split from its runner, run was 5.7x and ablate 5.9x
 * (BENCHMARKS.md).
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const COMMANDS = ['run', 'ablate', 'seed', 'view', 'eval'] as const;
const TARGETS: Partial<Record<(typeof COMMANDS)[number], number>> = { run: 4, ablate: 2.5 };

function seconds(args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-1000)}`);
  return s;
}

const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);

export default defineBench({
  name: 'startup',
  summary: "start-up of looptool's commands (<command> --help) against a bare node --import tsx, paired",
  async run(argv) {
    const { values } = parseFlags(argv, { runs: { type: 'string' } });
    const runs = intFlag(values.runs, 'runs', 9, 3);
    const floor = ['--input-type=module', '-e', '0'];
    seconds(floor); // warm the loader's cache
    const out: Record<string, number> = {};
    const fails: string[] = [];
    for (const c of COMMANDS) {
      const cmd = ['runtime/cli/main.ts', c, '--help'];
      seconds(cmd);
      const a: number[] = [];
      const b: number[] = [];
      const ratio: number[] = [];
      for (let i = 0; i < runs; i++) {
        a.push(seconds(cmd));
        b.push(seconds(floor));
        ratio.push(a[i]! / b[i]!);
      }
      const [s, floorS, over] = [median(a), median(b), median(ratio)];
      out[`${c}_s`] = s;
      out[`${c}_floor_s`] = floorS;
      out[`${c}_over_floor`] = over;
      const target = TARGETS[c];
      if (target !== undefined && over > target) fails.push(c);
      console.error(`${c.padEnd(7)} ${s.toFixed(2)} s, floor ${floorS.toFixed(2)} s: ${over.toFixed(2)}x${target ? ` (target <= ${target}x)` : ''}`);
    }
    return {
      name: 'startup',
      values: { runs, ...out },
      target: Object.entries(TARGETS).map(([c, t]) => `${c} --help <= ${t}x node --import tsx`).join('; '),
      pass: fails.length === 0,
    };
  },
});
