import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dumpYamlSorted, parseYaml } from '../common/yaml.js';
import { buildEvaluationResult } from '../engine/scoring/results.js';
import { listBenchmarks } from '../engine/benchmarks/index.js';
import { readResultsSection } from './results-yaml.js';
import { loadBuiltinHeadlines, readJobScores, scoresFromResults } from './scores.js';
import { readSampleRows } from './samples.js';
import { upsertJsonl } from '../exporters/local.js';

const values = (n: number, right: number) => Array.from({ length: n }, (_, i) => (i < right ? 1 : 0));

test('every built-in benchmark defines a headline among the metrics it reports', () => {
  for (const b of listBenchmarks()) {
    assert.ok(b.headline, `${b.name} has a headline`);
    const { metric, score } = b.headline!;
    const reported = b.metrics.some(
      (m) =>
        (m.metric === metric && m.score === score) ||
        (m.metric === 'pass@k' && /^pass@\d+$/.test(metric) && score === metric),
    );
    assert.ok(reported, `${b.name}: ${metric}.${score} is one of its metrics`);
  }
  const by = new Map(listBenchmarks().map((b) => [b.name, b.headline]));
  assert.deepEqual(by.get('gsm8k'), { metric: 'exact_match', score: 'exact_match' });
  assert.deepEqual(by.get('humaneval'), { metric: 'pass@1', score: 'pass@1' });
  assert.deepEqual(by.get('mmlu'), { metric: 'score', score: 'micro' });
  assert.deepEqual(by.get('ifeval'), { metric: 'prompt_level_strict_acc', score: 'prompt_level_strict_acc' });
  assert.deepEqual(by.get('custom'), { metric: 'pass@1', score: 'correct' });
});

test('built-in task: the headline comes from the definition, not from the order of the metrics', async () => {
  const headlines = await loadBuiltinHeadlines();
  // ifeval's first metric in this file is not its headline
  const doc = {
    results: buildEvaluationResult('ifeval', [
      { metric: 'inst_level_loose_acc', score: 'inst_level_loose_acc', values: values(4, 4) },
      { metric: 'prompt_level_strict_acc', score: 'prompt_level_strict_acc', values: values(4, 1) },
    ]),
  };
  const s = scoresFromResults(doc, headlines);
  assert.deepEqual(s.metrics, {
    'inst_level_loose_acc.inst_level_loose_acc': 1,
    'prompt_level_strict_acc.prompt_level_strict_acc': 0.25,
  });
  assert.equal(s.headline?.metric, 'prompt_level_strict_acc');
  assert.equal(s.headline?.value, 0.25);
  assert.equal(s.headline?.source, 'definition');
  // without the definitions, the layout alone picks the first metric
  assert.equal(scoresFromResults(doc).headline?.metric, 'inst_level_loose_acc');
  assert.equal(scoresFromResults(doc).headline?.source, 'structure');
});

test('a defined headline missing from the file (e.g. only pass@5 asked for) falls back to the layout', async () => {
  const headlines = await loadBuiltinHeadlines();
  const doc = {
    results: buildEvaluationResult('humaneval', [{ metric: 'pass@5', score: 'pass@5', values: [0.5] }]),
  };
  const h = scoresFromResults(doc, headlines).headline!;
  assert.deepEqual([h.metric, h.value, h.source], ['pass@5', 0.5, 'structure']);
});

test('container results: a score named like the metric is preferred, else the first; groups kept apart', () => {
  const doc = parseYaml(`
results:
  groups:
    mmlu:
      metrics:
        score: {scores: {micro: {value: 0.5}}}
      groups:
        anatomy:
          metrics:
            score:
              scores:
                micro: {value: 0.25}
  tasks:
    lm_task:
      metrics:
        acc:
          scores:
            acc_norm: {value: 0.61, stats: {stderr: 0.01}}
            acc: {value: 0.6, stats: {stderr: 0.01}}
        f1:
          scores:
            f1: {value: 0.4}
`);
  const s = scoresFromResults(doc, () => undefined);
  assert.deepEqual(s.metrics, { 'acc.acc_norm': 0.61, 'acc.acc': 0.6, 'f1.f1': 0.4 });
  assert.deepEqual(
    [s.headline?.metric, s.headline?.score, s.headline?.value, s.headline?.source],
    ['acc', 'acc', 0.6, 'structure'],
  );
  assert.deepEqual(s.groups, { anatomy: { 'score.micro': 0.25 } });
  const first = scoresFromResults({
    results: { tasks: { t: { metrics: { score: { scores: { micro: { value: 0.3 } } } } } } },
  });
  assert.equal(first.headline?.key, 'score.micro');
});

test('several tasks in one file: keys are prefixed with the task; the first task gives the headline', () => {
  const s = scoresFromResults({
    results: {
      tasks: {
        a: { metrics: { m: { scores: { m: { value: 1 } } } } },
        b: { metrics: { m: { scores: { m: { value: '0.5' } } } } },
      },
    },
  });
  assert.deepEqual(s.metrics, { 'a/m.m': 1, 'b/m.m': 0.5 });
  assert.equal(s.headline?.key, 'a/m.m');
  assert.deepEqual(scoresFromResults({}).headline, null);
});

test('the fast results reader agrees with the YAML parser, and hands odd files to it', () => {
  const subgroups = { 'level:1': [{ metric: 'exact_match', score: 'exact_match', values: values(3, 2) }] };
  const engine = dumpYamlSorted({
    command: 'nemo-evaluator run_eval --eval_type math500',
    config: { params: { extra: { n_samples: 1 } }, supported_endpoint_types: ['chat'], type: 'math500' },
    git_hash: null,
    results: buildEvaluationResult(
      'math500',
      [{ metric: 'exact_match', score: 'exact_match', values: values(7, 3) }],
      subgroups,
    ),
    target: { api_endpoint: { model_id: 'm', url: 'http://x' } },
  });
  const fast = readResultsSection(engine);
  assert.ok(fast, 'the engine-written file is read by the fast reader');
  assert.deepEqual(fast.results, (parseYaml(engine) as { results: unknown }).results);
  // upstream's flow-style stats: skipped, the values still read
  const upstream = [
    "command: 'simple_evals --model x",
    "  --eval_name gpqa_diamond'",
    'config:',
    '  judge: {api_key: null, backend: openai,',
    '          max_tokens: 1024}',
    'results:',
    '  tasks:',
    '    gpqa_diamond:',
    '      metrics:',
    '        score:',
    '          scores:',
    '            micro:',
    '              stats: {stddev: 0.48, stderr: 0.16}',
    '              value: 0.4  # comment',
    "            'odd: key':",
    '              value: 1',
    'target:',
    '  api_endpoint: {model_id: m}',
    '',
  ].join('\n');
  const doc = readResultsSection(upstream);
  assert.ok(doc);
  assert.deepEqual(scoresFromResults(doc).metrics, scoresFromResults(parseYaml(upstream)).metrics);
  assert.deepEqual(scoresFromResults(doc).metrics, { 'score.micro': 0.4, 'score.odd: key': 1 });
  for (const odd of [
    'results:\n  tasks:\n    - a\n',
    'results:\n  tasks:\n    t:\n      v: |\n        text\n',
    'results:\n  tasks:\n    t: &a\n      v: 1\n',
    'results:\n  tasks:\n\tt: 1\n',
    'results:\n  tasks:\n    t:\n      v: a\n        b\n',
    'results: {tasks: {}}\n',
    'results:\n  tasks:\n    t:\n      metrics:\n        m: {scores: {m: {value: 1}}}\n',
    '---\nresults:\n  a: 1\n---\n',
  ])
    assert.equal(readResultsSection(odd), undefined, JSON.stringify(odd));
  assert.deepEqual(readResultsSection('command: x\n'), {});
});

test('readJobScores: null without results.yml, the scores with one, a one-line error when unreadable', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nel-scores-'));
  mkdirSync(join(dir, 'artifacts'));
  assert.equal(await readJobScores(dir), null);
  const doc = {
    results: buildEvaluationResult('gsm8k', [
      { metric: 'exact_match', score: 'exact_match', values: values(4, 3) },
    ]),
  };
  writeFileSync(join(dir, 'artifacts', 'results.yml'), dumpYamlSorted(doc));
  const s = await readJobScores(dir, await loadBuiltinHeadlines());
  assert.ok(s && !('error' in s));
  assert.equal(s.headline?.value, 0.75);
  assert.equal(s.headline?.source, 'definition');
  writeFileSync(join(dir, 'artifacts', 'results.yml'), 'results:\n  tasks: [unclosed\n');
  const bad = await readJobScores(dir);
  assert.ok(bad && 'error' in bad && !bad.error.includes('\n'), JSON.stringify(bad));
});

test('sample rows: one per samples.jsonl line with the job fields; jsonl upsert replaces a job', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nel-samples-'));
  const lines = [
    {
      sample_id: '0',
      index: 0,
      prompt: 'p',
      responses: ['r'],
      extracted: ['4'],
      scores: { exact_match: 1 },
      target: '4',
    },
    {
      sample_id: '1',
      index: 1,
      prompt: 'p',
      responses: [''],
      extracted: [null],
      scores: { exact_match: 0 },
      target: '7',
      error: 'timeout',
    },
  ];
  writeFileSync(join(dir, 'samples.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const job = { model: 'm', task: 'gsm8k', invocation_id: 'inv', job_id: 'inv.0' };
  const rows = readSampleRows(dir, job);
  assert.equal(rows.length, 2);
  assert.deepEqual(rows[1], {
    ...job,
    sample_id: '1',
    index: 1,
    scores: { exact_match: 0 },
    extracted: [null],
    target: '7',
    error: 'timeout',
  });
  assert.throws(() => readSampleRows(join(dir, 'none'), job), /no samples\.jsonl/);
  writeFileSync(join(dir, 'samples.jsonl'), '{"index": 0}\n');
  assert.throws(() => readSampleRows(dir, job), /line 1 is not a sample/);
  const out = join(dir, 'all.jsonl');
  const other = { ...rows[0]!, job_id: 'inv.1' };
  upsertJsonl(out, [...rows, other]);
  upsertJsonl(out, [{ ...rows[0]!, scores: { exact_match: 0 } }]);
  const back = readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    back.map((r) => [r.job_id, r.sample_id, r.scores.exact_match]),
    [
      ['inv.1', '0', 1],
      ['inv.0', '0', 0],
    ],
  );
  writeFileSync(out, 'not json\n');
  assert.throws(() => upsertJsonl(out, rows), /line 1 is not a sample row/);
});
