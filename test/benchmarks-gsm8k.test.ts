import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getBenchmark } from '../src/engine/benchmarks/index.js';
import { startReferenceEndpoint } from '../src/reference-endpoint/index.js';
import { runSelfCheck } from '../src/reference-endpoint/self-check.js';
import { sharedPath } from './support/paths.js';

const DATA = sharedPath('data', 'gsm8k', 'test.jsonl');
const gsm8k = getBenchmark('builtin.gsm8k')!;

async function scoreAt(accuracy: number, endpointType: 'chat' | 'completions') {
  const endpoint = await startReferenceEndpoint({ benchmark: 'gsm8k', datasetPath: DATA, accuracy });
  try {
    const run = await runSelfCheck({
      benchmark: gsm8k,
      url: endpoint.url,
      endpointType,
      params: { extra: { dataset_path: DATA } },
      env: {},
      concurrency: 16,
    });
    return { run, stats: endpoint.stats() };
  } finally {
    await endpoint.close();
  }
}

test('gsm8k: all 1,319 items at accuracy 1.0 score exactly 1.0 (chat)', async () => {
  const { run, stats } = await scoreAt(1, 'chat');
  const em = run.result.tasks.gsm8k.metrics.exact_match.scores.exact_match;
  assert.equal(em.stats.count, 1319);
  assert.equal(em.value, 1);
  assert.equal(em.stats.stderr, 0);
  assert.deepEqual(run.result.groups.gsm8k.metrics, run.result.tasks.gsm8k.metrics);
  assert.equal(stats.unknown_prompts, 0);
  assert.equal(stats.answered_ok, 1319);
  assert.equal(stats.max_body_repeats, 1);
});

test('gsm8k: accuracy 0.5 scores exactly floor(1319 * 0.5) / 1319 (chat and completions)', async () => {
  for (const type of ['chat', 'completions'] as const) {
    const { run } = await scoreAt(0.5, type);
    const em = run.result.tasks.gsm8k.metrics.exact_match.scores.exact_match;
    assert.equal(em.value, Math.floor(1319 * 0.5) / 1319, type);
    const p = 659 / 1319;
    assert.ok(Math.abs(em.stats.stddev! - Math.sqrt(p * (1 - p))) < 1e-12);
    assert.ok(Math.abs(em.stats.stderr! - Math.sqrt(p * (1 - p)) / Math.sqrt(1318)) < 1e-12);
    // the extracted answers of correct samples equal the gold numbers
    const right = run.scores.filter((s) => s.scores.exact_match === 1);
    assert.equal(right.length, 659);
    assert.ok(right.every((s) => s.extracted[0] === s.target));
  }
});
