/**
 * aime24 and aime25 on their real 30 + 30 problems: gold replies score 1.0 and wrong ones 0 (chat and
 * completions, with upstream's n_samples), and several responses per problem give the mean and the
 * spread of the repeat-level scores.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getBenchmark } from '../src/engine/benchmarks/index.js';
import type { Benchmark } from '../src/engine/benchmarks/types.js';
import { startReferenceEndpoint } from '../src/reference-endpoint/index.js';
import { runSelfCheck } from '../src/reference-endpoint/self-check.js';
import { integerAnswer } from '../src/engine/scoring/math-answer.js';
import { benchmarkContext, runSamples } from './support/benchmark-run.js';
import { sharedPath } from './support/paths.js';

const SETS = [
  { name: 'aime24', data: sharedPath('data', 'aime24', 'test.jsonl'), n: 1 },
  { name: 'aime25', data: sharedPath('data', 'aime25', 'test.jsonl'), n: 10 },
] as const;

async function scoreAt(b: Benchmark, data: string, accuracy: number, endpointType: 'chat' | 'completions') {
  const endpoint = await startReferenceEndpoint({ benchmark: b.name, datasetPath: data, accuracy });
  try {
    return await runSelfCheck({
      benchmark: b,
      url: endpoint.url,
      endpointType,
      params: { extra: { dataset_path: data } },
      env: {},
      concurrency: 16,
    });
  } finally {
    await endpoint.close();
  }
}

test('aime24/aime25: upstream defaults (16384 tokens, temperature 0, n_samples 1 / 10) and mirrors', () => {
  for (const set of SETS) {
    const b = getBenchmark(set.name)!;
    assert.equal(b.defaults.max_new_tokens, 16384);
    assert.equal(b.defaults.temperature, 0);
    assert.equal(b.defaults.extra!.n_samples, set.n);
    assert.deepEqual(b.supportedEndpointTypes, ['chat', 'completions']);
  }
  assert.deepEqual(getBenchmark('aime24')!.mirrors, ['simple_evals.AIME_2024']);
  assert.deepEqual(getBenchmark('aime25')!.mirrors, ['simple_evals.AIME_2025']);
});

test('aime24/aime25: gold replies score 1.0 and wrong ones 0 on the real 30 + 30 problems (chat, completions)', async () => {
  for (const set of SETS) {
    const b = getBenchmark(set.name)!;
    for (const type of ['chat', 'completions'] as const) {
      const right = await scoreAt(b, set.data, 1, type);
      const em = right.result.tasks[set.name]!.metrics.exact_match!.scores.exact_match!;
      assert.equal(em.value, 1, `${set.name} ${type}`);
      assert.equal(right.scores.length, 30);
      assert.ok(right.responses.every((r) => r.length === set.n));
      // the reply writes the gold with leading zeros ("070"): what is shown is the integer read
      assert.ok(right.scores.every((s) => s.extracted.every((x) => x === s.target)));
      const wrong = await scoreAt(b, set.data, 0, type);
      assert.equal(wrong.result.tasks[set.name]!.metrics.exact_match!.scores.exact_match!.value, 0);
      console.log(`${set.name} ${type} (n_samples ${set.n}): gold ${em.value}, wrong 0`);
    }
  }
});

test('aime25: accuracy 0.5 scores 15/30 with 10 identical repeats (no spread across repeats)', async () => {
  const run = await scoreAt(getBenchmark('aime25')!, SETS[1].data, 0.5, 'chat');
  const em = run.result.tasks.aime25!.metrics.exact_match!.scores.exact_match!;
  assert.equal(em.value, 0.5);
  assert.equal(em.stats.count, 10);
  assert.equal(em.stats.stddev, 0);
});

test('aime: both answer fields are read (answer, expected_answer) and the golds are the real integers', async () => {
  const a24 = await runSamples(getBenchmark('aime24')!, benchmarkContext({ dataset_path: SETS[0].data }));
  const a25 = await runSamples(getBenchmark('aime25')!, benchmarkContext({ dataset_path: SETS[1].data }));
  assert.equal(a24.length, 30);
  assert.equal(a25.length, 30);
  assert.equal(a25[0]!.id, 'aime25-0');
  assert.equal(a25[0]!.data.expected_answer, '70');
  assert.equal(a24[0]!.id, '60');
  assert.equal(a24[0]!.data.answer, '204');
  assert.ok(
    [...a24, ...a25].every((s) => {
      const v = integerAnswer(String(s.data.answer ?? s.data.expected_answer));
      return v !== null && v >= 0 && v <= 999;
    }),
  );
});

test('aime25: n_samples 4 with mixed replies gives the mean over all replies and the per-repeat spread', async () => {
  const b = getBenchmark('aime25')!;
  const ctx = benchmarkContext(
    { dataset_path: SETS[1].data, n_samples: 4 },
    { params: { limit_samples: 3 } },
  );
  const run = await b.prepare(ctx);
  const samples = Array.from(run.samples.samples());
  const gold = samples.map((s) => String(s.data.expected_answer));
  const wrong = (g: string) => `Answer: ${(Number(g) + 1) % 1000}`;
  // repeat 1: all right; repeat 2: 2 of 3; repeat 3: 1 of 3; repeat 4: none (leading zeros, \boxed, Answer:)
  const replies = [
    [`\\boxed{${gold[0]}}`, `Answer: 0${gold[0]}`, `so $\\boxed{${gold[0]}}$.`, wrong(gold[0]!)],
    [`Answer: ${gold[1]}`, `\\boxed{0${gold[1]}}`, wrong(gold[1]!), wrong(gold[1]!)],
    [`\\boxed{${gold[2]}}`, wrong(gold[2]!), wrong(gold[2]!), 'I cannot solve this.'],
  ];
  const scores = await Promise.all(samples.map((s, i) => run.score(s, replies[i]!)));
  assert.deepEqual(
    scores.map((s) => s.scores.exact_match),
    [0.75, 0.5, 0.25],
  );
  assert.equal(scores[2]!.extracted[3], null);
  const em = run.aggregate(scores).tasks.aime25!.metrics.exact_match!.scores.exact_match!;
  assert.equal(em.value, 0.5); // 6 of 12 replies
  const perRepeat = [1, 2 / 3, 1 / 3, 0];
  const mean = perRepeat.reduce((a, b) => a + b, 0) / 4;
  const sd = Math.sqrt(perRepeat.reduce((a, v) => a + (v - mean) ** 2, 0) / 4);
  assert.equal(em.stats.count, 4);
  assert.ok(Math.abs(em.stats.mean! - 0.5) < 1e-12);
  assert.ok(Math.abs(em.stats.stddev! - sd) < 1e-12);
  assert.ok(Math.abs(em.stats.stderr! - sd / Math.sqrt(3)) < 1e-12);
  assert.equal(em.stats.min, 0);
  assert.equal(em.stats.max, 1);
  console.log(`aime25 n_samples 4: value ${em.value}, per-repeat stddev ${em.stats.stddev!.toFixed(6)}`);
  // one response per problem: the stats describe the per-problem scores, as other benchmarks'
  const single = await Promise.all(samples.map((s, i) => run.score(s, [replies[i]![0]!])));
  const one = run.aggregate(single).tasks.aime25!.metrics.exact_match!.scores.exact_match!;
  assert.equal(one.value, 1);
  assert.equal(one.stats.count, 3);
});

test('aime: a record without an integer answer fails before any request, with a hint', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aime-'));
  const file = join(dir, 'test.jsonl');
  writeFileSync(file, JSON.stringify({ problem: 'Find x.', answer: '\\frac{1}{2}' }) + '\n');
  await assert.rejects(
    getBenchmark('aime25')!.prepare(benchmarkContext({ dataset_path: file })),
    (e: Error) => /is not an integer from 0 to 999/.test(e.message),
  );
  writeFileSync(file, JSON.stringify({ problem: 'Find x.', solution: '42' }) + '\n');
  await assert.rejects(
    getBenchmark('aime24')!.prepare(benchmarkContext({ dataset_path: file })),
    (e: Error) => /has no "answer" field/.test(e.message),
  );
});
