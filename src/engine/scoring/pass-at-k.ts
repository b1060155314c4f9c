/**
 * Unbiased pass@k estimator (Chen et al. 2021): 1 - C(n-c, k) / C(n, k), computed as a product
 * for numerical stability. n = samples generated, c = samples correct, k <= n.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (
    !Number.isInteger(n) ||
    !Number.isInteger(c) ||
    !Number.isInteger(k) ||
    n < 1 ||
    k < 1 ||
    c < 0 ||
    c > n
  ) {
    throw new RangeError(`pass@k needs integers 0 <= c <= n, 1 <= k (got n=${n}, c=${c}, k=${k})`);
  }
  if (k > n) throw new RangeError(`pass@${k} needs at least ${k} samples per problem (got ${n})`);
  if (n - c < k) return 1;
  let failAll = 1;
  for (let i = n - c + 1; i <= n; i++) failAll *= 1 - k / i;
  return 1 - failAll;
}

/** The k values to report: the requested ones (default [1]) that do not exceed n, sorted, unique. */
export function passAtKValues(requested: unknown, n: number): number[] {
  const list = Array.isArray(requested) ? requested : requested == null ? [1] : [requested];
  const ks = list.map((v) => Number(v)).filter((k) => Number.isInteger(k) && k >= 1 && k <= n);
  const unique = [...new Set(ks)].sort((a, b) => a - b);
  return unique.length > 0 ? unique : [1];
}
