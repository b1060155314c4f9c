import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeStats, scoreFromValues } from './stats.js';

test("population stddev, sample-based stderr: the values of upstream's results.yml example", () => {
  // engine-spec 6.3: value 0.4 over 10 samples, stats {stddev: 0.4898979485566356, stderr: 0.16329931618554522}
  const s = computeStats([1, 0, 1, 0, 0, 1, 0, 0, 1, 0]);
  assert.equal(s.count, 10);
  assert.equal(s.mean, 0.4);
  assert.ok(Math.abs(s.stddev - 0.4898979485566356) < 1e-12);
  assert.ok(Math.abs(s.stderr - 0.16329931618554522) < 1e-12);
  assert.equal(s.min, 0);
  assert.equal(s.max, 1);
  assert.equal(s.sum, 4);
});

test('single value and empty list have zero stderr', () => {
  assert.equal(computeStats([0.5]).stderr, 0);
  assert.equal(computeStats([]).count, 0);
  const score = scoreFromValues([1, 1]);
  assert.equal(score.value, 1);
  assert.equal(score.stats.stddev, 0);
});
