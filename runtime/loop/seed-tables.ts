import { addSignals, ByPart } from '../../protocols/loop/metrics.ts';
import type { RoundEval } from '../../protocols/loop/records.ts';
import { callPart, formatCi, formatPoints, textPart, type AblationSummary, type SeedFigures } from '../../protocols/loop/ablation.ts';
import { meanCi, pairedDiff } from '../../protocols/loop/stats.ts';
import { alignTable } from './report.ts';

/**
 * Tables over the seeds of an `ablate --seeds` run (or several pooled), one column per
 * variant: what `demo`, `ablate` and ablation.md print beside the summary.
 */

export type SeedColumn = { name: string; bySeed: Map<string, readonly RoundEval[]> };

/** One column per variant of a seeds run (`ablateSeeds`), each variant's evaluations by seed; `name` renames a variant. */
export function seedColumns(r: { seeds: { seed: string; rows: { variant: string; evals: RoundEval[] }[] }[] }, variants: readonly string[], name: (v: string) => string = (v) => v): SeedColumn[] {
  return variants.map((v) => ({ name: name(v), bySeed: new Map(r.seeds.flatMap((d) => d.rows.filter((x) => x.variant === v).map((x) => [d.seed, x.evals] as const))) }));
}

const seedsOf = (columns: readonly SeedColumn[]) => [...new Set(columns.flatMap((c) => [...c.bySeed.keys()]))];

/** The paired difference of the first column to the second over the seeds both have a value for, or null. */
function firstMinusSecond(columns: readonly SeedColumn[], seeds: readonly string[], value: (c: SeedColumn, seed: string) => number | undefined) {
  if (columns.length < 2) return null;
  const paired = seeds.filter((s) => value(columns[0]!, s) !== undefined && value(columns[1]!, s) !== undefined);
  return paired.length
    ? pairedDiff(
        paired.map((s) => value(columns[0]!, s)!),
        paired.map((s) => value(columns[1]!, s)!),
      )
    : null;
}

/** A figure of a round's evaluation and its never-call floor: the test split's ToolMatch, or BFCL's overall. */
export type RoundMetric = { value: (e: RoundEval) => number | undefined; floor: (e: RoundEval) => number | undefined };
export const TEST_ACCURACY: RoundMetric = { value: (e) => e.test.accuracy, floor: (e) => e.figures?.neverCall.value };
export const BFCL_OVERALL: RoundMetric = { value: (e) => e.bfcl?.overall ?? undefined, floor: (e) => e.bfcl?.neverCall };

/**
 * Accuracy per round over seeds (or another `metric`): each column's mean ± 95 %
 * half-width, the paired difference of the first column to the second, and the never-call
 * floor. Rounds where no column has the figure are left out.
 */
export function seedRoundsTable(columns: readonly SeedColumn[], metric: RoundMetric = TEST_ACCURACY): string {
  const seeds = seedsOf(columns);
  const at = (c: SeedColumn, seed: string, r: number) => c.bySeed.get(seed)?.find((e) => e.round === r);
  const rounds = [...new Set(columns.flatMap((c) => [...c.bySeed.values()].flatMap((e) => e.filter((x) => metric.value(x) !== undefined).map((x) => x.round))))].sort((a, b) => a - b);
  const value = (c: SeedColumn, s: string, r: number) => {
    const e = at(c, s, r);
    return e ? metric.value(e) : undefined;
  };
  const cells = (r: number): string[] => {
    const out = columns.map((c) => formatCi(meanCiOf(seeds.map((s) => value(c, s, r)))));
    if (columns.length >= 2) out.push(formatCi(firstMinusSecond(columns, seeds, (c, s) => value(c, s, r)), true));
    out.push(formatCi(meanCiOf(seeds.map((s) => { const e = at(columns[0]!, s, r); return e ? metric.floor(e) : undefined; }))));
    return out;
  };
  const head = ['round', ...columns.map((c) => c.name), ...(columns.length >= 2 ? [`${columns[0]!.name} − ${columns[1]!.name}`] : []), 'never call'];
  const body = rounds.map((r) => [String(r), ...cells(r)]);
  return alignTable(head, body);
}

/**
 * ToolMatch and exact calls per skill, mean over seeds: the starting policy (round 0 of
 * the first column, shared by every variant of a seed), each column's last round, the
 * paired difference of the first column's last round to the second's, and the never-call
 * floor. Set beside the start, it says which skills training moved at all: a loop can
 * only beat static on a skill that some training moves.
 */
export function seedSkillTable(columns: readonly SeedColumn[]): string {
  const seeds = seedsOf(columns);
  const lastOf = (c: SeedColumn, s: string) => c.bySeed.get(s)?.at(-1)?.figures;
  const startOf = (s: string) => columns[0]!.bySeed.get(s)?.find((e) => e.round === 0)?.figures;
  const skills = [...new Set(columns.flatMap((c) => seeds.flatMap((s) => Object.keys(lastOf(c, s)?.bySkill ?? {}))))];
  const head = [
    'skill',
    'n/seed',
    'start',
    ...columns.flatMap((c) => [`${c.name} ToolMatch`, `${c.name} exact call`]),
    ...(columns.length >= 2 ? [`${columns[0]!.name} − ${columns[1]!.name}`] : []),
    'never call',
  ];
  const body = skills.map((k) => {
    const n = meanCiOf(seeds.map((s) => lastOf(columns[0]!, s)?.bySkill[k]?.n));
    // a skill some seeds' worlds cannot serve has no interval over seeds: say so beside n
    const where = n.n && n.n < seeds.length ? ` (${n.n} of ${seeds.length} seeds)` : '';
    return [
      k,
      n.n ? `${n.mean.toFixed(0)}${where}` : '–',
      formatCi(meanCiOf(seeds.map((s) => startOf(s)?.bySkill[k]?.toolMatch.value))),
      ...columns.flatMap((c) => [
        formatCi(meanCiOf(seeds.map((s) => lastOf(c, s)?.bySkill[k]?.toolMatch.value))),
        formatCi(meanCiOf(seeds.map((s) => { const f = lastOf(c, s)?.bySkill[k]; return f && f.exactCall.n ? f.exactCall.value : undefined; }))),
      ]),
      ...(columns.length >= 2 ? [formatCi(firstMinusSecond(columns, seeds, (c, s) => lastOf(c, s)?.bySkill[k]?.toolMatch.value), true)] : []),
      formatCi(meanCiOf(seeds.map((s) => lastOf(columns[0]!, s)?.bySkill[k]?.neverCall.value))),
    ];
  });
  return alignTable(head, body);
}

/**
 * What the last round's GRPO could learn from, by part of D_j, summed over seeds: groups
 * with mixed rewards (a learning signal) out of all groups, and the mean rollout reward.
 */
export function seedSignalTable(columns: readonly SeedColumn[]): string {
  const rows = columns.flatMap((c) => {
    const lasts = [...c.bySeed.values()].map((evals) => ByPart.safeParse(evals.at(-1)?.train?.by_part)).flatMap((r) => (r.success ? [r.data] : []));
    return Object.entries(addSignals(lasts)).map(([part, t]) => [c.name, part, String(t.groups), `${t.withSignal} (${t.groups ? ((100 * t.withSignal) / t.groups).toFixed(0) : 0}%)`, t.reward.toFixed(2)]);
  });
  return alignTable(['curve', 'part of D_j', 'groups', 'with signal', 'mean reward'], rows);
}

/**
 * The variant a summary compares with its reference (the first that is not the
 * reference) and the reference itself: the columns of the per-skill table, which would
 * not fit a terminal with every variant.
 */
function comparedColumns(s: AblationSummary, columns: readonly SeedColumn[]): SeedColumn[] {
  const first = columns.find((c) => c.name !== s.reference);
  const ref = columns.find((c) => c.name === s.reference);
  return [first, ref].filter((c): c is SeedColumn => c !== undefined);
}

/**
 * The compared pair seed by seed at its last round, in %: the starting policy, each
 * curve's ToolMatch, the never-call floor, the first's lead over the second and that lead
 * split into the points won on requests labelled with a call and on those labelled with
 * text (they add up to the lead), exact calls, answers cut off (in a repetition loop), and
 * each round's share of no-call labels in D_j (%): which side of the call decision each
 * round trained. The summary's intervals rest on these rows; a reader checks one seed here.
 */
export function seedPairTable(s: AblationSummary, pair: readonly string[], unit: 'seeds' | 'replicates' = 'seeds'): string {
  const [a, b] = pair.map((name) => s.variants.find((v) => v.variant === name));
  if (!a || !b) return '–';
  const minus = (x: number | null, y: number | null) => (x === null || y === null ? null : x - y);
  const shares = (f: SeedFigures) => (f.noCallShares.length ? f.noCallShares.map((x) => (x === null ? '–' : (100 * x).toFixed(0))).join(' ') : '–');
  const cut = (f: SeedFigures) => `${formatPoints(f.cutOff)}${f.cutOffLooping !== null ? ` (${formatPoints(f.cutOffLooping)})` : ''}`;
  const head = [
    unit === 'seeds' ? 'seed' : 'replicate',
    'start',
    a.variant,
    b.variant,
    'never call',
    `${a.variant} − ${b.variant}`,
    'on calls',
    'on text',
    `exact call ${a.variant} / ${b.variant}`,
    `cut off (in loops) ${a.variant} / ${b.variant}`,
    `no-call labels in D_1… ${a.variant} / ${b.variant}`,
  ];
  const body = a.perSeed.flatMap((fa) => {
    const fb = b.perSeed.find((f) => f.seed === fa.seed);
    if (!fb) return [];
    return [
      [
        fa.seed,
        formatPoints(fa.start?.accuracy),
        formatPoints(fa.accuracy),
        formatPoints(fb.accuracy),
        formatPoints(fa.neverCall),
        formatPoints(fa.accuracy - fb.accuracy, true),
        formatPoints(minus(callPart(fa), callPart(fb)), true),
        formatPoints(minus(textPart(fa), textPart(fb)), true),
        `${formatPoints(fa.exactCall)} / ${formatPoints(fb.exactCall)}`,
        `${cut(fa)} / ${cut(fb)}`,
        `${shares(fa)} / ${shares(fb)}`,
      ],
    ];
  });
  return alignTable(head, body);
}

/**
 * The per-skill table of the compared pair and the GRPO signal table of every variant,
 * each under its title; `unit` names what the columns' runs are (replicate sets of
 * `looptool replicate` differ in training's seed, not the world's).
 */
export function seedTablesText(s: AblationSummary, columns: readonly SeedColumn[], unit: 'seeds' | 'replicates' = 'seeds'): string[] {
  const pair = comparedColumns(s, columns);
  const perSeed =
    pair.length === 2
      ? [
          `Per ${unit === 'seeds' ? 'seed' : 'replicate'}, last round, % (${pair[0]!.name} − ${pair[1]!.name} split into points won on requests labelled with a call and with text):`,
          seedPairTable(s, [pair[0]!.name, pair[1]!.name], unit),
          '',
        ]
      : [];
  const bfcl = columns.some((c) => [...c.bySeed.values()].some((evals) => evals.some((e) => e.bfcl?.overall != null)))
    ? [
        `BFCL v3 per round, mean % over ${unit} (loop.eval.bfcl: the leaderboard checker, the unweighted mean over its categories)${pair.length === 2 ? `, ${pair[0]!.name} − ${pair[1]!.name} paired` : ''}:`,
        seedRoundsTable(pair.length === 2 ? pair : columns, BFCL_OVERALL),
        '',
      ]
    : [];
  return [
    ...perSeed,
    ...bfcl,
    `By skill, mean % over ${unit}: the starting policy, then each curve's last round${pair.length === 2 ? ` and ${pair[0]!.name} − ${pair[1]!.name} paired over ${unit}` : ''}:`,
    pair.length ? seedSkillTable(pair) : '–',
    '',
    `What the last round's GRPO could learn from, by part of D_j (summed over ${unit}; a group whose rollouts all got the same reward teaches nothing):`,
    seedSignalTable(columns),
  ];
}

function meanCiOf(xs: (number | undefined)[]) {
  return meanCi(xs.filter((x): x is number => x !== undefined));
}
