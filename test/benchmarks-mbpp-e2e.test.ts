import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { getBenchmark } from '../src/engine/benchmarks/index.js';
import { startReferenceEndpoint } from '../src/reference-endpoint/index.js';
import { isCorrectAt } from '../src/reference-endpoint/server.js';
import { runSelfCheck } from '../src/reference-endpoint/self-check.js';
import { benchmarkContext } from './support/benchmark-run.js';
import { engineBin, sharedPath } from './support/paths.js';

const DATA = sharedPath('data', 'mbpp', 'mbpp.jsonl');
const mbpp = getBenchmark('mbpp')!;
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

async function selfCheck(
  accuracy: number,
  endpointType: 'chat' | 'completions',
  extra: Record<string, unknown>,
  limit: number | null = null,
) {
  const endpoint = await startReferenceEndpoint({ benchmark: 'mbpp', datasetPath: DATA, accuracy });
  try {
    return await runSelfCheck({
      benchmark: mbpp,
      url: endpoint.url,
      endpointType,
      params: { limit_samples: limit, extra: { dataset_path: DATA, ...extra } },
      env: ALLOW,
      concurrency: 8,
    });
  } finally {
    await endpoint.close();
  }
}

/**
 * Whether the reference endpoint answers each problem right at `accuracy`. It answers by prompt, and two
 * test problems share one prompt (76 and 347: the same description and first test), so a problem gets
 * the answer of the first one with its prompt.
 */
async function expectedVerdicts(endpointType: 'chat' | 'completions', accuracy: number): Promise<boolean[]> {
  const extra = { dataset_path: DATA, n_samples: 1 };
  const run = await mbpp.prepare(benchmarkContext(extra, { endpointType, env: ALLOW }));
  const firstWithPrompt = new Map<string, number>();
  return Array.from(run.samples.samples(), (s) => {
    const key = JSON.stringify(run.buildRequest(s));
    if (!firstWithPrompt.has(key)) firstWithPrompt.set(key, s.index);
    return isCorrectAt(firstWithPrompt.get(key)!, accuracy);
  });
}

// All 500 test problems, half answered right and half wrong by the reference endpoint: each right reply
// (the canonical code) passes and each wrong one fails.
for (const endpointType of ['completions', 'chat'] as const) {
  test(
    `mbpp ${endpointType}: end to end against the reference endpoint, 500 problems, right replies pass and wrong ones fail`,
    { skip },
    async () => {
      const expected = await expectedVerdicts(endpointType, 0.5);
      // 20 s: 123's canonical solution needs 4-5 s of CPU here, over the default 3 s (bigcode's)
      const run = await selfCheck(0.5, endpointType, { n_samples: 1, timeout: 20 });
      const s = run.result.tasks.mbpp.metrics['pass@1'].scores['pass@1'];
      assert.equal(s.stats.count, 500);
      const disagreements = run.scores
        .map((score, i) => ({ id: score.sampleId, expected: expected[i], got: score.correct![0] }))
        .filter((x) => x.expected !== x.got);
      assert.deepEqual(disagreements, []);
      const right = expected.filter(Boolean).length;
      assert.equal(right, 251); // 250 by index, plus 347 answered as 76
      assert.equal(s.value, right / 500);
      assert.deepEqual(Object.keys(run.result.tasks.mbpp.metrics), ['pass@1']);
    },
  );
}

test('mbpp: every reply wrong scores 0 (chat and completions)', { skip }, async () => {
  for (const endpointType of ['completions', 'chat'] as const) {
    const run = await selfCheck(0, endpointType, { n_samples: 1 }, 40);
    const s = run.result.tasks.mbpp.metrics['pass@1'].scores['pass@1'];
    assert.equal(s.stats.count, 40);
    assert.equal(s.value, 0);
  }
});

test('mbpp: n_samples 3 end to end, pass@k for the requested k up to n', { skip }, async () => {
  const run = await selfCheck(0.5, 'completions', { n_samples: 3, k: [1, 2, 5] }, 20);
  const metrics = run.result.tasks.mbpp.metrics;
  assert.deepEqual(Object.keys(metrics).sort(), ['pass@1', 'pass@2']); // k=5 > n_samples is dropped
  assert.ok(run.responses.every((r) => r.length === 3));
  // the reference endpoint answers all three samples of a problem alike: pass@k = the fraction right
  assert.equal(metrics['pass@1'].scores['pass@1'].value, 10 / 20);
  assert.equal(metrics['pass@2'].scores['pass@2'].value, 10 / 20);
});

test(
  'mbpp: the engine CLI (run_eval, completions, n_samples 2) runs the programs and exits; default k 1, 10, 100 gives pass@1',
  { skip },
  async () => {
    const endpoint = await startReferenceEndpoint({ benchmark: 'mbpp', datasetPath: DATA, accuracy: 0.5 });
    const outputDir = mkdtempSync(join(tmpdir(), 'nel-mbpp-cli-'));
    try {
      const args = [
        engineBin(),
        'run_eval',
        '--eval_type',
        'mbpp',
        '--model_id',
        'reference-model',
        '--model_type',
        'completions',
        '--model_url',
        `${endpoint.url}/v1/completions`,
        '--overrides',
        `config.params.parallelism=8,config.params.limit_samples=40,config.params.extra.n_samples=2,config.params.extra.dataset_path=${DATA}`,
        '--output_dir',
        outputDir,
      ];
      const env = { PATH: process.env.PATH, HOME: process.env.HOME, ...ALLOW };
      const code = await new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, args, { env, stdio: 'ignore' });
        const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
        child.on('close', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      assert.equal(code, 0);
      const doc = parseYaml(readFileSync(join(outputDir, 'results.yml'), 'utf8')) as {
        results: {
          tasks: { mbpp: { metrics: Record<string, { scores: Record<string, { value: number }> }> } };
        };
      };
      const metrics = doc.results.tasks.mbpp.metrics;
      assert.deepEqual(Object.keys(metrics), ['pass@1']); // 10 and 100 exceed n_samples, as in bigcode
      assert.equal(metrics['pass@1']!.scores['pass@1']!.value, 0.5);
      const samples = readFileSync(join(outputDir, 'samples.jsonl'), 'utf8').split('\n').filter(Boolean);
      assert.equal(samples.length, 40);
    } finally {
      await endpoint.close();
      rmSync(outputDir, { recursive: true, force: true });
    }
  },
);
