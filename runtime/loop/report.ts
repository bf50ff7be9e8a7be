import { VerifyVerdict } from '../../protocols/roles/judge.ts';
import { RoundEval, type Manifest } from '../../protocols/loop/records.ts';
import type { Composition } from '../../protocols/loop/merge.ts';
import { ByPart } from '../../protocols/loop/metrics.ts';
import { proportion, type Estimate } from '../../protocols/loop/stats.ts';
import { selectedRound } from '../../protocols/loop/ablation.ts';
import { RunStore } from './store.ts';

/**
 * The run report: report.md with accuracy per round, the composition of every D_j, label
 * noise and JGLV against the hidden truth, plus SVG charts drawn by hand (no chart
 * library): accuracy.svg (one line per series) and composition.svg (stacked bars).
 */

export type Series = { name: string; points: { round: number; value: number }[] };

/** Every round's evaluation of a run, in round order. */
export function roundEvals(store: RunStore): RoundEval[] {
  return store
    .rounds()
    .filter((j) => store.exists(`round-${j}/eval.json`))
    .map((j) => store.readJson(`round-${j}/eval.json`, RoundEval));
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const pct = (x: number | null | undefined, digits = 1) => (x === null || x === undefined ? '–' : `${(100 * x).toFixed(digits)}%`);
/** Answers cut off, with those in a repetition loop in brackets (runs before the count: the share alone). */
const cutOffCell = (e: RoundEval) => (!e.cutOff ? '–' : e.cutOffLooping ? `${pct(e.cutOff.value)} (${pct(e.cutOffLooping.value)})` : pct(e.cutOff.value));
/** A plain-text table: the first column left-aligned, the others right-aligned. */
export function alignTable(head: string[], body: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

/** An estimate in percent with its standard error, or – when nothing was measured. */
export const pm = (e: Estimate) => (e.n ? `${(100 * e.value).toFixed(1)} ± ${(100 * e.se).toFixed(1)}` : '–');
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf'];

/** A line chart of accuracy (0..1) per round, one line per series. */
export function accuracySvg(series: Series[], title = 'ToolMatch accuracy on the held-out test split'): string {
  const W = 640;
  const H = 360;
  const m = { l: 56, r: 150, t: 36, b: 44 };
  const all = series.flatMap((s) => s.points);
  const maxRound = Math.max(1, ...all.map((p) => p.round));
  const vals = all.map((p) => p.value);
  let lo = vals.length ? Math.min(...vals) : 0;
  let hi = vals.length ? Math.max(...vals) : 1;
  // a readable band around the data, on 5% steps
  lo = Math.max(0, Math.floor((lo - 0.05) * 20) / 20);
  hi = Math.min(1, Math.ceil((hi + 0.05) * 20) / 20);
  if (hi - lo < 0.1) hi = Math.min(1, lo + 0.1);
  const x = (r: number) => m.l + ((W - m.l - m.r) * r) / maxRound;
  const y = (v: number) => H - m.b - ((H - m.t - m.b) * (v - lo)) / (hi - lo || 1);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${m.l}" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`);
  const steps = Math.round((hi - lo) / 0.05);
  const every = steps > 10 ? 2 : 1;
  for (let i = 0; i <= steps; i += every) {
    const v = lo + i * 0.05;
    out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.l - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${(v * 100).toFixed(0)}%</text>`);
  }
  for (let r = 0; r <= maxRound; r++) {
    out.push(`<line x1="${x(r).toFixed(1)}" x2="${x(r).toFixed(1)}" y1="${H - m.b}" y2="${H - m.b + 4}" stroke="#333"/>`);
    out.push(`<text x="${x(r).toFixed(1)}" y="${H - m.b + 18}" text-anchor="middle">${r}</text>`);
  }
  out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/>`);
  out.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#333"/>`);
  out.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 8}" text-anchor="middle">round (0 = after the warm-up)</text>`);
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const pts = s.points.slice().sort((a, b) => a.round - b.round);
    if (pts.length > 1) out.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.map((p) => `${x(p.round).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) out.push(`<circle cx="${x(p.round).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="3.5" fill="${c}"><title>${esc(s.name)} round ${p.round}: ${pct(p.value)}</title></circle>`);
    const ly = m.t + 10 + i * 18;
    out.push(`<line x1="${W - m.r + 14}" x2="${W - m.r + 34}" y1="${ly}" y2="${ly}" stroke="${c}" stroke-width="2"/>`);
    out.push(`<text x="${W - m.r + 40}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

const PARTS: [keyof Composition['parts'], string, string][] = [
  ['seed', 'seed (D_1)', '#7f7f7f'],
  ['es', 'error seeds', '#d62728'],
  ['ee', 'expansions', '#ff7f0e'],
  ['hppl', 'high-PPL', '#1f77b4'],
  ['seed_new', 'seed-new', '#2ca02c'],
  ['fill', 'fill', '#bcbd22'],
];

/** Stacked bars: the composition of D_j per round. */
export function compositionSvg(rows: { round: number; composition: Composition }[]): string {
  const W = 640;
  const H = 320;
  const m = { l: 56, r: 150, t: 36, b: 44 };
  const max = Math.max(1, ...rows.map((r) => r.composition.budget));
  const bw = Math.min(60, (W - m.l - m.r) / Math.max(1, rows.length) - 12);
  const y = (v: number) => H - m.b - ((H - m.t - m.b) * v) / max;
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`];
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`, `<text x="${m.l}" y="20" font-size="14" font-weight="bold">Composition of D_j (samples)</text>`);
  out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/>`);
  for (const v of [0, Math.round(max / 2), max]) out.push(`<text x="${m.l - 6}" y="${y(v) + 4}" text-anchor="end">${v}</text>`);
  rows.forEach((r, i) => {
    const x0 = m.l + 12 + i * (bw + 12);
    let acc = 0;
    for (const [k, , c] of PARTS) {
      const n = r.composition.parts[k];
      if (!n) continue;
      out.push(`<rect x="${x0}" y="${y(acc + n).toFixed(1)}" width="${bw}" height="${(y(acc) - y(acc + n)).toFixed(1)}" fill="${c}"><title>D_${r.round} ${k}: ${n}</title></rect>`);
      acc += n;
    }
    out.push(`<text x="${x0 + bw / 2}" y="${H - m.b + 18}" text-anchor="middle">D_${r.round}</text>`);
  });
  PARTS.forEach(([, name, c], i) => {
    const ly = m.t + 10 + i * 18;
    out.push(`<rect x="${W - m.r + 14}" y="${ly - 8}" width="12" height="12" fill="${c}"/>`, `<text x="${W - m.r + 32}" y="${ly + 2}">${esc(name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function table(head: string[], rows: (string | number)[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/**
 * One round as the `--json` outputs give it: ToolMatch with its standard error, the call
 * decision and exact-call accuracies, the trivial policies, and BFCL when it ran.
 */
export function roundJson(e: RoundEval) {
  const f = e.figures;
  return {
    round: e.round,
    accuracy: e.test.accuracy,
    n: e.test.n,
    ...(e.validation ? { validation: { accuracy: e.validation.accuracy, n: e.validation.n } } : {}),
    ...(f
      ? {
          se: f.toolMatch.se,
          callDecision: { accuracy: f.callDecision.value, se: f.callDecision.se },
          exactCall: { accuracy: f.exactCall.value, se: f.exactCall.se, n: f.exactCall.n },
          baselines: { neverCall: f.neverCall.value, alwaysCallAtMost: f.alwaysCall.value },
          bySkill: Object.fromEntries(Object.entries(f.bySkill).map(([k, v]) => [k, { n: v.n, accuracy: v.toolMatch.value, se: v.toolMatch.se }])),
        }
      : {}),
    ...(e.cutOff ? { cutOff: e.cutOff.value } : {}),
    ...(e.cutOffLooping ? { cutOffLooping: e.cutOffLooping.value } : {}),
    ...(e.bfcl ? { bfcl: e.bfcl } : {}),
    ...signalJson(e),
  };
}

/** BFCL v3 per round: the overall (the unweighted mean over categories) and each category, ± se where the run kept it. */
function bfclSection(evals: RoundEval[]): string[] {
  const cats = [...new Set(evals.flatMap((e) => Object.keys(e.bfcl!.categories)))];
  const cell = (x: number | null, se: number | undefined) => (x === null ? '–' : se === undefined ? pct(x) : `${(100 * x).toFixed(1)} ± ${(100 * se).toFixed(1)}`);
  const rows = evals.map((e) => [
    e.round,
    cell(e.bfcl!.overall, e.bfcl!.overallSe),
    pct(e.bfcl!.neverCall),
    ...cats.map((c) => (e.bfcl!.categories[c] ? `${cell(e.bfcl!.categories[c]!.accuracy, e.bfcl!.categories[c]!.se)} (${e.bfcl!.categories[c]!.n})` : '–')),
  ]);
  return [
    '### BFCL v3',
    '',
    'The leaderboard checker (FC mode) on the first questions of each category, ± se; the overall is the unweighted mean over categories, beside a policy that never calls (right on irrelevance only). `looptool answers RUN --split bfcl` lists the answers.',
    '',
    table(['round', 'overall', 'never call', ...cats], rows),
    '',
  ];
}

/** The round's GRPO groups by part of D_j (train.json's `by_part`), when it trained. */
function signalJson(e: RoundEval): { signalByPart?: ByPart } {
  const parts = ByPart.safeParse(e.train?.by_part);
  return parts.success ? { signalByPart: parts.data } : {};
}

/** Accuracy per round as a series. */
export function accuracySeries(name: string, evals: RoundEval[]): Series {
  return { name, points: evals.map((e) => ({ round: e.round, value: e.test.accuracy })) };
}

/** The validation split per round beside the test split, and the round it chooses; nothing when the run drew none. */
function validationLines(evals: RoundEval[]): string[] {
  const chosen = selectedRound(evals);
  if (!chosen) return [];
  const last = evals.at(-1)!;
  const of = (a: { correct: number; n: number }) => pm(proportion(a.correct, a.n));
  return [
    '### Validation split',
    '',
    `ToolMatch % ± one standard error. The validation split is held out as the test split is; a round or a setting is chosen on it, never on the test split. It chooses round ${chosen.round} (the highest validation figure, the earliest on a tie), where the test split gives ${pct(chosen.accuracy)}; the last round gives ${pct(last.test.accuracy)}.`,
    '',
    table(['round', 'validation', 'test'], evals.filter((e) => e.validation).map((e) => [e.round, of(e.validation!), of(e.test)])),
    '',
  ];
}

/** The markdown report of one run, optionally beside other runs (e.g. the static baseline). */
export function reportMarkdown(manifest: Manifest, evals: RoundEval[], others: { name: string; evals: RoundEval[] }[] = []): string {
  const lines: string[] = [];
  lines.push(`# looptool run ${manifest.run}`, '');
  lines.push(`Variant **${manifest.variant}** (JGLV ${manifest.ablations.jglv ? 'on' : 'off'}, EDDE ${manifest.ablations.edde ? 'on' : 'off'}, HPPL ${manifest.ablations.hppl ? 'on' : 'off'}${manifest.ablations.static ? ', static' : ''}), ${manifest.rounds} rounds, status ${manifest.status}.`, '');
  lines.push('## Accuracy per round', '', '![accuracy per round](accuracy.svg)', '');
  const names = [manifest.variant, ...others.map((o) => o.name)];
  const maxRound = Math.max(0, ...evals.map((e) => e.round), ...others.flatMap((o) => o.evals.map((e) => e.round)));
  const at = (list: RoundEval[], r: number) => list.find((e) => e.round === r);
  lines.push(
    table(
      ['round', ...names],
      Array.from({ length: maxRound + 1 }, (_, r) => [r, pct(at(evals, r)?.test.accuracy), ...others.map((o) => pct(at(o.evals, r)?.test.accuracy))]),
    ),
    '',
  );
  lines.push(...validationLines(evals));
  const fig = evals.filter((e) => e.figures);
  if (fig.length) {
    lines.push(
      '### What the accuracy is made of',
      '',
      `Percentages ± one standard error. Call decision: called exactly when the reference is a call. Exact call: ToolMatch over the ${fig.at(-1)!.figures!.exactCall.n} samples whose reference is a call. Never call is the ToolMatch of a policy that never calls; always call is an upper bound on the ToolMatch of one that always does. Cut off: answers that reached max_new_tokens; in brackets, those that had fallen into a repetition loop, wrong at any length.`,
      '',
      table(
        ['round', 'ToolMatch', 'call decision', 'exact call', 'never call', 'always call (≤)', 'cut off (in loops)'],
        fig.map((e) => {
          const f = e.figures!;
          return [e.round, pm(f.toolMatch), pm(f.callDecision), pm(f.exactCall), pct(f.neverCall.value), pct(f.alwaysCall.value), cutOffCell(e)];
        }),
      ),
      '',
    );
    const last = fig.at(-1)!;
    const first = fig[0]!;
    const rowsOf = (by: 'bySkill' | 'byKind') =>
      Object.entries(last.figures![by]).map(([name, f]) => {
        const f0 = first.figures![by][name];
        return [name, f.n, f0 ? pm(f0.toolMatch) : '–', pm(f.toolMatch), pm(f.exactCall), pct(f.neverCall.value)];
      });
    lines.push(`### By skill (round ${first.round} → round ${last.round})`, '', table(['skill', 'n', `ToolMatch r${first.round}`, `ToolMatch r${last.round}`, 'exact call', 'never call'], rowsOf('bySkill')), '');
  }
  const kinds = [...new Set(evals.flatMap((e) => Object.keys(e.test.byKind)))];
  if (kinds.length) {
    lines.push('### By sample kind', '', table(['round', ...kinds], evals.map((e) => [e.round, ...kinds.map((k) => (e.test.byKind[k] ? `${pct(e.test.byKind[k]!.accuracy, 0)} (${e.test.byKind[k]!.n})` : '–'))])), '');
  }
  if (evals.some((e) => e.bfcl)) lines.push(...bfclSection(evals.filter((e) => e.bfcl)));
  const comps = evals.filter((e) => e.composition).map((e) => ({ round: e.round, composition: e.composition! }));
  if (comps.length) {
    const anyFresh = comps.some((c) => c.composition.fresh !== undefined);
    const balanced = comps.some((c) => c.composition.balance);
    lines.push('## Composition of D_j', '', '![composition](composition.svg)', '');
    lines.push(
      table(
        ['D_j', 'total', 'seed', 'ES', 'of which corrected', 'EE', 'HPPL', 'seed-new', 'fill', ...(anyFresh ? ['from fresh probes'] : []), 'no-call labels', ...(balanced ? ['no-call target', 'ES+EE left out'] : []), 'duplicates', 'label noise'],
        evals
          .filter((e) => e.composition)
          .map((e) => {
            const c = e.composition!;
            return [`D_${e.round}`, c.total, c.parts.seed, c.parts.es, c.corrected, c.parts.ee, c.parts.hppl, c.parts.seed_new, c.parts.fill, ...(anyFresh ? [c.fresh ?? '–'] : []), c.noCall ?? '–', ...(balanced ? [c.balance?.noCallTarget ?? '–', c.balance?.passedOver ?? '–'] : []), c.duplicates, pct(e.noise?.rate)];
          }),
      ),
      '',
    );
  }
  const signal = evals.flatMap((e) => Object.entries(signalJson(e).signalByPart ?? {}).map(([part, p]) => [e.round, part, p.groups, p.withSignal, pct(p.groups ? p.withSignal / p.groups : undefined, 0), p.reward.toFixed(2)]));
  if (signal.length) {
    lines.push('## GRPO signal by part of D_j', '', 'A prompt group whose rollouts all got the same reward teaches GRPO nothing; this is what each part of the data could teach.', '');
    lines.push(table(['round', 'part', 'groups', 'with signal', 'share', 'mean reward'], signal), '');
  }
  const probe = evals.filter((e) => e.probe);
  if (probe.length) {
    // fresh probes (loop.probe.fresh) get their own columns only in runs that have them
    const fresh = probe.some((e) => e.probe!.fresh);
    const freshCols = (e: RoundEval) => (fresh ? [e.probe!.fresh?.n ?? 0, e.probe!.fresh?.mastered ?? 0] : []);
    lines.push(
      '## Probing and expansion',
      '',
      table(
        ['round', 'probed', 'mastered', ...(fresh ? ['fresh probed', 'fresh mastered'] : []), 'mean PPL', 'error seeds expanded', 'expansions accepted', 'rejected'],
        probe.map((e) => [e.round, e.probe!.n, e.probe!.mastered, ...freshCols(e), e.probe!.meanPpl?.toFixed(3) ?? '–', e.expansion?.seeds ?? 0, e.expansion?.accepted ?? 0, e.expansion?.rejected ?? 0]),
      ),
      '',
    );
  }
  const jg = evals.filter((e) => e.jglv && e.jglv.verified > 0);
  if (jg.length) {
    lines.push('## JGLV against the hidden truth', '');
    lines.push(
      table(
        ['round', 'verified', 'judged LABEL_WRONG', 'correct rewrites', 'precision', 'recall (seen)', 'recall (of D_j noise)', 'agreement'],
        jg.map((e) => {
          const s = e.jglv!;
          return [e.round, s.verified, s.labelWrongJudged, s.corrected, pct(s.precision), pct(s.recall), pct(s.recallOfCorpus), pct(s.agreement)];
        }),
      ),
      '',
    );
    // the confusion table summed over rounds: rows = truth, columns = the judge's verdict
    const V = VerifyVerdict.options;
    const sum: Record<string, Record<string, number>> = Object.fromEntries(V.map((t) => [t, Object.fromEntries(V.map((v) => [v, 0]))]));
    for (const e of jg) for (const t of V) for (const v of V) sum[t]![v]! += e.jglv!.confusion[t]?.[v] ?? 0;
    lines.push('Confusion (all rounds; rows: true verdict, columns: judged):', '', table(['truth \\ judged', ...V], V.map((t) => [t, ...V.map((v) => sum[t]![v]!)])), '');
  }
  lines.push('Files: `round-<j>/` holds each stage\'s output (data, probes, verdicts, expansions, eval); `manifest.json` lists the finished stages with checksums.', '');
  return lines.join('\n');
}

/** Writes report.md, accuracy.svg and composition.svg into the run directory. */
export function writeReport(store: RunStore, manifest: Manifest, others: { name: string; evals: RoundEval[] }[] = []): void {
  const evals = roundEvals(store);
  store.writeText('report.md', reportMarkdown(manifest, evals, others));
  store.writeText('accuracy.svg', accuracySvg([accuracySeries(manifest.variant, evals), ...others.map((o) => accuracySeries(o.name, o.evals))]));
  const comps = evals.filter((e) => e.composition).map((e) => ({ round: e.round, composition: e.composition! }));
  if (comps.length) store.writeText('composition.svg', compositionSvg(comps));
}
