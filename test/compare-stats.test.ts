/**
 * The statistics behind `nel compare`: McNemar's exact p against hand-derived values and scipy, the
 * paired bootstrap against scipy's interval, and, on simulated pairs of runs with a known true
 * difference, the interval's coverage and the p-value's behaviour under the null.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  comparePaired,
  mcnemarExactP,
  pairedBootstrap,
  quantileSorted,
  seededRandom,
} from '../src/results/stats.js';

const close = (actual: number, expected: number, rel = 1e-12, what = '') =>
  assert.ok(
    Math.abs(actual - expected) <= rel * Math.max(Math.abs(expected), 1e-300),
    `${what}: ${actual} vs ${expected}`,
  );

test('McNemar exact p: hand-derived cases', () => {
  // b=3, c=10: n=13, P(X<=3) = (1+13+78+286)/2^13 = 378/8192, two-sided 756/8192
  close(mcnemarExactP(3, 10), 756 / 8192, 1e-14, '3,10');
  close(mcnemarExactP(10, 3), 756 / 8192, 1e-14, '10,3');
  // b=0, c=5: 2 * 1/32
  close(mcnemarExactP(0, 5), 2 / 32, 1e-14, '0,5');
  // b=7, c=0: 2 * 1/128
  close(mcnemarExactP(7, 0), 2 / 128, 1e-14, '7,0');
  // b=1, c=2: 2 * (1+3)/8 = 1 (capped)
  assert.equal(mcnemarExactP(1, 2), 1);
  assert.equal(mcnemarExactP(0, 0), 1);
  assert.equal(mcnemarExactP(4, 4), 1);
  assert.throws(() => mcnemarExactP(-1, 2), RangeError);
  assert.throws(() => mcnemarExactP(1.5, 2), RangeError);
});

test('McNemar exact p agrees with scipy.stats.binomtest', () => {
  // Computed once with scipy 1.17.1: binomtest(b, b + c, 0.5).pvalue (two-sided)
  const SCIPY: [number, number, number][] = [
    [3, 10, 0.09228515625],
    [0, 5, 0.0625],
    [10, 25, 0.016673847800120715],
    [50, 70, 0.08240747932752648],
    [240, 290, 0.03320395028038044],
    [1, 1, 1.0],
    [7, 0, 0.015625],
    [400, 520, 8.549170923883781e-5],
  ];
  for (const [b, c, p] of SCIPY) close(mcnemarExactP(b, c), p, 1e-9, `${b},${c}`);
});

test('quantiles interpolate linearly (numpy default)', () => {
  const v = [1, 2, 3, 4, 10];
  assert.equal(quantileSorted(v, 0), 1);
  assert.equal(quantileSorted(v, 1), 10);
  assert.equal(quantileSorted(v, 0.5), 3);
  close(quantileSorted(v, 0.9), 4 + 0.6 * 6, 1e-12, 'q0.9');
});

test('paired bootstrap on fixed data: agrees with scipy percentile bootstrap and t interval', () => {
  const n = 200;
  const a = Array.from({ length: n }, (_, i) => ((i * 37) % 101) / 100);
  const b = a.map((x, i) => Math.min(1, x * 0.8 + ((i * 53 + 11) % 101) / 500 + 0.05));
  // Computed once with scipy 1.17.1 / numpy on the same data:
  //   (b - a).mean() = 0.05004; ttest_rel(b, a).confidence_interval(0.95) = (0.038586, 0.061494);
  //   bootstrap(((b - a),), np.mean, n_resamples=10000, method='percentile', random_state=0)
  //     -> (0.038530, 0.061340); ttest_rel p = 2.15e-15
  const r = pairedBootstrap(a, b, { seed: 1, resamples: 10_000 });
  close(r.diff, 0.05004, 1e-9, 'diff');
  // a different PRNG, so the ends agree to Monte Carlo error only (~0.0005 here)
  assert.ok(Math.abs(r.ci[0] - 0.03853) < 0.0015, `low ${r.ci[0]}`);
  assert.ok(Math.abs(r.ci[1] - 0.06134) < 0.0015, `high ${r.ci[1]}`);
  assert.ok(Math.abs(r.ci[0] - 0.038586) < 0.002 && Math.abs(r.ci[1] - 0.061494) < 0.002);
  // no resample is as far from the mean as 0 is: the smallest p the bootstrap can give
  assert.equal(r.p, 1 / 10_001);
  const c = comparePaired(a, b, { seed: 1 });
  assert.equal(c.method, 'paired-bootstrap');
  assert.equal(c.discordant, undefined);
  // the same seed gives the same interval; another seed a slightly different one
  assert.deepEqual(pairedBootstrap(a, b, { seed: 1 }).ci, r.ci);
  assert.notDeepEqual(pairedBootstrap(a, b, { seed: 2 }).ci, r.ci);
});

test('identical scores: difference 0, interval [0, 0], p = 1 (both tests)', () => {
  const a = [1, 0, 1, 1, 0, 1];
  const m = comparePaired(a, [...a]);
  assert.deepEqual(
    [m.diff, m.ci, m.p, m.method, m.discordant],
    [0, [0, 0], 1, 'mcnemar-exact', { b: 0, c: 0 }],
  );
  const x = [0.5, 0.25, 1, 0.75];
  const r = comparePaired(x, [...x]);
  assert.deepEqual([r.diff, r.ci, r.p, r.method], [0, [0, 0], 1, 'paired-bootstrap']);
});

test('0/1 scores: McNemar on the discordant pairs', () => {
  // 3 pairs A right/B wrong, 10 A wrong/B right, 7 both right, 5 both wrong
  const a = [...Array(3).fill(1), ...Array(10).fill(0), ...Array(7).fill(1), ...Array(5).fill(0)];
  const b = [...Array(3).fill(0), ...Array(10).fill(1), ...Array(7).fill(1), ...Array(5).fill(0)];
  const m = comparePaired(a, b);
  assert.deepEqual(m.discordant, { b: 3, c: 10 });
  close(m.diff, 7 / 25, 1e-12, 'diff');
  close(m.p, 756 / 8192, 1e-14, 'p');
  assert.ok(m.ci[0] < m.diff && m.diff < m.ci[1]);
});

/** Simulated paired runs; `draw` gives one pair from the PRNG. */
function simulate(seed: number, n: number, draw: (rand: () => number) => [number, number]) {
  const rand = seededRandom(seed * 7919 + 13);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < n; i++) {
    const [x, y] = draw(rand);
    a.push(x);
    b.push(y);
  }
  return { a, b };
}

const SEEDS = 200;
// 200 seeds: the coverage's standard error is about 0.015 at 0.95
const COVERAGE = [0.9, 0.985] as const;

for (const [name, truth, draw] of [
  ['independent 0/1 (0.65 vs 0.75)', 0.1, (r: () => number) => [+(r() < 0.65), +(r() < 0.75)]],
  [
    'correlated 0/1 (0.70 vs 0.75)',
    0.05,
    (r: () => number) => {
      const u = r();
      const w = r();
      return [+(u < 0.7), u < 0.7 ? +(w < 0.9) : +(w < 0.4)];
    },
  ],
  [
    'continuous scores',
    0.1,
    (r: () => number) => {
      const x = r();
      return [x, x * 0.5 + r() * 0.5 + 0.1];
    },
  ],
] as [string, number, (r: () => number) => [number, number]][]) {
  test(`coverage: the 95% interval covers the true difference (${name})`, () => {
    let covered = 0;
    for (let s = 0; s < SEEDS; s++) {
      const { a, b } = simulate(s, 200, draw);
      const r = comparePaired(a, b, { seed: s, resamples: 1000 });
      if (r.ci[0] <= truth && truth <= r.ci[1]) covered++;
    }
    const rate = covered / SEEDS;
    console.log(`coverage ${name}: ${rate}`);
    assert.ok(rate >= COVERAGE[0] && rate <= COVERAGE[1], `coverage ${rate}`);
  });
}

test('under the null the p-value is roughly uniform (McNemar: conservative, never anti-conservative)', () => {
  const ps: number[] = [];
  for (let s = 0; s < 400; s++) {
    const { a, b } = simulate(s, 150, (r) => [+(r() < 0.7), +(r() < 0.7)]);
    ps.push(comparePaired(a, b, { seed: s, resamples: 200 }).p);
  }
  const below = (t: number) => ps.filter((p) => p < t).length / ps.length;
  console.log(`mcnemar null: P(p<0.05)=${below(0.05)} P(p<0.2)=${below(0.2)} P(p<0.5)=${below(0.5)}`);
  // the exact test's size is at most alpha (discreteness makes it a little smaller); sd ~0.011 at 0.05
  assert.ok(below(0.05) >= 0.01 && below(0.05) <= 0.08, `size ${below(0.05)}`);
  assert.ok(below(0.2) >= 0.1 && below(0.2) <= 0.27, `P(p<0.2) ${below(0.2)}`);
  assert.ok(below(0.5) >= 0.35 && below(0.5) <= 0.6, `P(p<0.5) ${below(0.5)}`);
});

test('under the null the bootstrap p-value is roughly uniform (continuous scores)', () => {
  const ps: number[] = [];
  for (let s = 0; s < 400; s++) {
    const { a, b } = simulate(s, 100, (r) => {
      const x = r();
      return [x * 0.5 + r() * 0.5, x * 0.5 + r() * 0.5];
    });
    ps.push(comparePaired(a, b, { seed: s, resamples: 1000 }).p);
  }
  const below = (t: number) => ps.filter((p) => p < t).length / ps.length;
  console.log(`bootstrap null: P(p<0.05)=${below(0.05)} P(p<0.2)=${below(0.2)} P(p<0.5)=${below(0.5)}`);
  for (const [t, lo, hi] of [
    [0.05, 0.02, 0.1],
    [0.2, 0.13, 0.28],
    [0.5, 0.4, 0.6],
  ] as const)
    assert.ok(below(t) >= lo && below(t) <= hi, `P(p<${t}) = ${below(t)}`);
});

test('a real difference is detected (power) and flagged by both tests', () => {
  const bin = simulate(1, 500, (r) => [+(r() < 0.6), +(r() < 0.75)]);
  const m = comparePaired(bin.a, bin.b);
  assert.equal(m.method, 'mcnemar-exact');
  assert.ok(m.p < 0.001 && m.ci[0] > 0, JSON.stringify(m));
  const cont = simulate(2, 300, (r) => {
    const x = r();
    return [x, Math.min(1, x + 0.05 * r() + 0.02)];
  });
  const c = comparePaired(cont.a, cont.b);
  assert.ok(c.p < 0.001 && c.ci[0] > 0, JSON.stringify(c));
});
