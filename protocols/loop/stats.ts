import { z } from 'zod';

/**
 * The uncertainty that goes with every figure we print (issue 12): a binomial standard
 * error for an accuracy measured on n items, and Student-t 95 % intervals for a mean over
 * seeds and for paired differences between variants run on the same seeds. Pure
 * arithmetic, no dependencies, so reports, the ablation table and tests share one copy.
 */

/** An accuracy with its standard error: value = k / n, se = sqrt(p (1 − p) / n); both 0 for n = 0. */
export const Estimate = z.object({
  n: z.number().int().min(0),
  k: z.number().int().min(0),
  value: z.number(),
  se: z.number().min(0),
});
export type Estimate = z.infer<typeof Estimate>;

export function proportion(k: number, n: number): Estimate {
  if (n <= 0) return { n: 0, k: 0, value: 0, se: 0 };
  const p = k / n;
  return { n, k, value: p, se: Math.sqrt((p * (1 - p)) / n) };
}

// Two-sided 97.5 % quantiles of Student's t for df = 1..30; beyond that the normal's 1.96
// is within 0.04 of the truth, which is finer than any seed count we run.
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074,
  2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** A quantile of Student's t read from its table for `df` = 1..30, the normal's beyond. */
function tabulated(name: string, table: readonly number[], normal: number, df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`${name}: degrees of freedom must be a positive integer, got ${df}`);
  return df <= table.length ? table[df - 1]! : normal;
}

/** The t quantile a 95 % two-sided interval uses with `df` degrees of freedom. */
export function t975(df: number): number {
  return tabulated('t975', T975, 1.96, df);
}

// One-sided 80 % quantiles of Student's t for df = 1..30; beyond that the normal's 0.842.
const T80 = [
  1.376, 1.061, 0.978, 0.941, 0.92, 0.906, 0.896, 0.889, 0.883, 0.879, 0.876, 0.873, 0.87, 0.868, 0.866, 0.865, 0.863, 0.862, 0.861, 0.86, 0.859, 0.858,
  0.858, 0.857, 0.856, 0.856, 0.855, 0.855, 0.854, 0.854,
];

/** The t quantile below which 80 % of Student's t with `df` degrees of freedom lies. */
export function t80(df: number): number {
  return tabulated('t80', T80, 0.842, df);
}

/**
 * The smallest true mean that values of this spread and number would show, 4 times in 5,
 * as an interval above zero (power 0.8, two-sided 5 %): (t975 + t80) · sd / √n. It says
 * whether an interval holding zero rules a gain out or only fails to see it. This is the
 * usual approximation that leaves out the non-central t; with 5 seeds it is within a few
 * per cent of a simulation (test/loop/measurement.test.ts). Null with fewer than 2 values.
 */
export function detectableEffect(c: MeanCi): number | null {
  if (c.sd === null || c.n < 2) return null;
  return ((t975(c.n - 1) + t80(c.n - 1)) * c.sd) / Math.sqrt(c.n);
}

/** Mean over seeds with its 95 % interval (null bounds with a single value: one seed says nothing about spread). */
export const MeanCi = z.object({
  n: z.number().int().min(0),
  mean: z.number(),
  sd: z.number().nullable(),
  lo: z.number().nullable(),
  hi: z.number().nullable(),
});
export type MeanCi = z.infer<typeof MeanCi>;

export function meanCi(xs: readonly number[]): MeanCi {
  const n = xs.length;
  if (n === 0) return { n, mean: 0, sd: null, lo: null, hi: null };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { n, mean, sd: null, lo: null, hi: null };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const half = (t975(n - 1) * sd) / Math.sqrt(n);
  return { n, mean, sd, lo: mean - half, hi: mean + half };
}

/** a_i − b_i over the seeds both ran, with its 95 % interval: the paired comparison the seeds allow. */
export function pairedDiff(a: readonly number[], b: readonly number[]): MeanCi {
  if (a.length !== b.length) throw new RangeError(`pairedDiff: ${a.length} values against ${b.length}; pair them by seed first`);
  return meanCi(a.map((x, i) => x - b[i]!));
}

/** A difference of two accuracies measured on the same items, with its 95 % interval. */
export const PairedProportionDiff = z.object({
  n: z.number().int().min(0).describe('items both answered'),
  onlyA: z.number().int().min(0).describe('items only the first got right'),
  onlyB: z.number().int().min(0).describe('items only the second got right'),
  value: z.number().describe('accuracy of the first minus the second (onlyA − onlyB) / n'),
  se: z.number().min(0),
  lo: z.number().nullable(),
  hi: z.number().nullable(),
});
export type PairedProportionDiff = z.infer<typeof PairedProportionDiff>;

/**
 * a − b for two policies answering the same n items: only the items where they disagree
 * move it, so its error is far smaller than two independent accuracies' would be. `se` is
 * the plain one of the per-item differences (values −1, 0, 1): ((onlyA + onlyB)/n − d²)/n
 * under the root. The interval is Agresti and Min's (2005): the same formula after adding
 * 0.5 to each cell of the 2 × 2 table, clamped to [−1, 1]. The plain interval collapses to
 * a point when every item moved one way (18 of 18: −100 [−100, −100]) and overshoots ±1
 * on a few items; the adjusted one keeps near 95 % coverage there. It measures the test
 * items' uncertainty for these two trained policies only; another training seed moves a gap
 * by more (issue 12: sd ≈ 16 points between seeds), which only `ablate --seeds` measures.
 */
export function pairedProportionDiff(onlyA: number, onlyB: number, n: number): PairedProportionDiff {
  if (!Number.isInteger(onlyA) || !Number.isInteger(onlyB) || !Number.isInteger(n) || onlyA < 0 || onlyB < 0 || onlyA + onlyB > n)
    throw new RangeError(`pairedProportionDiff: expected counts with onlyA + onlyB <= n, got ${onlyA}, ${onlyB} of ${n}`);
  if (n === 0) return { n, onlyA, onlyB, value: 0, se: 0, lo: null, hi: null };
  const spread = (b: number, c: number, m: number) => {
    const d = (b - c) / m;
    return { d, se: Math.sqrt(Math.max(0, (b + c) / m - d * d) / m) };
  };
  const plain = spread(onlyA, onlyB, n);
  const adj = spread(onlyA + 0.5, onlyB + 0.5, n + 2);
  const clamp = (x: number) => Math.min(1, Math.max(-1, x));
  return { n, onlyA, onlyB, value: plain.d, se: plain.se, lo: clamp(adj.d - 1.959964 * adj.se), hi: clamp(adj.d + 1.959964 * adj.se) };
}

// 2.5 % and 97.5 % quantiles of the chi-square distribution for df = 1..30; beyond that the
// Wilson–Hilferty approximation, within 0.1 % there.
const CHI2_025 = [
  0.000982, 0.0506, 0.2158, 0.4844, 0.8312, 1.2373, 1.6899, 2.1797, 2.7004, 3.247, 3.8157, 4.4038, 5.0088, 5.6287, 6.2621, 6.9077, 7.5642, 8.2307, 8.9065,
  9.5908, 10.2829, 10.9823, 11.6886, 12.4012, 13.1197, 13.8439, 14.5734, 15.3079, 16.0471, 16.7908,
];
const CHI2_975 = [
  5.024, 7.378, 9.348, 11.143, 12.833, 14.449, 16.013, 17.535, 19.023, 20.483, 21.92, 23.337, 24.736, 26.119, 27.488, 28.845, 30.191, 31.526, 32.852, 34.17,
  35.479, 36.781, 38.076, 39.364, 40.646, 41.923, 43.195, 44.461, 45.722, 46.979,
];

function chi2(table: readonly number[], z: number, df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`chi-square: degrees of freedom must be a positive integer, got ${df}`);
  if (df <= table.length) return table[df - 1]!;
  const c = 2 / (9 * df);
  return df * (1 - c + z * Math.sqrt(c)) ** 3;
}

/**
 * The 95 % interval of a standard deviation estimated from n values (normal values
 * assumed): sd · √((n−1)/χ²). With 3–6 replicates it spans from about half to two or
 * three times the estimate, which is why a handful of replicates cannot tell two
 * settings' spreads apart. Null with fewer than 2 values.
 */
export function sdInterval(c: MeanCi): { lo: number; hi: number } | null {
  if (c.sd === null || c.n < 2) return null;
  const df = c.n - 1;
  return { lo: c.sd * Math.sqrt(df / chi2(CHI2_975, 1.959964, df)), hi: c.sd * Math.sqrt(df / chi2(CHI2_025, -1.959964, df)) };
}
