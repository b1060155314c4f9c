import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parse as parseYaml } from 'yaml';
import { runEngineEval, runEvaluation } from '../src/engine/evaluate.js';
import { sharedPath } from './support/paths.js';
import { silentLogger } from '../src/engine/logging.js';
import { resolveRunConfig } from '../src/engine/run-config.js';
import type { Benchmark } from '../src/engine/benchmarks/types.js';
import {
  arithmeticBenchmark,
  startTestServer,
  twentyPercentFaults,
  type TestServer,
} from './engine-fixtures.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'engine-eval-'));
}

function evaluationFor(
  benchmark: Benchmark,
  server: TestServer,
  outputDir: string,
  extra: Record<string, unknown> = {},
) {
  const { evaluation } = resolveRunConfig({
    runConfig: {
      config: { type: benchmark.name, output_dir: outputDir, params: { parallelism: 4, ...extra } },
      target: { api_endpoint: { url: server.url, model_id: 'test-model', api_key_name: 'ENGINE_TEST_KEY' } },
      metadata: { versioning: { nemo_evaluator_launcher: '0.1.0' }, launcher_command: 'nel run' },
    },
    resolver: { get: (n) => (n === benchmark.name ? benchmark : undefined), list: () => [benchmark] },
  });
  return evaluation;
}

const noSleep = async (): Promise<void> => undefined;

test('a run writes every output file and scores each sample once', async () => {
  const server = await startTestServer();
  const out = tempDir();
  try {
    const bench = arithmeticBenchmark({ size: 12 });
    const outcome = await runEvaluation(evaluationFor(bench, server, out), {
      benchmark: bench,
      log: silentLogger,
      progressStream: null,
      env: { ENGINE_TEST_KEY: 'sk-canary-123' },
    });
    assert.equal(outcome.status, 'success', outcome.error?.message);
    assert.equal(server.requests, 12);
    for (const f of [
      'run_config.yml',
      'results.yml',
      'metadata.yaml',
      'eval_factory_metrics.json',
      'samples.jsonl',
      'report.json',
      'report.html',
      'progress',
      'progress_total',
      'run_times/runtime_0.json',
    ]) {
      assert.ok(existsSync(join(out, f)), `${f} missing`);
    }
    const results = parseYaml(readFileSync(join(out, 'results.yml'), 'utf8')) as Record<string, any>;
    assert.deepEqual(Object.keys(results), [
      'command',
      'config',
      'git_hash',
      'metadata',
      'results',
      'target',
    ]);
    assert.equal(results.results.tasks.arithmetic.metrics.exact_match.scores.exact_match.value, 1);
    assert.equal(results.metadata.__skipped_fields, 'see metadata.yaml for the rest of the fields');
    assert.equal(results.target.api_endpoint.url, server.url);
    assert.equal(results.config.params.parallelism, 4);
    const lines = readFileSync(join(out, 'samples.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 12);
    assert.deepEqual(
      lines.map((l) => l.sample_id).sort(),
      Array.from({ length: 12 }, (_, i) => `arith/${i}`).sort(),
    );
    assert.equal(lines[0].scores.exact_match, 1);
    assert.equal(readFileSync(join(out, 'progress'), 'utf8').trim(), '12');
    assert.equal(readFileSync(join(out, 'progress_total'), 'utf8').trim(), '12');
    const metrics = JSON.parse(readFileSync(join(out, 'eval_factory_metrics.json'), 'utf8'));
    assert.equal(metrics.response_stats.count, 12);
    assert.equal(metrics.response_stats.status_codes['200'], 12);
    assert.equal(metrics.response_stats.avg_total_tokens, 15);
    assert.equal(metrics.evaluation.total_runs, 1);
    assert.doesNotMatch(metrics.evaluation.start_time, /%f/);
    const metadata = parseYaml(readFileSync(join(out, 'metadata.yaml'), 'utf8')) as Record<string, any>;
    assert.equal(metadata.launcher_command, 'nel run');
    assert.ok(metadata.versioning.nemo_evaluator);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    assert.equal(report.length, 5);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    // the job report embeds the reply as JSON with <, > and & escaped (test/report-browser.test.ts renders it)
    assert.match(html, /\\u003cb\\u003e\\u0026\\u003c\/b\\u003e/);
    assert.doesNotMatch(html, /<b>&<\/b>/);
    // The key reached the endpoint but no file holds it.
    assert.ok(server.authHeaders.every((h) => h === 'Bearer sk-canary-123'));
    for (const f of [
      'run_config.yml',
      'results.yml',
      'eval_factory_metrics.json',
      'report.json',
      'report.html',
      'samples.jsonl',
    ]) {
      assert.doesNotMatch(readFileSync(join(out, f), 'utf8'), /sk-canary-123/);
    }
    const runConfig = parseYaml(readFileSync(join(out, 'run_config.yml'), 'utf8')) as Record<string, any>;
    assert.deepEqual(
      runConfig.target.api_endpoint.adapter_config.interceptors.map((i: { name: string }) => i.name),
      ['caching', 'endpoint', 'response_stats'],
    );
    assert.equal(runConfig.config.required_capabilities, null);
  } finally {
    await server.close();
    rmSync(out, { recursive: true, force: true });
  }
});

test('a rerun in the same output dir sends no requests and gives the same results', async () => {
  const server = await startTestServer();
  const out = tempDir();
  try {
    const bench = arithmeticBenchmark({ size: 10 });
    const first = await runEvaluation(evaluationFor(bench, server, out), {
      benchmark: bench,
      log: silentLogger,
      progressStream: null,
    });
    assert.equal(first.status, 'success');
    assert.equal(server.requests, 10);
    const second = await runEvaluation(evaluationFor(bench, server, out), {
      benchmark: bench,
      log: silentLogger,
      progressStream: null,
    });
    assert.equal(second.status, 'success');
    assert.equal(server.requests, 10, 'rerun must be served from the cache');
    assert.deepEqual(second.results, first.results);
    assert.equal(readFileSync(join(out, 'progress'), 'utf8').trim(), '10');
    assert.ok(existsSync(join(out, 'run_times', 'runtime_1.json')));
    const metrics = JSON.parse(readFileSync(join(out, 'eval_factory_metrics.json'), 'utf8'));
    assert.equal(metrics.evaluation.total_runs, 2);
    assert.equal(metrics.response_stats.run_id, 1);
    // The cache is plain SQL in the diskcache layout.
    const db = new Database(join(out, 'cache', 'responses', 'cache.db'), { readonly: true });
    const rows = db.prepare('SELECT key, raw, mode, value FROM Cache').all() as {
      key: string;
      raw: number;
      mode: number;
      value: Buffer;
    }[];
    const policy = db.prepare("SELECT value FROM Settings WHERE key = 'eviction_policy'").get() as {
      value: string;
    };
    db.close();
    assert.equal(rows.length, 10);
    assert.ok(rows.every((r) => r.raw === 1 && r.mode === 1 && /^[0-9a-f]{64}$/.test(r.key)));
    assert.equal(JSON.parse(rows[0]!.value.toString('utf8')).object, 'chat.completion');
    assert.equal(policy.value, 'least-recently-stored');
  } finally {
    await server.close();
    rmSync(out, { recursive: true, force: true });
  }
});

test('20% injected faults (429 with Retry-After, 500, reset) leave the scores unchanged, with bounded retries', async () => {
  const clean = await startTestServer();
  const faulty = await startTestServer({ faultFor: twentyPercentFaults(), retryAfter: '1' });
  const outA = tempDir();
  const outB = tempDir();
  try {
    const bench = arithmeticBenchmark({ size: 60 });
    const a = await runEvaluation(evaluationFor(bench, clean, outA), {
      benchmark: bench,
      log: silentLogger,
      progressStream: null,
    });
    const sleeps: number[] = [];
    const b = await runEvaluation(evaluationFor(bench, faulty, outB), {
      benchmark: bench,
      log: silentLogger,
      progressStream: null,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    assert.equal(b.status, 'success', b.error?.message);
    assert.deepEqual(b.results, a.results);
    const faults =
      (faulty.byStatus['429'] ?? 0) + (faulty.byStatus['500'] ?? 0) + (faulty.byStatus['0'] ?? 0);
    assert.ok(faults >= 6, `expected injected faults, got ${faults}`);
    assert.ok(faulty.byStatus['429']! > 0 && faulty.byStatus['500']! > 0 && faulty.byStatus['0']! > 0);
    assert.equal(faulty.byStatus['200'], 60);
    assert.equal(faulty.requests, 60 + faults, 'one retry per injected fault');
    for (const n of faulty.answeredPerBody.values()) assert.equal(n, 1);
    for (const n of faulty.attemptsPerBody.values()) assert.ok(n <= 2);
    assert.ok(sleeps.includes(1000), 'Retry-After: 1 honoured');
    assert.equal(sleeps.length, faults);
    const lines = readFileSync(join(outB, 'samples.jsonl'), 'utf8').trim().split('\n');
    assert.equal(lines.length, 60);
    assert.equal(new Set(lines.map((l) => JSON.parse(l).sample_id)).size, 60);
  } finally {
    await clean.close();
    await faulty.close();
    rmSync(outA, { recursive: true, force: true });
    rmSync(outB, { recursive: true, force: true });
  }
});

test('a request that keeps failing fails the run without results.yml', async () => {
  const server = await startTestServer({
    faultFor: ({ requestNumber }) => (requestNumber >= 3 ? '500' : null),
  });
  const out = tempDir();
  try {
    const bench = arithmeticBenchmark({ size: 8 });
    const outcome = await runEvaluation(
      evaluationFor(bench, server, out, { max_retries: 2, parallelism: 1 }),
      {
        benchmark: bench,
        log: silentLogger,
        progressStream: null,
        sleep: noSleep,
      },
    );
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.error!.message, /after 3 attempts.*HTTP 500/);
    assert.ok(!existsSync(join(out, 'results.yml')));
    assert.equal(server.requests, 2 + 3);
  } finally {
    await server.close();
    rmSync(out, { recursive: true, force: true });
  }
});

test('n_samples repeats are cached separately and all scored', async () => {
  const server = await startTestServer();
  const out = tempDir();
  try {
    const bench = arithmeticBenchmark({ size: 5 });
    const ev = evaluationFor(bench, server, out, { extra: { n_samples: 3 } });
    const outcome = await runEvaluation(ev, { benchmark: bench, log: silentLogger, progressStream: null });
    assert.equal(outcome.status, 'success');
    assert.equal(server.requests, 15);
    assert.equal(readFileSync(join(out, 'progress_total'), 'utf8').trim(), '15');
    const lines = readFileSync(join(out, 'samples.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 5);
    assert.ok(lines.every((l) => l.responses.length === 3));
    const again = await runEvaluation(evaluationFor(bench, server, out, { extra: { n_samples: 3 } }), {
      benchmark: bench,
      log: silentLogger,
      progressStream: null,
    });
    assert.equal(again.status, 'success');
    assert.equal(server.requests, 15);
  } finally {
    await server.close();
    rmSync(out, { recursive: true, force: true });
  }
});

test('a stop signal (SIGTERM): in-flight requests finish, the marker is written, a rerun completes from the cache', async () => {
  const stop = new AbortController();
  let replies = 0;
  const server = await startTestServer({
    latencyMs: 20,
    reply: (prompt) => {
      if (++replies === 15) stop.abort('SIGTERM');
      const m = /What is (\d+) \+ (\d+)\?/.exec(prompt)!;
      return `The answer is ${Number(m[1]) + Number(m[2])}`;
    },
  });
  const out = tempDir();
  try {
    const bench = arithmeticBenchmark({ size: 40 });
    const outcome = await runEvaluation(evaluationFor(bench, server, out, { parallelism: 2 }), {
      benchmark: bench,
      log: silentLogger,
      progressStream: null,
      signal: stop.signal,
    });
    assert.equal(outcome.status, 'interrupted');
    assert.equal(outcome.stopReason, 'SIGTERM');
    assert.ok(existsSync(join(out, '.nemo_evaluator_interrupted')));
    assert.ok(!existsSync(join(out, 'results.yml')));
    const firstRequests = server.requests;
    assert.ok(firstRequests >= 15 && firstRequests <= 16, `sent ${firstRequests}`);
    assert.equal(outcome.requestsAnswered, firstRequests, 'in-flight requests were answered, not dropped');
    const rerun = await runEvaluation(evaluationFor(bench, server, out, { parallelism: 2 }), {
      benchmark: bench,
      log: silentLogger,
      progressStream: null,
    });
    assert.equal(rerun.status, 'success');
    assert.ok(!existsSync(join(out, '.nemo_evaluator_interrupted')), 'stale marker removed');
    assert.equal(server.requests, 40);
    for (const n of server.answeredPerBody.values()) assert.equal(n, 1);
    assert.equal(rerun.results!.tasks.arithmetic!.metrics.exact_match!.scores.exact_match!.value, 1);
  } finally {
    await server.close();
    rmSync(out, { recursive: true, force: true });
  }
});

test('raise_client_errors ends the run: exit status failed and the server-error marker', async () => {
  const server = await startTestServer({
    faultFor: ({ requestNumber }) => (requestNumber === 3 ? '400' : null),
  });
  const out = tempDir();
  try {
    const bench = arithmeticBenchmark({ size: 6 });
    const ev = evaluationFor(bench, server, out, { parallelism: 1 });
    ev.target.api_endpoint.adapter_config = { use_raise_client_errors: true };
    const outcome = await runEvaluation(ev, {
      benchmark: bench,
      log: silentLogger,
      progressStream: null,
      sleep: noSleep,
    });
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.error!.message, /HTTP 400/);
    assert.match(readFileSync(join(out, '.nemo_evaluator_server_error'), 'utf8'), /HTTP 400/);
    assert.ok(!existsSync(join(out, 'results.yml')));
    assert.equal(server.requests, 3, 'nothing sent after the fatal error');
  } finally {
    await server.close();
    rmSync(out, { recursive: true, force: true });
  }
});

test('runEngineEval: the built-in gsm8k benchmark through the reference endpoint scores the expected fraction', async () => {
  const { startReferenceEndpoint } = await import('../src/reference-endpoint/index.js');
  const dataset = sharedPath('data', 'gsm8k', 'test.jsonl');
  const endpoint = await startReferenceEndpoint({ benchmark: 'gsm8k', datasetPath: dataset, accuracy: 0.5 });
  const out = tempDir();
  try {
    const outcome = await runEngineEval(
      {
        flags: {
          eval_type: 'gsm8k',
          model_id: 'm',
          model_url: `${endpoint.url}/v1/chat/completions`,
          output_dir: out,
        },
        overrides: `config.params.limit_samples=100,config.params.extra.dataset_path=${dataset}`,
      },
      { log: silentLogger, progressStream: null },
    );
    assert.equal(outcome.status, 'success', outcome.error?.message);
    const results = parseYaml(readFileSync(join(out, 'results.yml'), 'utf8')) as Record<string, any>;
    const value = results.results.tasks.gsm8k.metrics.exact_match.scores.exact_match.value;
    // The endpoint answers sample i correctly when floor((i+1)/2) > floor(i/2): 50 of the first 100.
    assert.equal(value, 0.5);
    assert.equal(readFileSync(join(out, 'samples.jsonl'), 'utf8').trim().split('\n').length, 100);
  } finally {
    await endpoint.close();
    rmSync(out, { recursive: true, force: true });
  }
});

test('explicit interceptors shape what reaches the endpoint; completions endpoints use prompt/text', async () => {
  const server = await startTestServer();
  const out = tempDir();
  const out2 = tempDir();
  try {
    const bench = arithmeticBenchmark({ size: 3 });
    const ev = evaluationFor(bench, server, out, { parallelism: 1 });
    ev.target.api_endpoint.adapter_config = {
      interceptors: [
        { name: 'system_message', config: { system_message: 'be brief' } },
        { name: 'payload_modifier', config: { params_to_remove: ['top_p'], params_to_add: { seed: 11 } } },
        'endpoint',
      ],
    };
    const a = await runEvaluation(ev, { benchmark: bench, log: silentLogger, progressStream: null });
    assert.equal(a.status, 'success', a.error?.message);
    const sent = server.bodies[0] as Record<string, any>;
    assert.deepEqual(sent.messages[0], { role: 'system', content: 'be brief' });
    assert.equal(sent.seed, 11);
    assert.ok(!('top_p' in sent));
    assert.ok(!existsSync(join(out, 'cache')), 'no caching interceptor configured');

    const comp = evaluationFor(bench, server, out2, { parallelism: 1 });
    comp.target.api_endpoint.type = 'completions';
    const b = await runEvaluation(comp, { benchmark: bench, log: silentLogger, progressStream: null });
    assert.equal(b.status, 'success', b.error?.message);
    const last = server.bodies.at(-1) as Record<string, any>;
    assert.equal(last.prompt, 'What is 2 + 5?\nAnswer:');
    assert.equal(last.max_tokens, 16);
    assert.equal(b.results!.tasks.arithmetic!.metrics.exact_match!.scores.exact_match!.value, 1);
  } finally {
    await server.close();
    rmSync(out, { recursive: true, force: true });
    rmSync(out2, { recursive: true, force: true });
  }
});
