import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getBenchmark, listBenchmarks } from '../src/engine/benchmarks/index.js';
import { gpqaPermutation } from '../src/engine/benchmarks/gpqa-diamond.js';
import { benchmarkContext, runSamples } from './support/benchmark-run.js';
import { startReferenceEndpoint } from '../src/reference-endpoint/index.js';
import { runSelfCheck } from '../src/reference-endpoint/self-check.js';

const dir = mkdtempSync(join(tmpdir(), 'nel-mc-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function mmluRows(n: number) {
  const subjects = ['abstract_algebra', 'anatomy', 'astronomy'];
  return Array.from({ length: n }, (_v, i) => ({
    question: `What is ${i} + 1?`,
    subject: subjects[i % 3],
    choices: [String(i), String(i + 1), String(i + 2), String(i + 3)],
    answer: 1,
  }));
}

function mmluProRows(n: number) {
  return Array.from({ length: n }, (_v, i) => {
    const options = Array.from({ length: 10 }, (_x, j) => `option ${j} of ${i}`);
    if (i % 4 === 0) options[9] = 'N/A';
    const answerIndex = (i * 3) % 9;
    return {
      question_id: 70 + i,
      question: `Question ${i}?`,
      options,
      answer: 'ABCDEFGHIJ'[answerIndex],
      answer_index: answerIndex,
      cot_content: '',
      category: i % 2 ? 'physics' : 'law',
      src: 'test',
    };
  });
}

function csvCell(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function gpqaCsv(n: number): string {
  const header = [
    'Pre-Revision Question',
    'Question',
    'Correct Answer',
    'Incorrect Answer 1',
    'Incorrect Answer 2',
    'Incorrect Answer 3',
    'Record ID',
    'High-level domain',
  ];
  const rows = Array.from({ length: n }, (_v, i) => [
    'old',
    `Which particle, "number ${i}",\nis right?`,
    `right ${i}`,
    `wrong a ${i}`,
    `wrong b ${i}`,
    `wrong, c ${i}`,
    `rec${1000 + i}`,
    i % 2 ? 'Physics' : 'Chemistry',
  ]);
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

async function run(
  benchmark: string,
  file: string,
  accuracy: number,
  endpointType: 'chat' | 'completions' = 'chat',
) {
  const endpoint = await startReferenceEndpoint({ benchmark, datasetPath: file, accuracy });
  try {
    return await runSelfCheck({
      benchmark: getBenchmark(benchmark)!,
      url: endpoint.url,
      endpointType,
      params: { extra: { dataset_path: file } },
      env: {},
    });
  } finally {
    await endpoint.close();
  }
}

test('registry lists the built-in benchmarks once each, in registration order, and accepts builtin.<name>', () => {
  const names = listBenchmarks().map((b) => b.name);
  assert.deepEqual(names.slice(0, 5), ['gsm8k', 'humaneval', 'mmlu', 'mmlu_pro', 'gpqa_diamond']);
  assert.ok(names.includes('custom'));
  assert.equal(new Set(names).size, names.length);
  assert.equal(getBenchmark('builtin.mmlu_pro')?.name, 'mmlu_pro');
  assert.equal(getBenchmark('nope'), undefined);
});

test('mmlu (cais/mmlu layout): score/micro with per-subject groups', async () => {
  const file = join(dir, 'mmlu.jsonl');
  writeFileSync(
    file,
    mmluRows(30)
      .map((r) => JSON.stringify(r))
      .join('\n') + '\n',
  );
  const full = await run('mmlu', file, 1);
  assert.equal(full.result.tasks.mmlu.metrics.score.scores.micro.value, 1);
  const half = await run('mmlu', file, 0.5, 'completions');
  const micro = half.result.tasks.mmlu.metrics.score.scores.micro;
  assert.equal(micro.value, 15 / 30);
  assert.equal(micro.stats.count, 30);
  const groups = half.result.groups.mmlu.groups!;
  assert.deepEqual(Object.keys(groups), ['abstract_algebra', 'anatomy', 'astronomy']);
  assert.equal(groups.anatomy.metrics.score.scores.micro.stats.count, 10);
  assert.equal(half.scores[0].target, 'B');
  const mmluRun = await getBenchmark('mmlu')!.prepare(benchmarkContext({ dataset_path: file }));
  const prompt = mmluRun.buildRequest({ id: '0', index: 0, data: mmluRows(1)[0] }).messages![0].content;
  assert.match(prompt, /'Answer: \$LETTER' \(without quotes\) where LETTER is one of ABCD/);
  assert.match(prompt, /\nA\) 0\nB\) 1\nC\) 2\nD\) 3$/);
});

test('mmlu_pro (TIGER-Lab layout): up to 10 options, N/A padding dropped, per-category groups', async () => {
  const file = join(dir, 'mmlu_pro.jsonl');
  writeFileSync(
    file,
    mmluProRows(12)
      .map((r) => JSON.stringify(r))
      .join('\n') + '\n',
  );
  const full = await run('mmlu_pro', file, 1);
  assert.equal(full.result.tasks.mmlu_pro.metrics.score.scores.micro.value, 1);
  assert.deepEqual(Object.keys(full.result.groups.mmlu_pro.groups!), ['law', 'physics']);
  assert.equal(full.scores[0].sampleId, '70');
  const zero = await run('mmlu_pro', file, 0);
  assert.equal(zero.result.tasks.mmlu_pro.metrics.score.scores.micro.value, 0);
  const proRun = await getBenchmark('mmlu_pro')!.prepare(benchmarkContext({ dataset_path: file }));
  const request = proRun.buildRequest({ id: '70', index: 0, data: mmluProRows(1)[0] });
  assert.match(request.messages![0].content, /one of ABCDEFGHI\./);
});

test('gpqa_diamond (Idavidrein/gpqa CSV): deterministic shuffle per record id', async () => {
  const file = join(dir, 'gpqa_diamond.csv');
  writeFileSync(file, gpqaCsv(20));
  const full = await run('gpqa_diamond', file, 1);
  assert.equal(full.result.tasks.gpqa_diamond.metrics.score.scores.micro.value, 1);
  const targets = full.scores.map((s) => s.target);
  assert.ok(new Set(targets).size > 1, 'the correct answer is not always in the same position');
  assert.deepEqual(gpqaPermutation('rec1000'), gpqaPermutation('rec1000'));
  const again = await run('gpqa_diamond', file, 0.25);
  assert.equal(again.result.tasks.gpqa_diamond.metrics.score.scores.micro.value, 5 / 20);
  assert.deepEqual(
    again.scores.map((s) => s.target),
    targets,
  );
  const sample = (
    await runSamples(getBenchmark('gpqa_diamond')!, {
      params: { limit_samples: 1 },
      extra: { dataset_path: file },
      endpointType: 'chat',
      outputDir: dir,
      env: {},
      log: () => undefined,
      signal: new AbortController().signal,
    })
  )[0];
  assert.equal(sample.id, 'rec1000');
  assert.equal(sample.data.Question, 'Which particle, "number 0",\nis right?');
});

test('a file in the wrong layout fails before any request with one line naming the field', async () => {
  const file = join(dir, 'bad.jsonl');
  writeFileSync(file, JSON.stringify({ prompt: 'x' }) + '\n');
  await assert.rejects(
    runSamples(getBenchmark('mmlu')!, {
      params: {},
      extra: { dataset_path: file },
      endpointType: 'chat',
      outputDir: dir,
      env: {},
      log: () => undefined,
      signal: new AbortController().signal,
    }),
    /mmlu: record 0 has no "question" text/,
  );
});
