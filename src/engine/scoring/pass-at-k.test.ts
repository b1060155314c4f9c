import { test } from 'node:test';
import assert from 'node:assert/strict';
import { passAtK, passAtKValues } from './pass-at-k.js';

function combinations(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

test('pass@k equals 1 - C(n-c,k)/C(n,k)', () => {
  for (const [n, c, k] of [
    [10, 3, 1],
    [10, 3, 5],
    [20, 1, 10],
    [5, 0, 2],
    [7, 7, 3],
  ]) {
    const expected = n - c < k ? 1 : 1 - combinations(n - c, k) / combinations(n, k);
    assert.ok(Math.abs(passAtK(n, c, k) - expected) < 1e-12, `n=${n} c=${c} k=${k}`);
  }
  assert.equal(passAtK(1, 1, 1), 1);
  assert.equal(passAtK(1, 0, 1), 0);
  assert.equal(passAtK(4, 1, 1), 0.25);
});

test('pass@k rejects k > n and bad counts', () => {
  assert.throws(() => passAtK(2, 1, 3), /at least 3 samples/);
  assert.throws(() => passAtK(2, 3, 1), RangeError);
});

test('k values are limited to n', () => {
  assert.deepEqual(passAtKValues(undefined, 5), [1]);
  assert.deepEqual(passAtKValues([10, 1, 5, 5], 5), [1, 5]);
  assert.deepEqual(passAtKValues(10, 1), [1]);
});
