/**
 * Paired statistics for comparing two runs sample by sample: McNemar's exact test for 0/1 scores,
 * a seeded paired bootstrap (percentile interval, and a p-value for scores that are not 0/1).
 */

import { mulberry32 } from '../common/random.js';

/** A small seeded PRNG (mulberry32): uniform floats in [0, 1), reproducible for a given seed. */
export const seededRandom: (seed: number) => () => number = mulberry32;

/** ln(n!) by summing logs (exact enough for the sample counts of an evaluation; cached). */
const logFactCache: number[] = [0];
function logFactorial(n: number): number {
  for (let i = logFactCache.length; i <= n; i++) logFactCache.push(logFactCache[i - 1]! + Math.log(i));
  return logFactCache[n]!;
}

/**
 * McNemar's exact test: the two-sided binomial test of `b` against b + c discordant pairs at p = 1/2
 * (b: A right and B wrong; c: A wrong and B right). p = min(1, 2 * P(X <= min(b, c))), X ~ Bin(b + c, 1/2);
 * the distribution is symmetric, so this equals the sum over outcomes at most as likely as the observed.
 */
export function mcnemarExactP(b: number, c: number): number {
  if (!Number.isInteger(b) || !Number.isInteger(c) || b < 0 || c < 0)
    throw new RangeError(`discordant counts must be whole numbers >= 0 (got ${b}, ${c})`);
  const n = b + c;
  if (n === 0 || b === c) return 1;
  const k = Math.min(b, c);
  const lnN = logFactorial(n) - n * Math.LN2;
  // sum the tail in log space relative to its largest term, so large n neither overflows nor underflows
  const terms: number[] = [];
  for (let i = 0; i <= k; i++) terms.push(lnN - logFactorial(i) - logFactorial(n - i));
  const top = Math.max(...terms);
  const tail = Math.exp(top) * terms.reduce((s, t) => s + Math.exp(t - top), 0);
  return Math.min(1, 2 * tail);
}

/** The q-quantile of sorted values with linear interpolation (numpy's default, "type 7"). */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

export interface BootstrapOptions {
  /** Number of resamples (default 10,000). */
  resamples?: number;
  /** PRNG seed (default 0). */
  seed?: number;
  /** Interval level (default 0.95). */
  level?: number;
}

export interface BootstrapResult {
  /** Observed mean of B - A. */
  diff: number;
  /** Percentile interval of the resampled mean differences. */
  ci: [number, number];
  /**
   * Two-sided p-value for "mean difference = 0": the share of resampled means, centred on the observed
   * mean, at least as far from it as the observed mean is from 0 (with the +1 correction).
   */
  p: number;
}

/** Paired bootstrap over pairs (a[i], b[i]): resample pair indices with replacement. */
export function pairedBootstrap(
  a: readonly number[],
  b: readonly number[],
  opts: BootstrapOptions = {},
): BootstrapResult {
  if (a.length !== b.length) throw new RangeError('paired values must have the same length');
  const n = a.length;
  if (n === 0) return { diff: NaN, ci: [NaN, NaN], p: NaN };
  const R = opts.resamples ?? 10_000;
  const level = opts.level ?? 0.95;
  const d = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    d[i] = b[i]! - a[i]!;
    sum += d[i]!;
  }
  const diff = sum / n;
  const rand = seededRandom(opts.seed ?? 0);
  const means = new Array<number>(R);
  // a tolerance keeps float noise in resampled sums from turning "as extreme" into "less extreme"
  const eps = 1e-12 * Math.max(1, Math.abs(diff));
  let extreme = 0;
  for (let r = 0; r < R; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += d[Math.floor(rand() * n)]!;
    const m = s / n;
    means[r] = m;
    if (Math.abs(m - diff) >= Math.abs(diff) - eps) extreme++;
  }
  means.sort((x, y) => x - y);
  const alpha = (1 - level) / 2;
  return {
    diff,
    ci: [quantileSorted(means, alpha), quantileSorted(means, 1 - alpha)],
    p: Math.min(1, (extreme + 1) / (R + 1)),
  };
}

/** True when every value is exactly 0 or 1. */
export const isBinary = (values: readonly number[]): boolean => values.every((v) => v === 0 || v === 1);

export type PairedMethod = 'mcnemar-exact' | 'paired-bootstrap';

export interface PairedComparison {
  n: number;
  meanA: number;
  meanB: number;
  /** mean(B) - mean(A) over the pairs. */
  diff: number;
  ci: [number, number];
  p: number;
  /** Which test gave `p` (the interval is always the paired bootstrap's). */
  method: PairedMethod;
  /** For 0/1 scores: pairs A right / B wrong (b) and A wrong / B right (c). */
  discordant?: { b: number; c: number };
}

/**
 * Compare paired scores: McNemar's exact p for 0/1 scores (exact, no large-sample approximation),
 * the bootstrap p otherwise; the interval is the paired bootstrap's percentile interval in both cases.
 */
export function comparePaired(
  a: readonly number[],
  b: readonly number[],
  opts: BootstrapOptions = {},
): PairedComparison {
  const n = a.length;
  const meanA = n ? a.reduce((s, x) => s + x, 0) / n : NaN;
  const meanB = n ? b.reduce((s, x) => s + x, 0) / n : NaN;
  const boot = pairedBootstrap(a, b, opts);
  if (n > 0 && isBinary(a) && isBinary(b)) {
    let nb = 0;
    let nc = 0;
    for (let i = 0; i < n; i++) {
      if (a[i] === 1 && b[i] === 0) nb++;
      else if (a[i] === 0 && b[i] === 1) nc++;
    }
    return {
      n,
      meanA,
      meanB,
      diff: (nc - nb) / n,
      ci: boot.ci,
      p: mcnemarExactP(nb, nc),
      method: 'mcnemar-exact',
      discordant: { b: nb, c: nc },
    };
  }
  return { n, meanA, meanB, diff: boot.diff, ci: boot.ci, p: boot.p, method: 'paired-bootstrap' };
}
