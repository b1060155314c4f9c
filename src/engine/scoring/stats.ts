import type { Score, ScoreStats } from '../types.js';

/**
 * Statistics of a list of values as upstream's results.yml carries them: variance and stddev are
 * population values; stderr is the standard error of the mean from the sample (n - 1) variance,
 * sqrt(variance * n / (n - 1)) / sqrt(n) = stddev / sqrt(n - 1) (0 when n <= 1), as lm-evaluation-harness
 * and upstream's simple-evals results give it (engine-spec 6.3: mean 0.4 of 10 0/1 scores has stddev
 * 0.4899 and stderr 0.1633).
 */
export function computeStats(values: readonly number[]): Required<ScoreStats> {
  const count = values.length;
  if (count === 0) {
    return { count: 0, sum: 0, sum_squared: 0, min: 0, max: 0, mean: 0, variance: 0, stddev: 0, stderr: 0 };
  }
  let sum = 0;
  let sumSquared = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    sum += v;
    sumSquared += v * v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = sum / count;
  let squaredDeviations = 0;
  for (const v of values) squaredDeviations += (v - mean) * (v - mean);
  const variance = squaredDeviations / count;
  const stddev = Math.sqrt(variance);
  const stderr = count > 1 ? Math.sqrt(squaredDeviations / (count - 1) / count) : 0;
  return { count, sum, sum_squared: sumSquared, min, max, mean, variance, stddev, stderr };
}

/** A results.yml score: value = mean, stats = count/mean/stddev/stderr (plus sum/min/max/variance). */
export function scoreFromValues(values: readonly number[]): Score {
  const s = computeStats(values);
  return { value: s.mean, stats: s };
}

/** Mean of a list (0 for an empty list). */
export function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}
