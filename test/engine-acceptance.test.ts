/**
 * The engine's acceptance checks, end to end through the `nemo-evaluator` CLI: real data served like the HF hub,
 * the reference endpoint on 127.0.0.1, faults, SIGTERM + resume, and the image built without a registry.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { startReferenceEndpoint } from '../src/reference-endpoint/index.js';
import { engineBin, sharedPath } from './support/paths.js';
import { startHubServer, type HubServer } from './support/hub-server.js';
import { engineImage } from './support/docker.js';

const GSM8K_N = 1319;
let hub: HubServer;

before(async () => {
  hub = await startHubServer();
});
after(async () => {
  await hub.close();
});

interface EngineRun {
  code: number | null;
  stderr: string;
  outputDir: string;
}

function engineEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    HF_ENDPOINT: hub.url,
    NEMO_EVALUATOR_CACHE_DIR: mkdtempSync(join(tmpdir(), 'nel-ds-cache-')),
    ...extra,
  };
}

function runEngine(args: string[], env: NodeJS.ProcessEnv, outputDir: string): Promise<EngineRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [engineBin(), 'run_eval', ...args, '--output_dir', outputDir], {
      env,
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.resume();
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, outputDir });
    });
  });
}

function score(outputDir: string, task: string, metric: string, scoreName = metric): number {
  const doc = parse(readFileSync(join(outputDir, 'results.yml'), 'utf8'));
  const v = doc.results.tasks[task].metrics[metric].scores[scoreName].value;
  assert.equal(typeof v, 'number');
  return v as number;
}

function sampleLines(outputDir: string): { sample_id?: string; id?: string }[] {
  return readFileSync(join(outputDir, 'samples.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

const out = () => mkdtempSync(join(tmpdir(), 'nel-engine-out-'));
const gsm8kArgs = (url: string, extra: string[] = []) => [
  '--eval_type',
  'gsm8k',
  '--model_id',
  'reference-model',
  '--model_type',
  'chat',
  '--model_url',
  `${url}/v1/chat/completions`,
  ...extra,
];

for (const accuracy of [1.0, 0.5]) {
  test(`gsm8k: all ${GSM8K_N} items at accuracy ${accuracy} score exactly ${Math.floor(GSM8K_N * accuracy)}/${GSM8K_N}`, async () => {
    const ep = await startReferenceEndpoint({
      benchmark: 'gsm8k',
      datasetPath: sharedPath('data', 'gsm8k', 'test.jsonl'),
      accuracy,
    });
    try {
      const r = await runEngine(
        gsm8kArgs(ep.url, ['--overrides', 'config.params.parallelism=32']),
        engineEnv(),
        out(),
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(score(r.outputDir, 'gsm8k', 'exact_match'), Math.floor(GSM8K_N * accuracy) / GSM8K_N);
      assert.equal(sampleLines(r.outputDir).length, GSM8K_N);
      assert.equal(ep.stats().answered_ok, GSM8K_N);
    } finally {
      await ep.close();
    }
  });
}

for (const accuracy of [1.0, 0.0]) {
  test(`humaneval: ${accuracy === 1 ? 'canonical solutions score pass@1 = 1.0' : 'a wrong answer for every task scores 0.0'}`, async () => {
    const ep = await startReferenceEndpoint({
      benchmark: 'humaneval',
      datasetPath: sharedPath('data', 'humaneval', 'HumanEval.jsonl'),
      accuracy,
    });
    try {
      const r = await runEngine(
        [
          '--eval_type',
          'humaneval',
          '--model_id',
          'reference-model',
          '--model_type',
          'completions',
          '--model_url',
          `${ep.url}/v1/completions`,
          '--overrides',
          'config.params.parallelism=8',
        ],
        engineEnv({ NEMO_EVALUATOR_ALLOW_CODE_EXECUTION: '1' }),
        out(),
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(score(r.outputDir, 'humaneval', 'pass@1'), accuracy);
      assert.equal(sampleLines(r.outputDir).length, 164);
    } finally {
      await ep.close();
    }
  });
}

test('20% injected faults (429, 500, reset): same score, every sample scored once, bounded retries', async () => {
  const data = sharedPath('data', 'gsm8k', 'test.jsonl');
  const clean = await startReferenceEndpoint({ benchmark: 'gsm8k', datasetPath: data, accuracy: 0.7 });
  const faulty = await startReferenceEndpoint({
    benchmark: 'gsm8k',
    datasetPath: data,
    accuracy: 0.7,
    faultRate: 0.2,
    faults: ['429', '500', 'reset'],
    retryAfterSeconds: 0,
    seed: 7,
  });
  try {
    const args = (url: string) =>
      gsm8kArgs(url, [
        '--overrides',
        'config.params.parallelism=16,config.params.limit_samples=300,config.params.max_retries=8',
      ]);
    const a = await runEngine(args(clean.url), engineEnv(), out());
    const b = await runEngine(args(faulty.url), engineEnv(), out());
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(score(b.outputDir, 'gsm8k', 'exact_match'), score(a.outputDir, 'gsm8k', 'exact_match'));
    const ids = sampleLines(b.outputDir).map((s) => s.sample_id ?? s.id);
    assert.equal(ids.length, 300);
    assert.equal(new Set(ids).size, 300);
    const st = faulty.stats();
    const faults = st.total - st.answered_ok;
    assert.ok(faults > 20, `expected injected faults, saw ${faults}`);
    assert.equal(st.answered_ok, 300, 'each sample answered once');
    assert.ok(st.max_body_repeats <= 9, `a request was tried ${st.max_body_repeats} times (max_retries 8)`);
  } finally {
    await clean.close();
    await faulty.close();
  }
});

test('SIGTERM mid-run, then a rerun in the same dir: results equal an uninterrupted run; each request sent once', async () => {
  const data = sharedPath('data', 'gsm8k', 'test.jsonl');
  const ep = await startReferenceEndpoint({
    benchmark: 'gsm8k',
    datasetPath: data,
    accuracy: 0.6,
    latencyMs: 20,
  });
  const ref = await startReferenceEndpoint({ benchmark: 'gsm8k', datasetPath: data, accuracy: 0.6 });
  try {
    const overrides = ['--overrides', 'config.params.parallelism=4,config.params.limit_samples=400'];
    const dir = out();
    const env = engineEnv();
    const child = spawn(
      process.execPath,
      [engineBin(), 'run_eval', ...gsm8kArgs(ep.url, overrides), '--output_dir', dir],
      {
        env,
        stdio: 'ignore',
      },
    );
    const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const p = join(dir, 'progress');
      if (existsSync(p) && Number(readFileSync(p, 'utf8')) >= 60) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGTERM');
    const code = await exited;
    assert.equal(code, 0, 'SIGTERM exits cleanly (the launcher maps the marker to 143)');
    assert.ok(existsSync(join(dir, '.nemo_evaluator_interrupted')), 'interrupted marker written');
    assert.ok(!existsSync(join(dir, 'results.yml')), 'no results presented after an interrupted run');
    const answeredBefore = ep.stats().answered_ok;
    assert.ok(answeredBefore >= 60 && answeredBefore < 400, `answered before SIGTERM: ${answeredBefore}`);

    const rerun = await runEngine(gsm8kArgs(ep.url, overrides), env, dir);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.ok(!existsSync(join(dir, '.nemo_evaluator_interrupted')));
    const whole = await runEngine(gsm8kArgs(ref.url, overrides), engineEnv(), out());
    assert.equal(whole.code, 0, whole.stderr);
    assert.equal(score(dir, 'gsm8k', 'exact_match'), score(whole.outputDir, 'gsm8k', 'exact_match'));
    const st = ep.stats();
    assert.equal(st.answered_ok, 400, 'the two runs together sent each of the 400 requests once');
    assert.equal(st.max_body_repeats_ok, 1);
  } finally {
    await ep.close();
    await ref.close();
  }
});

test('the image built without a registry runs run_eval with --network host and writes results.yml to /results', async (t) => {
  const image = engineImage(t);
  if (!image) return;
  const data = sharedPath('data', 'gsm8k', 'test.jsonl');
  const ep = await startReferenceEndpoint({ benchmark: 'gsm8k', datasetPath: data, accuracy: 1 });
  const dir = out();
  try {
    // async: the reference endpoint runs in this process and must keep answering while docker runs
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('docker', [
        'run',
        '--rm',
        '--init',
        '--network',
        'host',
        '-v',
        `${dir}:/results`,
        '-v',
        `${dirname(data)}:/datasets:ro`,
        '-e',
        'NEMO_EVALUATOR_DATASET_DIR=/datasets',
        image,
        'nemo-evaluator',
        'run_eval',
        ...gsm8kArgs(ep.url, ['--overrides', 'config.params.limit_samples=50,config.params.parallelism=8']),
        '--output_dir',
        '/results',
      ]);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
      child.on('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
    });
    assert.equal(r.status, 0, `${r.stderr}\n${r.stdout}`);
    assert.equal(score(dir, 'gsm8k', 'exact_match'), 1);
    assert.equal(ep.stats().answered_ok, 50);
  } finally {
    await ep.close();
  }
});
