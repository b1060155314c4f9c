import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractAccuracyMetrics, filterMetrics } from './metrics.js';
import { NelError } from '../common/errors.js';

test('metrics flatten tasks and nested groups with score and stat suffixes', () => {
  const results = {
    results: {
      groups: {
        mmlu: {
          metrics: { acc: { scores: { acc: { value: 0.5, stats: { stderr: 0.01 } } } } },
          groups: { stem: { metrics: { acc: { scores: { acc: { value: 0.4 } } } } } },
        },
      },
      tasks: {
        gsm8k: {
          metrics: {
            exact_match: { scores: { strict: { value: 0.75 }, flexible: { value: '0.8' } } },
          },
        },
      },
    },
  };
  assert.deepEqual(extractAccuracyMetrics(results), {
    mmlu_acc: 0.5,
    mmlu_acc_stderr: 0.01,
    mmlu_stem_acc: 0.4,
    gsm8k_exact_match_strict: 0.75,
    gsm8k_exact_match_flexible: 0.8,
  });
  assert.deepEqual(extractAccuracyMetrics({}), {});
});

test('a colliding key with a different value is an error; an identical value is fine', () => {
  const same = {
    results: {
      groups: { a: { metrics: { m: { scores: { m: { value: 1 } } } } } },
      tasks: { a: { metrics: { m: { scores: { m: { value: 1 } } } } } },
    },
  };
  assert.deepEqual(extractAccuracyMetrics(same), { a_m: 1 });
  const clash = {
    results: {
      groups: { a: { metrics: { m: { scores: { m: { value: 1 } } } } } },
      tasks: { a: { metrics: { m: { scores: { m: { value: 2 } } } } } },
    },
  };
  assert.throws(
    () => extractAccuracyMetrics(clash),
    (e: unknown) => e instanceof NelError && /collision/.test(e.message),
  );
});

test('filterMetrics keeps keys containing a filter', () => {
  assert.deepEqual(filterMetrics({ a_acc: 1, b_f1: 2 }, ['acc']), { a_acc: 1 });
  assert.deepEqual(filterMetrics({ a_acc: 1 }, []), { a_acc: 1 });
});
