import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { RunStore } from '../loop/store.ts';
import { Composition } from '../../protocols/loop/merge.ts';

/**
 * The per-round figures the page charts, read from the run's own records (the files
 * report.md is written from), so the page labels and numbers agree with the report:
 * accuracy per round of this run and of its sibling variants (a demo's `static/`, an
 * ablation's other variants), the trivial baselines when the records carry them, and
 * the composition of each D_j a round trains on.
 */
export const ViewReport = z.object({
  rounds: z.number().int().nullable().describe('rounds of the watched run (its manifest), when known'),
  series: z.array(
    z.object({
      name: z.string(),
      current: z.boolean().describe('the watched run (the others are its siblings)'),
      points: z.array(z.object({ round: z.number().int(), accuracy: z.number(), n: z.number().int(), se: z.number().describe('binomial standard error of the accuracy on n test items') })),
    }),
  ),
  baselines: z.array(z.object({ name: z.string(), value: z.number() })),
  byKind: z.array(z.object({ name: z.string(), points: z.array(z.object({ round: z.number().int(), accuracy: z.number(), n: z.number().int(), se: z.number() })) })).describe('the watched run\'s accuracy per skill (when its samples carry skills) or per kind of sample (single, parallel, …), per round'),
  composition: z.array(z.object({ round: z.number().int().min(1), parts: z.record(z.string(), z.number()) })),
});
export type ViewReport = z.infer<typeof ViewReport>;

// What report.ts needs of an eval record; extra fields (baselines, added later by others) pass through.
const KindFigures = z.record(z.string(), z.object({ n: z.number().int(), accuracy: z.number() }));
const Est = z.looseObject({ n: z.number().int(), value: z.number() });
const FiguresFile = z.looseObject({ callDecision: Est, exactCall: Est, bySkill: z.record(z.string(), z.looseObject({ toolMatch: Est })).optional() });
const EvalFile = z.looseObject({
  round: z.number().int().min(0),
  bfcl: z.looseObject({ overall: z.number().nullable(), categories: z.record(z.string(), z.looseObject({ n: z.number().int() })) }).optional(),
  test: z.looseObject({ n: z.number().int(), accuracy: z.number(), byKind: KindFigures.optional() }),
  validation: z.looseObject({ n: z.number().int(), accuracy: z.number() }).optional(),
  figures: FiguresFile.optional(),
});

const point = (round: number, accuracy: number, n: number) => ({ round, accuracy, n, se: n > 0 ? Math.sqrt((accuracy * (1 - accuracy)) / n) : 0 });
const ManifestFile = z.looseObject({ rounds: z.number().int(), variant: z.string().optional() });

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

function roundDirs(dir: string): number[] {
  try {
    return new RunStore(dir).rounds();
  } catch {
    return [];
  }
}

function evals(dir: string): z.infer<typeof EvalFile>[] {
  return roundDirs(dir)
    .map((j) => EvalFile.safeParse(readJson(join(dir, `round-${j}`, 'eval.json'))))
    .filter((r) => r.success)
    .map((r) => r.data);
}

const BASELINE_KEY = /^(never|always)[-_ ]?(call|calls|tool|tools)?$|^(never|always)(Call|Calls)$/i;

/**
 * The trivial baselines (never call / always call) wherever an eval record puts them: a
 * `baselines` object, or keys named like them, as a number or an `{ accuracy }` object.
 */
export function baselinesOf(record: unknown, depth = 0): { name: string; value: number }[] {
  if (!record || typeof record !== 'object' || Array.isArray(record) || depth > 3) return [];
  const out: { name: string; value: number }[] = [];
  for (const [k, v] of Object.entries(record as Record<string, unknown>)) {
    const value = typeof v === 'number' ? v : v && typeof v === 'object' && typeof (v as { accuracy?: unknown }).accuracy === 'number' ? (v as { accuracy: number }).accuracy : undefined;
    if (BASELINE_KEY.test(k) && value !== undefined && Number.isFinite(value)) out.push({ name: k.replace(/[-_ ]?(calls?|tools?)$/i, '').toLowerCase() + ' call', value });
    else if (k === 'baselines' && v && typeof v === 'object') {
      for (const [bk, bv] of Object.entries(v as Record<string, unknown>)) {
        const bvalue = typeof bv === 'number' ? bv : bv && typeof bv === 'object' && typeof (bv as { accuracy?: unknown }).accuracy === 'number' ? (bv as { accuracy: number }).accuracy : undefined;
        if (bvalue !== undefined && Number.isFinite(bvalue)) out.push({ name: bk.replace(/[-_]/g, ' '), value: bvalue });
      }
    } else if (v && typeof v === 'object') out.push(...baselinesOf(v, depth + 1));
  }
  return out;
}

function series(records: readonly z.infer<typeof EvalFile>[], name: string, current: boolean): ViewReport['series'][number] {
  return {
    name,
    current,
    points: records.map((e) => point(e.round, e.test.accuracy, e.test.n)),
  };
}

/** The run's validation split per round as a curve of its own, when the run drew one (loop.eval.validationSize). */
function validationSeries(records: readonly z.infer<typeof EvalFile>[], name: string): ViewReport['series'] {
  const points = records.flatMap((e) => (e.validation ? [point(e.round, e.validation.accuracy, e.validation.n)] : []));
  return points.length ? [{ name: `${name} (validation split)`, current: false, points }] : [];
}

/** A loop run directory is one with a manifest; its siblings with one are the other variants of a demo or an ablation. */
export function readViewReport(dir: string): ViewReport {
  const manifest = ManifestFile.safeParse(readJson(join(dir, 'manifest.json')));
  const rounds = manifest.success ? manifest.data.rounds : null;
  // one read of the watched run's eval files per request: every curve below comes from it
  const records = evals(dir);
  const all = [series(records, basename(dir), true), ...validationSeries(records, basename(dir))];
  const parent = dirname(dir);
  if (existsSync(join(parent, 'manifest.json')) === false) {
    let siblings: string[] = [];
    try {
      siblings = readdirSync(parent).filter((d) => join(parent, d) !== dir && existsSync(join(parent, d, 'manifest.json')));
    } catch {
      siblings = [];
    }
    for (const s of siblings.sort()) all.push(series(evals(join(parent, s)), s, false));
  }
  // The baselines of the newest round that has them (they do not depend on the policy).
  let baselines: ViewReport['baselines'] = [];
  for (const r of records) {
    const b = baselinesOf(r);
    if (b.length) baselines = b;
  }
  // What the watched run's accuracy is made of: calling exactly when a call is due, and the calls themselves.
  for (const [label, key] of [['call decision', 'callDecision'], ['exact call', 'exactCall']] as const) {
    const points = records.filter((r) => r.figures).map((r) => point(r.round, r.figures![key].value, r.figures![key].n));
    if (points.length) all.push({ name: `${basename(dir)} · ${label}`, current: false, points });
  }
  // BFCL v3 each round, when the run evaluates on it (loop.eval.bfcl), beside the simulated split.
  const bfcl = records.filter((r) => r.bfcl && r.bfcl.overall !== null).map((r) => point(r.round, r.bfcl!.overall!, Object.values(r.bfcl!.categories).reduce((a, c) => a + c.n, 0)));
  if (bfcl.length) all.push({ name: `${basename(dir)} · BFCL v3`, current: false, points: bfcl });
  // Skills when the samples carry them (they say more than the kinds), else kinds.
  const withSkills = records.some((r) => Object.keys(r.figures?.bySkill ?? {}).some((k) => !(k in (r.test.byKind ?? {}))));
  const kinds = new Map<string, ViewReport['byKind'][number]['points']>();
  for (const r of records) {
    const groups = withSkills
      ? Object.entries(r.figures?.bySkill ?? {}).map(([name, f]) => [name, { n: f.toolMatch.n, accuracy: f.toolMatch.value }] as const)
      : Object.entries(r.test.byKind ?? {});
    for (const [kind, k] of groups) {
      if (!kinds.has(kind)) kinds.set(kind, []);
      kinds.get(kind)!.push(point(r.round, k.accuracy, k.n));
    }
  }
  const byKind = [...kinds].sort(([a], [b]) => a.localeCompare(b)).map(([name, points]) => ({ name, points }));
  const composition: ViewReport['composition'] = [];
  // D_j for the rounds that train on it: D_{rounds+1}, merged after the last round, trains nothing.
  for (const j of roundDirs(dir)) {
    if (j < 1 || (rounds !== null && j > rounds)) continue;
    const c = Composition.safeParse(readJson(join(dir, `round-${j}`, 'composition.json')));
    if (c.success) composition.push({ round: j, parts: { ...c.data.parts } });
  }
  return { rounds, series: all.filter((s) => s.points.length > 0 || s.current), baselines, byKind, composition };
}
