import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyLimitSamples, loadDatasetRecords, selectDataFiles } from '../src/engine/datasets/index.js';
import { getBenchmark } from '../src/engine/benchmarks/index.js';
import { runSamples } from './support/benchmark-run.js';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { startHubServer } from './support/hub-server.js';
import { sharedPath } from './support/paths.js';

const root = mkdtempSync(join(tmpdir(), 'nel-datasets-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

const GSM8K = { repo: 'openai/gsm8k', config: 'main', split: 'test' };

function envFor(hubUrl: string, name: string, more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { HF_ENDPOINT: hubUrl, NEMO_EVALUATOR_CACHE_DIR: join(root, name), ...more };
}

test('gsm8k from the hub layout, then from the cache with no network', async () => {
  const hub = await startHubServer();
  try {
    const env = envFor(hub.url, 'cache-gsm8k');
    const records = await loadDatasetRecords(GSM8K, { extra: {}, env });
    assert.equal(records.length, 1319);
    assert.match(String(records[0].answer), /#### 18$/);
    assert.deepEqual(hub.requests(), [
      '/api/datasets/openai/gsm8k/revision/main',
      '/datasets/openai/gsm8k/resolve/main/main/test.jsonl',
    ]);
    const before = hub.requestCount();
    const again = await loadDatasetRecords(GSM8K, { extra: {}, env });
    assert.equal(again.length, 1319);
    assert.equal(hub.requestCount(), before, 'a cache hit makes no request');
    // the cache is under <cache>/datasets/<repo>/<revision>/<path>
    readFileSync(join(root, 'cache-gsm8k', 'datasets', 'openai', 'gsm8k', 'main', 'main', 'test.jsonl'));
  } finally {
    await hub.close();
  }
});

test('humaneval through the benchmark with limit_samples as a count and a fraction', async () => {
  const hub = await startHubServer();
  try {
    const env = envFor(hub.url, 'cache-he', { NEMO_EVALUATOR_ALLOW_CODE_EXECUTION: '1' });
    const ctx = (limit: number) => ({
      params: { limit_samples: limit },
      extra: {},
      endpointType: 'completions' as const,
      outputDir: root,
      env,
      log: () => undefined,
      signal: new AbortController().signal,
    });
    const he = getBenchmark('humaneval')!;
    const five = await runSamples(he, ctx(5));
    assert.deepEqual(
      five.map((s) => s.id),
      ['HumanEval/0', 'HumanEval/1', 'HumanEval/2', 'HumanEval/3', 'HumanEval/4'],
    );
    assert.equal((await runSamples(he, ctx(0.1))).length, Math.ceil(164 * 0.1));
  } finally {
    await hub.close();
  }
});

test('a token is sent when set; 401 without it names HF_TOKEN in the hint', async () => {
  const hub = await startHubServer({ withDefaults: false });
  hub.addFile('Idavidrein/gpqa', 'gpqa_main.csv', 'Question,Correct Answer\nq,a\n');
  hub.addFile('Idavidrein/gpqa', 'gpqa_diamond.csv', 'Question,Correct Answer\nq1,a1\nq2,a2\n');
  hub.requireToken('hf_canary');
  const source = { repo: 'Idavidrein/gpqa', config: 'gpqa_diamond', split: 'train', gated: true };
  try {
    await assert.rejects(
      loadDatasetRecords(source, { extra: {}, env: envFor(hub.url, 'cache-gated') }),
      (e: Error & { hint?: string }) => {
        assert.match(
          e.message,
          /access denied \(HTTP 401\) for http:\/\/127\.0\.0\.1:\d+\/api\/datasets\/Idavidrein\/gpqa\/revision\/main/,
        );
        assert.match(e.hint ?? '', /gated.*HF_TOKEN is not set/);
        return true;
      },
    );
    const records = await loadDatasetRecords(source, {
      extra: {},
      env: envFor(hub.url, 'cache-gated', { HF_TOKEN: 'hf_canary' }),
    });
    assert.deepEqual(records, [
      { Question: 'q1', 'Correct Answer': 'a1' },
      { Question: 'q2', 'Correct Answer': 'a2' },
    ]);
  } finally {
    await hub.close();
  }
});

test('dataset_revision selects the revision', async () => {
  const hub = await startHubServer({ withDefaults: false });
  hub.addFile('openai/gsm8k', 'main/test.jsonl', '{"question": "old", "answer": "#### 1"}\n');
  hub.addFile('openai/gsm8k', 'main/test.jsonl', '{"question": "new", "answer": "#### 2"}\n', 'v2');
  try {
    const env = envFor(hub.url, 'cache-rev');
    const records = await loadDatasetRecords(GSM8K, { extra: { dataset_revision: 'v2' }, env });
    assert.equal(records[0].question, 'new');
    await assert.rejects(
      loadDatasetRecords(GSM8K, { extra: { dataset_revision: 'v3' }, env }),
      /HTTP 404 for .*revision\/v3/,
    );
  } finally {
    await hub.close();
  }
});

test('an unreachable hub fails with one line naming the URL and a hint', async () => {
  const hub = await startHubServer();
  const url = hub.url;
  await hub.close();
  await assert.rejects(
    loadDatasetRecords(GSM8K, { extra: {}, env: envFor(url, 'cache-down') }),
    (e: Error & { code?: string; hint?: string }) => {
      assert.equal(e.code, 'ENGINE_DATASET');
      assert.ok(!e.message.includes('\n'));
      assert.match(
        e.message,
        new RegExp(`cannot reach ${url}/api/datasets/openai/gsm8k/revision/main \\(ECONNREFUSED\\)`),
      );
      assert.match(e.hint ?? '', /HF_ENDPOINT.*dataset_path.*NEMO_EVALUATOR_DATASET_DIR/);
      return true;
    },
  );
});

test('file selection follows the hub layouts', () => {
  const files = [
    'README.md',
    'main/test-00000-of-00001.parquet',
    'main/train-00000-of-00001.parquet',
    'socratic/test-00000-of-00001.parquet',
  ];
  assert.deepEqual(selectDataFiles(files, GSM8K), ['main/test-00000-of-00001.parquet']);
  assert.deepEqual(
    selectDataFiles(
      [
        'all/test-00000-of-00001.parquet',
        'anatomy/test-00000-of-00001.parquet',
        'all/dev-00000-of-00001.parquet',
      ],
      { repo: 'cais/mmlu', config: 'all', split: 'test' },
    ),
    ['all/test-00000-of-00001.parquet'],
  );
  assert.deepEqual(
    selectDataFiles(['data/test-00000-of-00001.parquet', 'data/validation-00000-of-00001.parquet'], {
      repo: 'TIGER-Lab/MMLU-Pro',
      split: 'test',
    }),
    ['data/test-00000-of-00001.parquet'],
  );
  assert.deepEqual(
    selectDataFiles(['gpqa_main.csv', 'gpqa_diamond.csv'], {
      repo: 'Idavidrein/gpqa',
      config: 'gpqa_diamond',
      split: 'train',
    }),
    ['gpqa_diamond.csv'],
  );
  assert.deepEqual(
    selectDataFiles(['HumanEval.jsonl', 'other.txt'], {
      repo: 'x/y',
      config: 'c',
      split: 'test',
      localFileNames: ['HumanEval.jsonl'],
    }),
    ['HumanEval.jsonl'],
  );
  assert.deepEqual(
    selectDataFiles(['a/test-1.parquet', 'a/test-0.parquet'], { repo: 'x/y', config: 'a', split: 'test' }),
    ['a/test-0.parquet', 'a/test-1.parquet'],
  );
});

test('limit_samples: first N or a fraction', () => {
  const xs = Array.from({ length: 10 }, (_v, i) => i);
  assert.deepEqual(applyLimitSamples(xs, 3), [0, 1, 2]);
  assert.deepEqual(applyLimitSamples(xs, 0.25), [0, 1, 2]);
  assert.equal(applyLimitSamples(xs, null).length, 10);
  assert.throws(() => applyLimitSamples(xs, 2.5), /limit_samples/);
});

test('parquet from the hub layout: list and int64 columns (written with hyparquet-writer)', async () => {
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: 'question', data: ['q0', 'q1'], type: 'STRING' },
      { name: 'subject', data: ['anatomy', 'anatomy'], type: 'STRING' },
      {
        name: 'choices',
        data: [
          ['a', 'b', 'c', 'd'],
          ['e', 'f', 'g', 'h'],
        ],
      },
      { name: 'answer', data: [1n, 3n], type: 'INT64' },
    ],
  });
  const hub = await startHubServer({ withDefaults: false });
  hub.addFile('cais/mmlu', 'all/test-00000-of-00001.parquet', new Uint8Array(buffer));
  try {
    const records = await loadDatasetRecords(
      { repo: 'cais/mmlu', config: 'all', split: 'test' },
      { extra: {}, env: envFor(hub.url, 'cache-pq') },
    );
    assert.deepEqual(records[1], {
      question: 'q1',
      subject: 'anatomy',
      choices: ['e', 'f', 'g', 'h'],
      answer: 3,
    });
  } finally {
    await hub.close();
  }
});

test('the GSM8K test split as the hub serves it (parquet) loads the same records as the JSONL', async () => {
  const jsonl = readFileSync(sharedPath('data', 'gsm8k', 'test.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { question: string; answer: string });
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: 'question', data: jsonl.map((r) => r.question), type: 'STRING' },
      { name: 'answer', data: jsonl.map((r) => r.answer), type: 'STRING' },
    ],
  });
  const hub = await startHubServer({ withDefaults: false });
  hub.addFile('openai/gsm8k', 'main/test-00000-of-00001.parquet', new Uint8Array(buffer));
  hub.addFile('openai/gsm8k', 'main/train-00000-of-00001.parquet', new Uint8Array(buffer));
  try {
    const records = await loadDatasetRecords(
      { repo: 'openai/gsm8k', config: 'main', split: 'test' },
      { extra: {}, env: envFor(hub.url, 'cache-gsm8k-pq') },
    );
    assert.equal(records.length, 1319);
    assert.deepEqual(records[0], jsonl[0]);
    assert.deepEqual(records[1318], jsonl[1318]);
  } finally {
    await hub.close();
  }
});
