/**
 * math500 end to end against the reference endpoint (gold replies -> 1.0, wrong -> 0, accuracy 0.5 ->
 * 0.5, chat and completions), its results.yml groups per subject and level, prompts and bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getBenchmark } from '../src/engine/benchmarks/index.js';
import { startReferenceEndpoint } from '../src/reference-endpoint/index.js';
import { runSelfCheck } from '../src/reference-endpoint/self-check.js';
import { resolveExtractors, resolveScorer } from '../src/engine/scoring/parts.js';
import { benchmarkContext, runSamples } from './support/benchmark-run.js';
import { sharedPath } from './support/paths.js';

const DATA = sharedPath('data', 'math500', 'test.jsonl');
const math500 = getBenchmark('math500')!;

async function scoreAt(accuracy: number, endpointType: 'chat' | 'completions') {
  const endpoint = await startReferenceEndpoint({ benchmark: 'math500', datasetPath: DATA, accuracy });
  try {
    const run = await runSelfCheck({
      benchmark: math500,
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

test('math500: gold replies score 1.0, wrong ones 0, on all 500 problems (chat and completions)', async () => {
  for (const type of ['chat', 'completions'] as const) {
    const right = await scoreAt(1, type);
    const em = right.run.result.tasks.math500!.metrics.exact_match!.scores.exact_match!;
    assert.equal(em.stats.count, 500, type);
    assert.equal(em.value, 1, type);
    assert.equal(right.stats.unknown_prompts, 0);
    const wrong = await scoreAt(0, type);
    assert.equal(wrong.run.result.tasks.math500!.metrics.exact_match!.scores.exact_match!.value, 0, type);
    // a wrong reply still has an extracted answer (it is wrong, not missing)
    assert.ok(
      wrong.run.scores.every((s) => s.extracted[0] !== null),
      type,
    );
    console.log(`math500 ${type}: gold replies ${em.value}, wrong replies 0`);
  }
});

test('math500: accuracy 0.5 scores exactly 250/500, with groups per subject and per level', async () => {
  const { run } = await scoreAt(0.5, 'chat');
  const result = run.result;
  const em = result.tasks.math500!.metrics.exact_match!.scores.exact_match!;
  assert.equal(em.value, 0.5);
  assert.ok(Math.abs(em.stats.stddev! - 0.5) < 1e-12);
  assert.ok(Math.abs(em.stats.stderr! - 0.5 / Math.sqrt(499)) < 1e-12);
  const groups = result.groups.math500!.groups!;
  const names = Object.keys(groups);
  const subjects = names.filter((n) => n.startsWith('subject:'));
  const levels = names.filter((n) => n.startsWith('level:'));
  assert.deepEqual(levels, ['level:1', 'level:2', 'level:3', 'level:4', 'level:5']);
  assert.equal(subjects.length, 7);
  assert.ok(subjects.includes('subject:Intermediate Algebra'));
  // each group is the mean over its own samples, and the counts add up to 500 per dimension
  const count = (n: string) => groups[n]!.metrics.exact_match!.scores.exact_match!.stats.count!;
  assert.equal(
    levels.map(count).reduce((a, b) => a + b, 0),
    500,
  );
  assert.equal(
    subjects.map(count).reduce((a, b) => a + b, 0),
    500,
  );
  assert.equal(count('level:5'), 134);
  for (const name of names) {
    const members = run.scores.filter((s) => {
      const [dim, value] = name.split(':') as [string, string];
      return s.groups?.[dim] === value;
    });
    const mean = members.reduce((a, s) => a + s.scores.exact_match!, 0) / members.length;
    assert.ok(Math.abs(groups[name]!.metrics.exact_match!.scores.exact_match!.value - mean) < 1e-12, name);
  }
  assert.deepEqual(result.groups.math500!.metrics, result.tasks.math500!.metrics);
});

test("math500: chat prompt is simple-evals' math template; completions the 4-shot Minerva prompt with a stop", async () => {
  const [sample] = await runSamples(
    math500,
    benchmarkContext({ dataset_path: DATA }, { params: { limit_samples: 1 } }),
  );
  const chat = await math500.prepare(
    benchmarkContext({ dataset_path: DATA }, { params: { limit_samples: 1 } }),
  );
  const msg = chat.buildRequest(sample!).messages![0]!.content;
  assert.ok(msg.startsWith('Solve the following math problem step by step. The last line of your response'));
  assert.ok(msg.includes(String(sample!.data.problem)));
  assert.ok(msg.endsWith('you do not need to use a \\boxed command.'));
  const comp = await math500.prepare(
    benchmarkContext({ dataset_path: DATA }, { endpointType: 'completions', params: { limit_samples: 1 } }),
  );
  const req = comp.buildRequest(sample!);
  assert.equal(req.prompt!.match(/^Problem:\n/gm)!.length, 5);
  assert.ok(req.prompt!.endsWith(`Problem:\n${String(sample!.data.problem)}\n\nSolution:`));
  assert.deepEqual(req.extraBody, { stop: ['Problem:'] });
  const zero = await math500.prepare(
    benchmarkContext(
      { dataset_path: DATA, num_fewshot: 0 },
      { endpointType: 'completions', params: { limit_samples: 1 } },
    ),
  );
  assert.equal(zero.buildRequest(sample!).prompt, `Problem:\n${String(sample!.data.problem)}\n\nSolution:`);
  // a completion that runs on into a next problem is cut there
  const scored = await comp.score(sample!, [
    ' r = 3, theta = pi/2, so $\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}$.\n\nProblem:\nWhat is $\\boxed{7}$?',
  ]);
  assert.equal(scored.scores.exact_match, 1);
  assert.equal(sample!.id, 'test/precalculus/807.json');
});

test('math500: order of a bare list matters only where the problem allows any order', async () => {
  const samples = await runSamples(math500, benchmarkContext({ dataset_path: DATA }));
  const run = await math500.prepare(benchmarkContext({ dataset_path: DATA }));
  const roots = samples.find((s) => s.data.answer === '3, 5, 7')!; // "Find the roots of ..."
  assert.equal((await run.score(roots, ['Answer: 7, 3, 5'])).scores.exact_match, 1);
  const pair = samples.find((s) => s.data.answer === '(-2,1)')!; // "Enter the ordered pair (a,b)."
  assert.equal((await run.score(pair, ['Answer: (1,-2)'])).scores.exact_match, 0);
  assert.equal((await run.score(pair, ['Answer: $\\left( -2, 1 \\right)$'])).scores.exact_match, 1);
});

test('math500: a file in the wrong layout and a bad num_fewshot fail before any request', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'math500-'));
  const bad = join(dir, 'test.jsonl');
  writeFileSync(bad, JSON.stringify({ question: 'What is 1+1?', target: '2' }) + '\n');
  await assert.rejects(
    math500.prepare(benchmarkContext({ dataset_path: bad })),
    (e: Error & { hint?: string }) => /has no field "problem"/.test(e.message),
  );
  await assert.rejects(
    math500.prepare(
      benchmarkContext({ dataset_path: DATA, num_fewshot: 9 }, { endpointType: 'completions' }),
    ),
    /num_fewshot must be an integer from 0 to 4/,
  );
});

test('math parts are registered by name for custom benchmarks', () => {
  const [extract] = resolveExtractors(['math_answer'], 'custom');
  const equivalent = resolveScorer('math_equivalent', 'custom');
  const integer = resolveScorer('integer', 'custom');
  const ctx = { endpointType: 'chat' as const, index: 0 };
  const text = extract!('so the answer is $\\boxed{\\dfrac{3}{4}}$', ctx) as string;
  assert.equal(text, '\\dfrac{3}{4}');
  assert.deepEqual(equivalent(text, '0.75', ctx), { correct: true });
  assert.deepEqual(equivalent('2, 1', '1, 2', { ...ctx, extra: { ordered_lists: true } }), {
    correct: false,
  });
  assert.deepEqual(integer('033', '33', ctx), { correct: true, extracted: '33' });
  assert.deepEqual(integer('thirty-three', '33', ctx), { correct: false, extracted: 'thirty-three' });
});
