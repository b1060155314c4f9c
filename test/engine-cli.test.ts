import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from './support/paths.js';
import { startTestServer } from './engine-fixtures.js';

const CHILD = join(repoRoot(), 'test', 'engine-child.ts');

/** The engine CLI (with the test benchmark added) in a child process, bounded by a timeout. */
async function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
    cwd: repoRoot(),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  clearTimeout(killer);
  return { code, stdout, stderr };
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'engine-cli-'));
}

function stderrLines(s: string): string[] {
  return s.split('\n').filter((l) => l.trim() !== '');
}

test('no subcommand prints help and exits 0; ls lists builtin tasks', async () => {
  const help = await runCli([]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /usage: nemo-evaluator/);
  const ls = await runCli(['ls']);
  assert.equal(ls.code, 0);
  assert.match(ls.stdout, /^builtin: \n/);
  assert.match(ls.stdout, /\n {2}\* gsm8k\n/);
  assert.match(ls.stdout, /\n {2}\* arithmetic\n/);
});

test('a run config that does not exist: one line with a hint, exit 1', async () => {
  const r = await runCli(['run_eval', '--run_config', join(tmpdir(), 'no-such-run-config.yml')]);
  assert.equal(r.code, 1);
  const lines = stderrLines(r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0]!,
    /^error: run config not found: .*no-such-run-config\.yml \(hint: give --run_config the path/,
  );
});

test('an unknown config.params key fails with one line and exit 1', async () => {
  const dir = tempDir();
  try {
    const cfg = join(dir, 'config_ef.yaml');
    writeFileSync(
      cfg,
      'config:\n  type: arithmetic\n  output_dir: ' +
        join(dir, 'out') +
        '\n  params:\n    limit_sample: 3\n' +
        'target:\n  api_endpoint:\n    url: http://127.0.0.1:9/v1/chat/completions\n    model_id: m\n',
    );
    const r = await runCli(['run_eval', '--run_config', cfg]);
    assert.equal(r.code, 1);
    const lines = stderrLines(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /Invalid parameter 'limit_sample'\. Valid params: \['limit_samples', /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an endpoint type the task does not support is refused with one line and exit 1', async () => {
  const r = await runCli([
    'run_eval',
    '--eval_type',
    'gsm8k',
    '--model_type',
    'embedding',
    '--model_id',
    'm',
    '--model_url',
    'http://127.0.0.1:9/v1/embeddings',
    '--output_dir',
    join(tmpdir(), 'never-written'),
  ]);
  assert.equal(r.code, 1);
  const lines = stderrLines(r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  assert.equal(
    lines[0],
    "error: The benchmark 'gsm8k' does not support the model type 'embedding'. The benchmark supports '['chat', 'completions']'.",
  );
});

test('other frameworks and unknown config keys are refused; --dry_run renders the merged config', async () => {
  const other = await runCli([
    'run_eval',
    '--eval_type',
    'simple_evals.mmlu',
    '--model_id',
    'm',
    '--model_url',
    'http://h/v1',
    '--output_dir',
    '/tmp/x',
  ]);
  assert.equal(other.code, 1);
  assert.match(other.stderr, /this engine runs only builtin tasks \(.*gsm8k/);
  assert.equal(stderrLines(other.stderr).length, 1);
  const dry = await runCli([
    'run_eval',
    '--eval_type',
    'builtin.arithmetic',
    '--model_id',
    'm',
    '--model_url',
    'http://127.0.0.1:9/v1/chat/completions',
    '--output_dir',
    '/tmp/never-written-dry',
    '--overrides',
    'config.params.limit_samples=3,config.params.extra.request_params={seed: 7},config.params.temperature=0.5',
    '--dry_run',
  ]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /^Rendered config:/);
  const yamlText = dry.stdout.split('Rendered command:')[0]!.replace('Rendered config:', '');
  const shown = parseYaml(yamlText) as Record<string, any>;
  assert.equal(shown.config.params.limit_samples, 3);
  assert.equal(shown.config.params.temperature, 0.5);
  assert.deepEqual(shown.config.params.extra.request_params, { seed: 7 });
  assert.equal(shown.config.params.max_new_tokens, 16, 'benchmark default');
  assert.equal(shown.config.params.max_retries, 5, 'engine default');
  assert.ok(!existsSync('/tmp/never-written-dry'));
});

test("the launcher's config_ef.yaml is accepted as written (metadata, legacy adapter keys)", async () => {
  const server = await startTestServer();
  const dir = tempDir();
  try {
    const out = join(dir, 'results');
    const cfg = join(dir, 'config_ef.yaml');
    writeFileSync(
      cfg,
      [
        'config:',
        `  output_dir: ${out}`,
        '  params: {limit_samples: 4, parallelism: 2, request_timeout: 30}',
        '  type: builtin.arithmetic',
        'metadata:',
        '  launcher_command: nel run --config x.yaml',
        '  launcher_resolved_config: {deployment: {type: none}, execution: {type: local}}',
        '  versioning: {nemo_evaluator_launcher: 0.1.0}',
        'target:',
        '  api_endpoint:',
        '    adapter_config: {use_request_logging: true, max_logged_requests: 1, use_reasoning: true, use_progress_tracking: true}',
        '    api_key_name: ENGINE_CLI_KEY',
        '    model_id: test-model',
        '    type: chat',
        `    url: ${server.url}`,
        '',
      ].join('\n'),
    );
    const r = await runCli(['run_eval', '--run_config', cfg], { ENGINE_CLI_KEY: 'sk-cli-secret-42' });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /sk-cli-secret-42/);
    assert.match(r.stderr, /\[REDACTED\]/);
    assert.equal(server.requests, 4);
    const results = parseYaml(readFileSync(join(out, 'results.yml'), 'utf8')) as Record<string, any>;
    assert.equal(results.results.tasks.arithmetic.metrics.exact_match.scores.exact_match.value, 1);
    const names = results.target.api_endpoint.adapter_config.interceptors.map(
      (i: { name: string }) => i.name,
    );
    assert.deepEqual(names, [
      'request_logging',
      'caching',
      'endpoint',
      'response_stats',
      'reasoning',
      'progress_tracking',
    ]);
    const metrics = JSON.parse(readFileSync(join(out, 'eval_factory_metrics.json'), 'utf8'));
    assert.equal(metrics.reasoning.total_responses, 4);
    assert.ok(existsSync(join(out, 'metadata.yaml')));
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGTERM mid-run then a rerun: results equal an uninterrupted run and each body reached the endpoint once', async () => {
  const server = await startTestServer({ latencyMs: 40 });
  const reference = await startTestServer();
  const dir = tempDir();
  try {
    const args = (url: string, out: string) => [
      'run_eval',
      '--eval_type',
      'arithmetic',
      '--model_id',
      'm',
      '--model_url',
      url,
      '--output_dir',
      out,
      '--overrides',
      'config.params.parallelism=2',
    ];
    const env = {
      ...process.env,
      ENGINE_TEST_BENCHMARK_SIZE: '60',
      NEMO_EVALUATOR_SHUTDOWN_TIMEOUT_SECONDS: '10',
    };
    const out = join(dir, 'interrupted');
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args(server.url, out)], {
      cwd: repoRoot(),
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    // Wait until some requests were answered, then SIGTERM.
    while (server.byStatus['200'] === undefined || server.byStatus['200'] < 10) {
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    clearTimeout(killer);
    assert.equal(code, 0, stderr);
    assert.ok(existsSync(join(out, '.nemo_evaluator_interrupted')), stderr);
    assert.ok(!existsSync(join(out, 'results.yml')));
    const sentBefore = server.requests;
    assert.ok(sentBefore < 60, `sent ${sentBefore} before SIGTERM`);

    const rerun = await runCli(args(server.url, out), { ENGINE_TEST_BENCHMARK_SIZE: '60' });
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.equal(server.requests, 60, 'every request body sent once in total');
    for (const n of server.attemptsPerBody.values()) assert.equal(n, 1);

    const cleanOut = join(dir, 'clean');
    const clean = await runCli(args(reference.url, cleanOut), { ENGINE_TEST_BENCHMARK_SIZE: '60' });
    assert.equal(clean.code, 0, clean.stderr);
    const a = parseYaml(readFileSync(join(out, 'results.yml'), 'utf8')) as Record<string, any>;
    const b = parseYaml(readFileSync(join(cleanOut, 'results.yml'), 'utf8')) as Record<string, any>;
    assert.deepEqual(a.results, b.results);
    const samplesA = readFileSync(join(out, 'samples.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(samplesA.length, 60);
  } finally {
    await server.close();
    await reference.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unreadable data set fails with one line and exit 1', async () => {
  const r = await runCli([
    'run_eval',
    '--eval_type',
    'gsm8k',
    '--model_id',
    'm',
    '--model_url',
    'http://127.0.0.1:9/v1/chat/completions',
    '--output_dir',
    join(tmpdir(), `engine-cli-nodata-${process.pid}`),
    '--overrides',
    'config.params.extra.dataset_path=/nonexistent/gsm8k.jsonl',
  ]);
  rmSync(join(tmpdir(), `engine-cli-nodata-${process.pid}`), { recursive: true, force: true });
  assert.equal(r.code, 1);
  const errors = stderrLines(r.stderr).filter((l) => l.startsWith('error:'));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0]!, /\/nonexistent\/gsm8k\.jsonl/);
});

test('SIGINT exits 130 without the interrupted marker', async () => {
  const server = await startTestServer({ latencyMs: 50 });
  const dir = tempDir();
  try {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        CHILD,
        'run_eval',
        '--eval_type',
        'arithmetic',
        '--model_id',
        'm',
        '--model_url',
        server.url,
        '--output_dir',
        dir,
      ],
      { cwd: repoRoot(), env: { ...process.env, ENGINE_TEST_BENCHMARK_SIZE: '200' }, stdio: 'ignore' },
    );
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    while ((server.byStatus['200'] ?? 0) < 5 && child.exitCode === null)
      await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    clearTimeout(killer);
    assert.equal(code, 130);
    assert.ok(!existsSync(join(dir, '.nemo_evaluator_interrupted')));
    assert.ok(!existsSync(join(dir, 'results.yml')));
    assert.ok(server.requests < 200);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
