import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { getBenchmark } from '../src/engine/benchmarks/index.js';
import { assertCodeExecutionAllowed, runPythonProgram } from '../src/engine/benchmarks/code-execution.js';
import { startReferenceEndpoint } from '../src/reference-endpoint/index.js';
import { runSelfCheck } from '../src/reference-endpoint/self-check.js';
import { sharedPath } from './support/paths.js';

const DATA = sharedPath('data', 'humaneval', 'HumanEval.jsonl');
const humaneval = getBenchmark('humaneval')!;
const ALLOW = { NEMO_EVALUATOR_ALLOW_CODE_EXECUTION: '1' };

function havePython(): boolean {
  try {
    execFileSync('python3', ['-c', 'pass'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}
const skip = havePython() ? false : 'python3 is not installed';

async function passAt1(
  accuracy: number,
  endpointType: 'chat' | 'completions',
  extra: Record<string, unknown> = {},
  limit: number | null = null,
) {
  const endpoint = await startReferenceEndpoint({ benchmark: 'humaneval', datasetPath: DATA, accuracy });
  try {
    const run = await runSelfCheck({
      benchmark: humaneval,
      url: endpoint.url,
      endpointType,
      params: { limit_samples: limit, extra: { dataset_path: DATA, ...extra } },
      env: ALLOW,
      concurrency: 8,
    });
    return run;
  } finally {
    await endpoint.close();
  }
}

// The full 164 tasks run through the engine CLI in test/engine-acceptance.test.ts; 40 here keep CI short.
test('humaneval: canonical solutions pass (completions, first 40 tasks)', { skip }, async () => {
  const run = await passAt1(1, 'completions', {}, 40);
  const s = run.result.tasks.humaneval.metrics['pass@1'].scores['pass@1'];
  assert.equal(s.stats.count, 40);
  assert.equal(s.value, 1);
});

test(
  'humaneval: chat replies with a fenced full function pass, wrong answers all fail',
  { skip },
  async () => {
    const right = await passAt1(1, 'chat', {}, 40);
    assert.equal(right.result.tasks.humaneval.metrics['pass@1'].scores['pass@1'].value, 1);
    const wrong = await passAt1(0, 'chat', {}, 40);
    assert.equal(wrong.result.tasks.humaneval.metrics['pass@1'].scores['pass@1'].value, 0);
  },
);

test(
  'humaneval: a wrong answer for every task scores 0.0 (completions, first 40 tasks)',
  { skip },
  async () => {
    const run = await passAt1(0, 'completions', {}, 40);
    const s = run.result.tasks.humaneval.metrics['pass@1'].scores['pass@1'];
    assert.equal(s.stats.count, 40);
    assert.equal(s.value, 0);
  },
);

test('humaneval: pass@k over n_samples with the unbiased estimator', { skip }, async () => {
  const run = await passAt1(0.5, 'completions', { n_samples: 3, k: [1, 2, 5] }, 20);
  const metrics = run.result.tasks.humaneval.metrics;
  assert.deepEqual(Object.keys(metrics).sort(), ['pass@1', 'pass@2']); // k=5 > n_samples is dropped
  assert.equal(metrics['pass@1'].scores['pass@1'].value, 10 / 20);
  assert.equal(metrics['pass@2'].scores['pass@2'].value, 10 / 20);
  assert.equal(metrics['pass@1'].scores['pass@1'].stats.count, 20);
});

test('humaneval: an infinite loop is killed at the timeout and fails', { skip }, async () => {
  const run = await humaneval.prepare(ctxFor({ dataset_path: DATA, timeout: 1 }, 2));
  const [first] = run.samples.samples();
  const score = await run.score(first!, ['    while True:\n        pass\n']);
  assert.deepEqual(score.correct, [false]);
  assert.deepEqual(score.extracted, ['timed out']);
});

test('sandbox: no sockets, no subprocesses, limits applied', { skip }, async () => {
  const program = [
    'import socket, subprocess',
    'try:',
    '    socket.socket()',
    '    raise SystemExit(1)',
    'except OSError:',
    '    pass',
    'assert subprocess.Popen is None',
    'import resource',
    'assert resource.getrlimit(resource.RLIMIT_CPU)[0] == 3',
    '',
  ].join('\n');
  const r = await runPythonProgram(program, { timeoutSeconds: 3 });
  assert.equal(r.status, 'passed', r.stderr);
});

test('humaneval: refuses to run model code on the host without an opt-in', () => {
  assert.throws(
    () => assertCodeExecutionAllowed('humaneval', {}, {}, '/nonexistent/.dockerenv'),
    (e: Error) =>
      /untrusted model-written code/.test(e.message) &&
      /NEMO_EVALUATOR_ALLOW_CODE_EXECUTION=1/.test((e as { hint?: string }).hint ?? ''),
  );
  assert.doesNotThrow(() =>
    assertCodeExecutionAllowed('humaneval', {}, { allow_code_execution: true }, '/nonexistent'),
  );
  assert.doesNotThrow(() =>
    assertCodeExecutionAllowed('humaneval', { NEMO_EVALUATOR_IN_CONTAINER: '1' }, {}, '/nonexistent'),
  );
});

test(
  'humaneval: prepare checks the opt-in before loading data',
  { skip: existsSync('/.dockerenv') ? 'running in a container' : false },
  async () => {
    await assert.rejects(
      humaneval.prepare(ctxFor({ dataset_path: DATA }, 1, {})),
      /untrusted model-written code/,
    );
  },
);

function ctxFor(extra: Record<string, unknown>, limit: number, env: NodeJS.ProcessEnv = ALLOW) {
  return {
    params: { limit_samples: limit, extra },
    extra,
    endpointType: 'completions' as const,
    outputDir: '.',
    env,
    log: () => undefined,
    signal: new AbortController().signal,
  };
}
