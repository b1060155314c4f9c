import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fmt, median, rotate, summarize } from './stats.js';

test('median of odd and even counts', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('summarize gives min, median, max and count', () => {
  assert.deepEqual(summarize([5, 1, 9]), { min: 1, median: 5, max: 9, n: 3 });
});

test('rotate starts each round with a different contender', () => {
  assert.deepEqual(rotate(['a', 'b', 'c'], 0), ['a', 'b', 'c']);
  assert.deepEqual(rotate(['a', 'b', 'c'], 1), ['b', 'c', 'a']);
  assert.deepEqual(rotate(['a', 'b', 'c'], 4), ['b', 'c', 'a']);
});

test('fmt keeps tables short', () => {
  assert.equal(fmt(12345.6), '12,346');
  assert.equal(fmt(0.1234), '0.123');
  assert.equal(fmt(Number.NaN), 'n/a');
});
