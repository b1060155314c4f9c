import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getBenchmark } from '../src/engine/benchmarks/index.js';
import { renderTemplate, scoreCustomResponse, customOptions } from '../src/engine/benchmarks/custom.js';
import { startReferenceEndpoint } from '../src/reference-endpoint/index.js';
import { runSelfCheck } from '../src/reference-endpoint/self-check.js';
import { benchmarkContext, runSamples } from './support/benchmark-run.js';

const dir = mkdtempSync(join(tmpdir(), 'nel-custom-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const custom = getBenchmark('custom')!;

async function run(extra: Record<string, unknown>, accuracy: number, env: NodeJS.ProcessEnv = {}) {
  const endpoint = await startReferenceEndpoint({ benchmark: 'custom', extra, accuracy, env });
  try {
    return await runSelfCheck({ benchmark: custom, url: endpoint.url, params: { extra }, env });
  } finally {
    await endpoint.close();
  }
}

test('custom JSONL with a template, exact_match, system prompt: BYOB-style results', async () => {
  const file = join(dir, 'capitals.jsonl');
  const rows = ['France:Paris', 'Italy:Rome', 'Spain:Madrid', 'Peru:Lima'].map((p) => {
    const [country, capital] = p.split(':');
    return JSON.stringify({ country, answer: capital });
  });
  writeFileSync(file, rows.join('\n') + '\n');
  const extra = {
    dataset_path: file,
    prompt_template: 'What is the capital of {country}? Reply with the name only. {{literal}}',
    target_field: 'answer',
    system_prompt: 'Be brief.',
  };
  const full = await run(extra, 1);
  assert.equal(full.result.tasks.custom.metrics['pass@1'].scores.correct.value, 1);
  const half = await run(extra, 0.5);
  assert.equal(half.result.tasks.custom.metrics['pass@1'].scores.correct.value, 0.5);
  const request = (await custom.prepare(benchmarkContext(extra))).buildRequest({
    id: '0',
    index: 0,
    data: { country: 'France', answer: 'Paris' },
  });
  assert.deepEqual(request.messages, [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'What is the capital of France? Reply with the name only. {literal}' },
  ]);
});

test('custom CSV from NEMO_EVALUATOR_DATASET_DIR with the number scorer', async () => {
  const sub = mkdtempSync(join(dir, 'ds-'));
  writeFileSync(join(sub, 'math.csv'), 'q,target\n"2+2, doubled",8\n3*3,9\n10/4,2.5\n1+1,2\n');
  const extra = { dataset_path: 'math.csv', prompt_template: 'Compute {q}.', scorer: 'number' };
  const env = { NEMO_EVALUATOR_DATASET_DIR: sub };
  const r = await run(extra, 0.75, env);
  assert.equal(r.result.tasks.custom.metrics['pass@1'].scores.correct.value, 0.75);
  assert.deepEqual(r.scores[2].extracted, ['2.5']);
});

test('custom multiple_choice with choices_field and {choices}', async () => {
  const file = join(dir, 'mc.jsonl');
  const rows = Array.from({ length: 8 }, (_v, i) => ({
    question: `Pick ${i}`,
    options: ['x', 'y', String(i), 'z'],
    target: i % 2 ? 'C' : String(i),
  }));
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const extra = {
    dataset_path: file,
    prompt_template: '{question}\n{choices}\nAnswer with "Answer: X".',
    scorer: 'multiple_choice',
    choices_field: 'options',
  };
  const r = await run(extra, 1);
  assert.equal(r.result.tasks.custom.metrics['pass@1'].scores.correct.value, 1);
  assert.equal(
    renderTemplate(extra.prompt_template, rows[0], rows[0].options),
    'Pick 0\nA) x\nB) y\nC) 0\nD) z\nAnswer with "Answer: X".',
  );
});

test('custom scorers: contains, regex, exact_match with answer_regex', () => {
  const sample = { id: '0', index: 0, data: { target: 'Paris' } };
  const contains = customOptions({ prompt_template: 'x', scorer: 'contains' });
  assert.equal(scoreCustomResponse('It is paris, of course', sample, contains).correct, true);
  assert.equal(scoreCustomResponse('It is Rome', sample, contains).correct, false);
  const regex = customOptions({ prompt_template: 'x', scorer: 'regex' });
  const regexSample = { id: '0', index: 0, data: { target: '^\\d{3}$' } };
  assert.equal(scoreCustomResponse('123', regexSample, regex).correct, true);
  assert.equal(scoreCustomResponse('1234', regexSample, regex).correct, false);
  const em = customOptions({ prompt_template: 'x', answer_regex: 'FINAL: (\\w+)' });
  assert.deepEqual(scoreCustomResponse('thinking... FINAL: paris', sample, em), {
    extracted: 'paris',
    correct: true,
  });
});

test('custom reports configuration mistakes in one line', async () => {
  const ctx = (extra: Record<string, unknown>) => ({
    params: {},
    extra,
    endpointType: 'chat' as const,
    outputDir: dir,
    env: {},
    log: () => undefined,
    signal: new AbortController().signal,
  });
  await assert.rejects(runSamples(custom, ctx({ dataset_path: 'x.jsonl' })), /prompt_template is required/);
  await assert.rejects(
    runSamples(custom, ctx({ prompt_template: '{q}', scorer: 'bleu' })),
    /unknown scorer "bleu"/,
  );
  await assert.rejects(runSamples(custom, ctx({ prompt_template: '{q}' })), /dataset_path is required/);
  const file = join(dir, 'missing.jsonl');
  writeFileSync(file, '{"q": "a", "target": "b"}\n{"target": "c"}\n');
  await assert.rejects(
    runSamples(custom, ctx({ prompt_template: '{q}', dataset_path: file })),
    /record 1: prompt_template has a missing field "q"/,
  );
});
