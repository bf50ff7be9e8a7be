import { RunConfig } from '../../protocols/config.ts';
import type { Ablations } from '../../protocols/loop/config.ts';
import type { RoundEval } from '../../protocols/loop/records.ts';
import { intFlag } from './args.ts';
import { UsageError } from './command.ts';
import { readConfigFile } from './config-file.ts';
import { isPresetName, PRESETS } from '../loop/preset.ts';
import { bold, dim, durationText, Progress } from '../terminal.ts';
import type { StageEvent } from '../loop/driver.ts';
import type { PairDone } from '../loop/ablate.ts';
import type { StageProgress } from '../loop/stages/index.ts';

/** What `looptool run`, `resume`, `ablate` and `demo` share: config flags and progress lines. */

/** The most rounds a run may ask for. */
export const MAX_ROUNDS = 64;

export const CONFIG_FLAGS = {
  config: { type: 'string' },
  rounds: { type: 'string' },
  'test-size': { type: 'string' },
  seed: { type: 'string' },
  'no-jglv': { type: 'boolean', default: false },
  'no-edde': { type: 'boolean', default: false },
  'no-hppl': { type: 'boolean', default: false },
  static: { type: 'boolean', default: false },
} as const;

/** The base a --preset names (none without one): the flag's one check, for commands and benches alike. */
export function presetBase(v: { preset?: string; config?: string }): (() => RunConfig) | undefined {
  if (v.preset === undefined) return undefined;
  if (!isPresetName(v.preset)) throw new UsageError(`unknown preset "${v.preset}" (known: ${Object.keys(PRESETS).join(', ')})`);
  if (v.config !== undefined) throw new UsageError('--preset and --config are alternatives: give one');
  return PRESETS[v.preset];
}

/** The run config from --config (else `base`), --seed, --rounds, --test-size and the ablation flags. */
export function configFromFlags(
  v: { config?: string; rounds?: string; 'test-size'?: string; seed?: string; 'no-jglv'?: boolean; 'no-edde'?: boolean; 'no-hppl'?: boolean; static?: boolean },
  base: () => RunConfig = () => RunConfig.parse({}),
): RunConfig {
  const config = v.config ? readConfigFile(v.config) : base();
  if (v.seed !== undefined) {
    if (!v.seed) throw new UsageError('--seed must not be empty');
    config.seed = v.seed;
  }
  config.loop.rounds = intFlag(v.rounds, 'rounds', config.loop.rounds, 0, MAX_ROUNDS);
  config.loop.eval.testSize = intFlag(v['test-size'], 'test-size', config.loop.eval.testSize, 1, 100_000);
  const a: Ablations = { ...config.loop.ablations };
  if (v['no-jglv']) a.jglv = false;
  if (v['no-edde']) a.edde = false;
  if (v['no-hppl']) a.hppl = false;
  if (v.static) a.static = true;
  config.loop.ablations = a;
  return config;
}

const fmt = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : String(v));

/** Progress on stderr: a bar per long stage, a line per finished stage. */
export function consoleProgress(label = '', quiet = false): { onProgress: (p: StageProgress) => void; onStage: (e: StageEvent) => void } {
  let bar: Progress | undefined;
  let key = '';
  const prefix = label ? `${label} ` : '';
  return {
    onProgress(p) {
      if (quiet || p.total <= 1) return;
      const k = `${p.stage}@${p.round}/${p.total}`;
      if (k !== key) {
        bar?.end();
        key = k;
        bar = new Progress(`${prefix}r${p.round} ${p.stage}`, p.total);
      }
      bar!.set(p.done, p.note ?? '');
    },
    onStage(e) {
      if (quiet) return;
      if (e.type === 'start') {
        process.stderr.write(dim(`${prefix}▶ round ${e.round} ${e.stage}\n`));
        return;
      }
      if (bar && key.startsWith(`${e.stage}@${e.round}/`)) {
        bar.end();
        bar = undefined;
        key = '';
      }
      const s = Object.entries(e.summary)
        .filter(([k]) => k !== 'seconds')
        .map(([k, v]) => `${k} ${fmt(v)}`)
        .join(', ');
      process.stderr.write(`${prefix}${bold(`round ${e.round} ${e.stage}`)} ${dim(`${e.seconds.toFixed(1)}s`)} ${s}\n`);
    },
  };
}

const pct = (x: number | undefined) => (x === undefined ? '   –  ' : `${(100 * x).toFixed(1).padStart(5)}%`);

/** Accuracy per round of several runs side by side (one column per run, and one for its validation split when it drew one). */
export function roundsTable(runs: { name: string; evals: RoundEval[] }[]): string {
  const columns = runs.flatMap((c) => [
    { name: c.name, evals: c.evals, value: (e: RoundEval) => e.test.accuracy },
    ...(c.evals.some((e) => e.validation) ? [{ name: `${c.name} validation`, evals: c.evals, value: (e: RoundEval) => e.validation?.accuracy }] : []),
  ]);
  const rounds = [...new Set(runs.flatMap((c) => c.evals.map((e) => e.round)))].sort((a, b) => a - b);
  const w = Math.max(8, ...columns.map((c) => c.name.length));
  const head = `round  ${columns.map((c) => c.name.padStart(w)).join('  ')}`;
  const cell = (c: (typeof columns)[number], r: number) => {
    const e = c.evals.find((x) => x.round === r);
    return pct(e ? c.value(e) : undefined).padStart(w);
  };
  const rows = rounds.map((r) => `${String(r).padStart(5)}  ${columns.map((c) => cell(c, r)).join('  ')}`);
  return [head, ...rows].join('\n');
}

/**
 * One line per finished run of an ablation over seeds, with how long the rest will take:
 * the one progress an ablation of hours prints under --quiet too.
 */
export function pairLine(e: PairDone): string {
  const head = `[${e.done}/${e.total}] ${e.seed} ${e.variant}`;
  const how = !e.ran ? 'done before' : e.status === 'done' ? `done in ${durationText(e.seconds)}` : `${e.status} after ${durationText(e.seconds)}${e.error ? ` (${e.error})` : ''}`;
  const left = e.done === e.total ? '' : e.leftSeconds === null ? '' : `; about ${durationText(e.leftSeconds)} left`;
  return `${head}: ${how}${left}`;
}
