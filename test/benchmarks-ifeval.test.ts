import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NelError } from '../src/common/errors.js';
import { getBenchmark } from '../src/engine/benchmarks/index.js';
import { startReferenceEndpoint } from '../src/reference-endpoint/index.js';
import { runSelfCheck } from '../src/reference-endpoint/self-check.js';
import { benchmarkContext } from './support/benchmark-run.js';
import { sharedPath } from './support/paths.js';

const DATA = sharedPath('data', 'ifeval', 'input_data.jsonl');
const RESPONSES = sharedPath('data', 'ifeval', 'dev', 'responses.jsonl');
const ifeval = getBenchmark('ifeval')!;
const METRICS = [
  'prompt_level_strict_acc',
  'inst_level_strict_acc',
  'prompt_level_loose_acc',
  'inst_level_loose_acc',
];

const records = () =>
  readFileSync(DATA, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

async function selfCheck(extra: Record<string, unknown>, accuracy = 1, limit: number | null = null) {
  const endpoint = await startReferenceEndpoint({ benchmark: 'ifeval', datasetPath: DATA, extra, accuracy });
  try {
    return await runSelfCheck({
      benchmark: ifeval,
      url: endpoint.url,
      params: { limit_samples: limit, extra: { dataset_path: DATA, ...extra } },
      concurrency: 8,
    });
  } finally {
    await endpoint.close();
  }
}

const value = (r: Awaited<ReturnType<typeof selfCheck>>, m: string) =>
  r.result.tasks.ifeval!.metrics[m]!.scores[m]!.value;

test('ifeval: the definition (defaults, metrics named as lm-eval names them, mirrored task)', () => {
  assert.deepEqual(ifeval.supportedEndpointTypes, ['chat', 'completions']);
  assert.equal(ifeval.defaults.max_new_tokens, 1280);
  assert.equal(ifeval.defaults.temperature, 0);
  assert.deepEqual(
    ifeval.metrics.map((m) => `${m.metric}/${m.score}`),
    METRICS.map((m) => `${m}/${m}`),
  );
  assert.deepEqual(ifeval.mirrors, ['lm-evaluation-harness.ifeval']);
  assert.deepEqual(ifeval.dataset?.repo, 'google/IFEval');
  assert.deepEqual(ifeval.dataset?.split, 'train');
});

test('ifeval: 541 prompts sent as they are; wrong replies (empty) follow nothing', async () => {
  const run = await ifeval.prepare(benchmarkContext({ dataset_path: DATA }, { endpointType: 'completions' }));
  assert.equal(run.samples.total, 541);
  const first = Array.from(run.samples.samples())[0]!;
  assert.equal(first.id, '1000');
  assert.equal(run.buildRequest(first).prompt, first.data.prompt);
  const chat = await ifeval.prepare(benchmarkContext({ dataset_path: DATA }));
  assert.deepEqual(chat.buildRequest(first).messages, [{ role: 'user', content: first.data.prompt }]);

  const wrong = await selfCheck({}, 0, 60);
  for (const m of METRICS) assert.equal(value(wrong, m), 0, m);
});

test('ifeval: without recorded responses the reference endpoint builds replies that follow most prompts', async () => {
  const right = await selfCheck({}, 1);
  const strict = value(right, 'prompt_level_strict_acc');
  console.log(`ifeval constructed replies: prompt-level strict ${strict.toFixed(4)} of 541 prompts`);
  assert.ok(strict > 0.85 && strict < 1, `prompt-level strict ${strict}`);
  assert.ok(value(right, 'prompt_level_loose_acc') >= strict);
  assert.ok(value(right, 'inst_level_strict_acc') > strict);
  assert.equal(
    right.result.tasks.ifeval!.metrics.inst_level_strict_acc!.scores.inst_level_strict_acc!.stats.count,
    834,
  );
});

test('ifeval: instruction-level accuracy is over every instruction of every response (n_samples)', async () => {
  const run = await selfCheck({ reference_responses: RESPONSES, n_samples: 2 }, 1, 40);
  let passed = 0;
  let total = 0;
  for (const s of run.scores) {
    const strict = s.details!.strict as boolean[][];
    assert.equal(strict.length, 2);
    for (const list of strict) {
      total += list.length;
      passed += list.filter(Boolean).length;
    }
  }
  assert.ok(total > 80);
  assert.ok(Math.abs(value(run, 'inst_level_strict_acc') - passed / total) < 1e-12);
  assert.equal(
    run.result.tasks.ifeval!.metrics.inst_level_strict_acc!.scores.inst_level_strict_acc!.stats.count,
    total,
  );
});

test('ifeval: the hub layout (every kwargs key, null where unused) scores like the authors file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ifeval-hub-'));
  try {
    const rows = records().slice(0, 80);
    const keys = new Set<string>();
    for (const r of rows)
      for (const k of r.kwargs as Record<string, unknown>[]) Object.keys(k).forEach((x) => keys.add(x));
    const hub = rows.map((r) => ({
      ...r,
      kwargs: (r.kwargs as Record<string, unknown>[]).map((k) =>
        Object.fromEntries([...keys].map((x) => [x, k[x] ?? null])),
      ),
    }));
    const file = join(dir, 'ifeval_input_data.jsonl');
    writeFileSync(file, hub.map((r) => JSON.stringify(r)).join('\n'));
    const a = await ifeval.prepare(benchmarkContext({ dataset_path: DATA, reference_responses: RESPONSES }));
    const b = await ifeval.prepare(benchmarkContext({ dataset_path: dir, reference_responses: RESPONSES }));
    const sa = Array.from(a.samples.samples()).slice(0, 80);
    const sb = Array.from(b.samples.samples());
    assert.equal(sb.length, 80);
    for (let i = 0; i < 80; i++) {
      const reply = a.referenceResponse(sa[i]!, true, 'chat');
      assert.deepEqual((await b.score(sb[i]!, [reply])).details, (await a.score(sa[i]!, [reply])).details);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ifeval: a malformed record or responses file fails before any request, in one line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ifeval-bad-'));
  try {
    const rows = records().slice(0, 3);
    const cases: [string, Record<string, unknown>][] = [
      ['unknown instruction id', { ...rows[1], instruction_id_list: ['keywords:nonsense'], kwargs: [{}] }],
      ['kwargs count', { ...rows[1], kwargs: [] }],
      [
        'bad relation',
        {
          ...rows[1],
          instruction_id_list: ['length_constraints:number_words'],
          kwargs: [{ num_words: 5, relation: 'about' }],
        },
      ],
    ];
    for (const [what, bad] of cases) {
      const file = join(dir, 'input_data.jsonl');
      writeFileSync(file, [rows[0], bad, rows[2]].map((r) => JSON.stringify(r)).join('\n'));
      await assert.rejects(
        ifeval.prepare(benchmarkContext({ dataset_path: file })),
        (e: unknown) =>
          e instanceof NelError && e.message.includes('record') && !e.message.includes('\n') && !!e.hint,
        what,
      );
    }
    const responses = join(dir, 'responses.jsonl');
    writeFileSync(responses, '{"prompt": "x"}\n');
    await assert.rejects(
      ifeval.prepare(benchmarkContext({ dataset_path: DATA, reference_responses: responses })),
      (e: unknown) => e instanceof NelError && e.message.includes('line 1'),
    );
    await assert.rejects(
      ifeval.prepare(
        benchmarkContext({ dataset_path: DATA, reference_responses: join(dir, 'missing.jsonl') }),
      ),
      (e: unknown) => e instanceof NelError && /cannot read/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
