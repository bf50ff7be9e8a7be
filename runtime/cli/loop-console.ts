import { RunConfig } from '../../protocols/config.ts';
import { addSignals, ByPart } from '../../protocols/loop/metrics.ts';
import type { Ablations } from '../../protocols/loop/config.ts';
import type { RoundEval } from '../../protocols/loop/records.ts';
import { formatCi } from '../../protocols/loop/ablation.ts';
import { meanCi, pairedDiff } from '../../protocols/loop/stats.ts';
import { alignTable } from '../loop/report.ts';
import { intFlag } from './args.ts';
import { UsageError } from './command.ts';
import { readConfigFile } from './config-file.ts';
import { bold, dim, Progress } from '../terminal.ts';
import type { StageEvent } from '../loop/driver.ts';
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

/** Accuracy per round of several runs side by side (one column per run). */
export function roundsTable(columns: { name: string; evals: RoundEval[] }[]): string {
  const rounds = [...new Set(columns.flatMap((c) => c.evals.map((e) => e.round)))].sort((a, b) => a - b);
  const w = Math.max(8, ...columns.map((c) => c.name.length));
  const head = `round  ${columns.map((c) => c.name.padStart(w)).join('  ')}`;
  const rows = rounds.map((r) => `${String(r).padStart(5)}  ${columns.map((c) => pct(c.evals.find((e) => e.round === r)?.test.accuracy).padStart(w)).join('  ')}`);
  return [head, ...rows].join('\n');
}

type SeedColumn = { name: string; bySeed: Map<string, RoundEval[]> };

/** One column per variant of a seeds run (`ablateSeeds`), each variant's evaluations by seed; `name` renames a variant. */
export function seedColumns(r: { seeds: { seed: string; rows: { variant: string; evals: RoundEval[] }[] }[] }, variants: readonly string[], name: (v: string) => string = (v) => v): SeedColumn[] {
  return variants.map((v) => ({ name: name(v), bySeed: new Map(r.seeds.flatMap((d) => d.rows.filter((x) => x.variant === v).map((x) => [d.seed, x.evals] as const))) }));
}

/**
 * Accuracy per round over seeds: each column's mean ± 95 % half-width, the paired
 * difference of the first column to the second, and the never-call floor of the splits.
 */
export function seedRoundsTable(columns: SeedColumn[]): string {
  const seeds = [...new Set(columns.flatMap((c) => [...c.bySeed.keys()]))];
  const rounds = [...new Set(columns.flatMap((c) => [...c.bySeed.values()].flatMap((e) => e.map((x) => x.round))))].sort((a, b) => a - b);
  const at = (c: SeedColumn, seed: string, r: number) => c.bySeed.get(seed)?.find((e) => e.round === r);
  const cells = (r: number): string[] => {
    const out = columns.map((c) => formatCi(meanCiOf(seeds.map((s) => at(c, s, r)?.test.accuracy))));
    if (columns.length >= 2) {
      const paired = seeds.filter((s) => at(columns[0]!, s, r) && at(columns[1]!, s, r));
      out.push(paired.length ? formatCi(pairedDiff(paired.map((s) => at(columns[0]!, s, r)!.test.accuracy), paired.map((s) => at(columns[1]!, s, r)!.test.accuracy)), true) : '–');
    }
    out.push(formatCi(meanCiOf(seeds.map((s) => at(columns[0]!, s, r)?.figures?.neverCall.value))));
    return out;
  };
  const head = ['round', ...columns.map((c) => c.name), ...(columns.length >= 2 ? [`${columns[0]!.name} − ${columns[1]!.name}`] : []), 'never call'];
  const body = rounds.map((r) => [String(r), ...cells(r)]);
  return alignTable(head, body);
}

/** Last-round ToolMatch per skill, mean over seeds, for each column. */
export function seedSkillTable(columns: SeedColumn[]): string {
  const seeds = [...new Set(columns.flatMap((c) => [...c.bySeed.keys()]))];
  const lastOf = (c: SeedColumn, s: string) => c.bySeed.get(s)?.at(-1)?.figures;
  const skills = [...new Set(columns.flatMap((c) => seeds.flatMap((s) => Object.keys(lastOf(c, s)?.bySkill ?? {}))))];
  const head = ['skill', 'n/seed', ...columns.flatMap((c) => [`${c.name} ToolMatch`, `${c.name} exact call`]), 'never call'];
  const body = skills.map((k) => {
    const n = meanCiOf(seeds.map((s) => lastOf(columns[0]!, s)?.bySkill[k]?.n));
    // a skill some seeds' worlds cannot serve has no interval over seeds: say so beside n
    const where = n.n && n.n < seeds.length ? ` (${n.n} of ${seeds.length} seeds)` : '';
    return [
      k,
      n.n ? `${n.mean.toFixed(0)}${where}` : '–',
      ...columns.flatMap((c) => [
        formatCi(meanCiOf(seeds.map((s) => lastOf(c, s)?.bySkill[k]?.toolMatch.value))),
        formatCi(meanCiOf(seeds.map((s) => { const f = lastOf(c, s)?.bySkill[k]; return f && f.exactCall.n ? f.exactCall.value : undefined; }))),
      ]),
      formatCi(meanCiOf(seeds.map((s) => lastOf(columns[0]!, s)?.bySkill[k]?.neverCall.value))),
    ];
  });
  return alignTable(head, body);
}

/**
 * What the last round's GRPO could learn from, by part of D_j, summed over seeds: groups
 * with mixed rewards (a learning signal) out of all groups, and the mean rollout reward.
 */
export function seedSignalTable(columns: SeedColumn[]): string {
  const rows = columns.flatMap((c) => {
    const lasts = [...c.bySeed.values()].map((evals) => ByPart.safeParse(evals.at(-1)?.train?.by_part)).flatMap((r) => (r.success ? [r.data] : []));
    return Object.entries(addSignals(lasts)).map(([part, t]) => [c.name, part, String(t.groups), `${t.withSignal} (${t.groups ? ((100 * t.withSignal) / t.groups).toFixed(0) : 0}%)`, t.reward.toFixed(2)]);
  });
  return alignTable(['curve', 'part of D_j', 'groups', 'with signal', 'mean reward'], rows);
}

function meanCiOf(xs: (number | undefined)[]) {
  return meanCi(xs.filter((x): x is number => x !== undefined));
}
