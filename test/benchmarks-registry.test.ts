import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { register as registerServeReference } from '../src/cli/serve-reference.js';
import { getBenchmark, listBenchmarks, registerBenchmark } from '../src/engine/benchmarks/index.js';
import { renderBenchmarksDoc } from '../src/engine/benchmarks/doc-table.js';
import { main as engineMain } from '../src/engine/cli.js';
import { runEngineEval } from '../src/engine/evaluate.js';
import { silentLogger } from '../src/engine/logging.js';
import { benchmarkNames, startReferenceEndpoint } from '../src/reference-endpoint/index.js';
import { runSelfCheck } from '../src/reference-endpoint/self-check.js';
import { builtinCatalogue, formatTaskDetail, formatTaskList, resolveTask } from '../src/tasks/index.js';
import { benchmarkContext } from './support/benchmark-run.js';
import { capitals } from './support/capitals-benchmark.js';
import { repoRoot, sharedPath } from './support/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'nel-registry-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const CAPITALS = [
  ['France', 'Paris'],
  ['Italy', 'Rome'],
  ['Spain', 'Madrid'],
  ['Peru', 'Lima'],
];

function writeCapitals(folder: string): string {
  const file = join(folder, 'capitals.jsonl');
  writeFileSync(
    file,
    CAPITALS.map(([country, capital]) => JSON.stringify({ country, capital })).join('\n') + '\n',
  );
  return file;
}

async function engineLs(): Promise<string> {
  let out = '';
  const saved = process.exitCode;
  await engineMain(['node', 'nemo-evaluator', 'ls'], { stdout: (s) => (out += s), stderr: () => undefined });
  process.exitCode = saved;
  return out;
}

function serveReferenceHelp(): string {
  const program = new Command();
  registerServeReference(program);
  return program.commands.find((c) => c.name() === 'serve-reference')!.helpInformation();
}

test('every list of benchmarks is derived from the registry', async () => {
  const registry = listBenchmarks();
  const builtin = builtinCatalogue().tasks.filter((t) => t.harness === 'builtin');
  assert.deepEqual(
    builtin.map((t) => [t.name, t.supportedEndpointTypes, t.description]),
    registry.map((b) => [b.name, b.supportedEndpointTypes, b.description]),
  );
  const ls = await engineLs();
  assert.deepEqual(
    ls.split('\n').filter((l) => l.startsWith('  * ')),
    registry.map((b) => `  * ${b.name}`).sort(),
  );
  assert.deepEqual(
    benchmarkNames(),
    registry.map((b) => b.name),
  );
  const help = serveReferenceHelp().replace(/\s+/g, ' ');
  assert.ok(help.includes(`(${registry.map((b) => b.name).join(', ')})`), help);
  const doc = readFileSync(join(repoRoot(), 'docs', 'benchmarks.md'), 'utf8');
  assert.equal(
    doc,
    renderBenchmarksDoc(doc),
    'docs/benchmarks.md is stale: run `node dist/src/engine/benchmarks/doc-table.js --write`',
  );
});

test('nel ls task builtin.mmlu shows the endpoint types the engine serves (chat and completions)', () => {
  const detail = formatTaskDetail(resolveTask(builtinCatalogue(), { name: 'builtin.mmlu' }));
  assert.match(detail, /^endpoint types: chat, completions$/m);
  for (const name of ['mmlu_pro', 'gpqa_diamond']) {
    assert.deepEqual(resolveTask(builtinCatalogue(), { name: `builtin.${name}` }).supportedEndpointTypes, [
      'chat',
      'completions',
    ]);
  }
});

test('a benchmark added by one registration shows up everywhere and runs end to end', async () => {
  assert.equal(getBenchmark('capitals_test'), undefined);
  const unregister = registerBenchmark(capitals);
  const data = mkdtempSync(join(dir, 'capitals-'));
  writeCapitals(data);
  try {
    assert.throws(() => registerBenchmark(capitals), /already registered/);
    assert.match(await engineLs(), /^ {2}\* capitals_test$/m);
    const list = formatTaskList(builtinCatalogue());
    assert.match(list, /^capitals_test\s+chat,completions\s+Capital cities/m);
    const task = resolveTask(builtinCatalogue(), { name: 'capitals_test' });
    assert.equal(task.harness, 'builtin');
    assert.ok(benchmarkNames().includes('capitals_test'));
    assert.match(serveReferenceHelp(), /capitals_test/);

    // The reference endpoint answers it; the engine runs it from its default data set (found in the folder).
    const env = { NEMO_EVALUATOR_DATASET_DIR: data };
    const endpoint = await startReferenceEndpoint({ benchmark: 'builtin.capitals_test', accuracy: 0.5, env });
    const out = join(dir, 'capitals-out');
    try {
      assert.equal(endpoint.stats().samples_indexed, 4);
      const outcome = await runEngineEval(
        {
          flags: {
            eval_type: 'builtin.capitals_test',
            model_id: 'm',
            model_url: `${endpoint.url}/v1/chat/completions`,
            output_dir: out,
          },
        },
        { env, log: silentLogger, progressStream: null },
      );
      assert.equal(outcome.status, 'success', outcome.error?.message);
      const results = parseYaml(readFileSync(join(out, 'results.yml'), 'utf8')) as Record<string, any>;
      assert.equal(results.results.tasks.capitals_test.metrics['pass@1'].scores.correct.value, 0.5);
      const lines = readFileSync(join(out, 'samples.jsonl'), 'utf8').trim().split('\n');
      const byIndex = new Map(
        lines.map((l) => {
          const line = JSON.parse(l) as { index: number; extracted: (string | null)[]; target: string };
          return [line.index, [line.extracted, line.target]] as const;
        }),
      );
      // accuracy 0.5 answers samples 1 and 3 right (in the format the regex extractor reads), 0 and 2 wrong
      assert.deepEqual(byIndex.get(1), [['Rome'], 'Rome']);
      assert.deepEqual(byIndex.get(0), [[null], 'Paris']);
      assert.equal(endpoint.stats().unknown_prompts, 0);
    } finally {
      await endpoint.close();
    }
  } finally {
    unregister();
  }
  assert.equal(getBenchmark('capitals_test'), undefined);
  assert.doesNotMatch(await engineLs(), /capitals_test/);
  assert.ok(!builtinCatalogue().tasks.some((t) => t.name === 'capitals_test'));
});

test('custom from a YAML benchmark_file (no code): named scorer and extractor, extra wins', async () => {
  const data = mkdtempSync(join(dir, 'file-'));
  writeCapitals(data);
  const file = join(data, 'capitals.yaml');
  writeFileSync(
    file,
    [
      'dataset_path: capitals.jsonl',
      'prompt_template: "Capital of {country}? Answer: <city>"',
      'target_field: capital',
      'scorer: exact_match',
      'extractor: regex',
      'answer_regex: "Answer:\\\\s*(\\\\w+)"',
      '',
    ].join('\n'),
  );
  const extra = { benchmark_file: file };
  const endpoint = await startReferenceEndpoint({ benchmark: 'custom', extra, accuracy: 0.75, env: {} });
  try {
    const custom = getBenchmark('custom')!;
    const run = await runSelfCheck({ benchmark: custom, url: endpoint.url, params: { extra }, env: {} });
    assert.equal(run.result.tasks.custom.metrics['pass@1'].scores.correct.value, 0.75);
    const prepared = await custom.prepare(
      benchmarkContext({ ...extra, prompt_template: 'Where is {country}?' }),
    );
    const [sample] = prepared.samples.samples();
    assert.equal(prepared.buildRequest(sample!).messages![0]!.content, 'Where is France?');
    const scored = await prepared.score(sample!, ['It is Answer: Paris', 'Paris']);
    assert.deepEqual(scored.extracted, ['Paris', null]);
    assert.deepEqual(scored.correct, [true, false]);
  } finally {
    await endpoint.close();
  }
  const json = join(data, 'capitals.json');
  writeFileSync(
    json,
    JSON.stringify({
      dataset_path: 'capitals.jsonl',
      prompt_template: '{country}',
      target_field: 'capital',
      scorer: 'contains',
    }),
  );
  const fromJson = await getBenchmark('custom')!.prepare(benchmarkContext({ benchmark_file: json }));
  const [s0] = fromJson.samples.samples();
  assert.deepEqual((await fromJson.score(s0!, ['I think paris.'])).correct, [true]);
});

test('custom: unknown parts and a bad benchmark_file are one-line configuration errors', async () => {
  const custom = getBenchmark('custom')!;
  await assert.rejects(
    custom.prepare(benchmarkContext({ prompt_template: '{q}', extractor: 'nope', dataset_path: 'x' })),
    (e: Error) => /custom: unknown extractor "nope" \(use one of raw, text, regex/.test(e.message),
  );
  await assert.rejects(
    custom.prepare(benchmarkContext({ benchmark_file: join(dir, 'missing.yaml') })),
    /custom: cannot read benchmark_file .*missing\.yaml/,
  );
  const list = join(dir, 'list.yaml');
  writeFileSync(list, '- a\n- b\n');
  await assert.rejects(
    custom.prepare(benchmarkContext({ benchmark_file: list })),
    /must hold a mapping of options/,
  );
});

test('per-run state: two runs of one benchmark at once keep their own options', async () => {
  const train = sharedPath('data', 'gsm8k', 'test.jsonl');
  const gsm8k = getBenchmark('gsm8k')!;
  const ctx = (shots: number) =>
    benchmarkContext(
      { dataset_path: train, fewshot_dataset_path: train, num_fewshot: shots },
      { endpointType: 'completions', params: { limit_samples: 1 } },
    );
  const [none, two] = await Promise.all([gsm8k.prepare(ctx(0)), gsm8k.prepare(ctx(2))]);
  const [sample] = none.samples.samples();
  const plain = none.buildRequest(sample!).prompt!;
  const shots = two.buildRequest(sample!).prompt!;
  assert.ok(plain.startsWith('Question: '), plain.slice(0, 80));
  assert.equal(shots.split('Question: ').length - 1, 3, 'two examples, then the question');
  assert.equal(none.buildRequest(sample!).prompt, plain, 'the first run is unchanged by the second');

  const data = mkdtempSync(join(dir, 'state-'));
  const file = writeCapitals(data);
  const custom = getBenchmark('custom')!;
  const [a, b] = await Promise.all([
    custom.prepare(
      benchmarkContext({ dataset_path: file, prompt_template: 'A {country}', target_field: 'capital' }),
    ),
    custom.prepare(
      benchmarkContext({
        dataset_path: file,
        prompt_template: 'B {country}',
        target_field: 'capital',
        scorer: 'number',
      }),
    ),
  ]);
  const [c0] = a.samples.samples();
  assert.equal(a.buildRequest(c0!).messages![0]!.content, 'A France');
  assert.equal(b.buildRequest(c0!).messages![0]!.content, 'B France');
  assert.equal(a.referenceResponse(c0!, true, 'chat'), 'Paris');
  assert.equal(b.referenceResponse(c0!, true, 'chat'), 'The answer is Paris');
});
