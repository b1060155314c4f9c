import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LEGACY_DEFAULTS, normaliseAdapterConfig } from '../src/engine/adapters/adapter-config.js';
import { buildChain } from '../src/engine/adapters/chain.js';
import {
  interceptorNames,
  registerInterceptor,
  unregisterInterceptor,
  validateChainSpec,
} from '../src/engine/adapters/registry.js';
import { defineInterceptor } from '../src/engine/adapters/types.js';
import { createHttpTransport } from '../src/engine/client/http-transport.js';
import { runEvaluation } from '../src/engine/evaluate.js';
import { silentLogger } from '../src/engine/logging.js';
import { resolveRunConfig } from '../src/engine/run-config.js';
import { arithmeticBenchmark, startTestServer } from './engine-fixtures.js';
import { repoRoot } from './support/paths.js';

const ENGINE = join(repoRoot(), 'dist', 'src', 'bin', 'nemo-evaluator.js');

function engineCli(args: string[]): { code: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [ENGINE, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

const lines = (s: string): string[] => s.split('\n').filter((l) => l.trim() !== '');

function writeRunConfig(dir: string, adapterConfig: string): { cfg: string; out: string } {
  const cfg = join(dir, 'config_ef.yaml');
  const out = join(dir, 'out');
  writeFileSync(
    cfg,
    `config:\n  type: gsm8k\n  output_dir: ${out}\n  params:\n    limit_samples: 2\n` +
      'target:\n  api_endpoint:\n    url: http://127.0.0.1:9/v1/chat/completions\n    model_id: m\n' +
      `    adapter_config:\n${adapterConfig}`,
  );
  return { cfg, out };
}

test('nemo-evaluator run_eval: a misspelt interceptor setting is one line naming the allowed keys; nothing is written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'icept-cli-'));
  try {
    const { cfg, out } = writeRunConfig(
      dir,
      '      interceptors:\n        - endpoint\n        - name: response_logging\n          config:\n            max_response: 3\n',
    );
    for (const extra of [[], ['--dry_run']]) {
      const r = engineCli(['run_eval', '--run_config', cfg, ...extra]);
      assert.equal(r.code, 1, r.stderr);
      const err = lines(r.stderr);
      assert.equal(err.length, 1, r.stderr);
      assert.equal(
        err[0],
        "error: Unknown setting 'max_response' of interceptor 'response_logging'. Allowed: log_level, " +
          'log_response_body, log_response_headers, max_responses (hint: check the spelling under config:)',
      );
      assert.ok(!existsSync(join(out, 'run_config.yml')), 'nothing written');
    }
    // A wrong type is named too; a post-eval hook's settings are checked the same way.
    const typed = writeRunConfig(
      dir,
      '      interceptors:\n        - endpoint\n        - name: response_logging\n          config:\n            max_responses: many\n',
    );
    const r2 = engineCli(['run_eval', '--run_config', typed.cfg, '--dry_run']);
    assert.equal(r2.code, 1);
    assert.match(
      lines(r2.stderr)[0]!,
      /Setting 'max_responses' of interceptor 'response_logging' must be a number or null, not "many"/,
    );
    const hook = writeRunConfig(
      dir,
      '      interceptors: [endpoint]\n      post_eval_hooks:\n        - name: post_eval_report\n          config: {report_type: [html]}\n',
    );
    const r3 = engineCli(['run_eval', '--run_config', hook.cfg, '--dry_run']);
    assert.equal(r3.code, 1);
    assert.match(
      lines(r3.stderr)[0]!,
      /^error: Unknown setting 'report_type' of post-eval hook 'post_eval_report'\. Allowed: html_report_size, log_level, report_types /,
    );
    // Correctly spelt, the same config renders.
    const good = writeRunConfig(
      dir,
      '      interceptors:\n        - endpoint\n        - name: response_logging\n          config:\n            max_responses: 3\n',
    );
    assert.equal(engineCli(['run_eval', '--run_config', good.cfg, '--dry_run']).code, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every legacy flat key, switched on, converts into settings the interceptors accept', () => {
  const flat: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(LEGACY_DEFAULTS)) {
    if (typeof v === 'boolean') flat[k] = true;
    else if (typeof v === 'number') flat[k] = v + 1;
    else if (typeof v === 'string') flat[k] = `${v}x`;
  }
  Object.assign(flat, {
    use_nvcf: false,
    use_omni_info: false,
    caching_dir: '/c',
    custom_system_prompt: 'be brief',
    params_to_add: { seed: 1 },
    params_to_remove: ['logprobs'],
    params_to_rename: { max_tokens: 'max_completion_tokens' },
    headers_to_add: { 'x-a': 'b' },
    headers_to_remove: ['x-c'],
    headers_to_rename: { 'x-d': 'x-e' },
    max_logged_requests: 2,
    max_logged_responses: 2,
    max_saved_requests: 3,
    max_saved_responses: 3,
    progress_tracking_url: 'http://127.0.0.1:9/progress',
  });
  for (const outputDir of ['/out', null]) {
    const c = normaliseAdapterConfig(flat, outputDir);
    assert.equal(c.interceptors.length, 10, 'every interceptor is on');
    assert.doesNotThrow(() => validateChainSpec(c.interceptors));
    // Each default too (the chain nothing configured gives).
    assert.doesNotThrow(() => validateChainSpec(normaliseAdapterConfig({}, outputDir).interceptors));
  }
  // The registry lists the built-ins in upstream's default chain order (the order the conversion uses).
  assert.deepEqual(
    interceptorNames().slice(0, 10),
    normaliseAdapterConfig(flat, '/out').interceptors.map((i) => i.name),
  );
});

/** A test interceptor: adds `config.field: config.value` to each request body. */
const tagInterceptor = defineInterceptor({
  name: 'test_tag',
  stage: 'request',
  settings: { field: { kind: 'string' }, value: { kind: 'string' } },
  create(settings, deps) {
    let seen = 0;
    deps.log.info('test_tag built');
    return {
      onRequest(req) {
        seen++;
        return { ...req, body: { ...req.body, [settings.field ?? 'tag']: `${settings.value}-${seen}` } };
      },
    };
  },
});

test('an interceptor registered through the registry runs in a real evaluation; its settings are checked', async () => {
  registerInterceptor(tagInterceptor);
  const server = await startTestServer();
  const dir = mkdtempSync(join(tmpdir(), 'icept-reg-'));
  try {
    assert.throws(() => registerInterceptor(tagInterceptor), /already registered/);
    assert.ok(interceptorNames().includes('test_tag'));
    const bench = arithmeticBenchmark({ size: 3 });
    const evaluationWith = (config: Record<string, unknown>, out: string) =>
      resolveRunConfig({
        runConfig: {
          config: { type: bench.name, output_dir: out, params: { parallelism: 1 } },
          target: {
            api_endpoint: {
              url: server.url,
              model_id: 'm',
              adapter_config: { interceptors: [{ name: 'test_tag', config }, 'endpoint'] },
            },
          },
        },
        resolver: { get: () => bench, list: () => [bench] },
      }).evaluation;
    const outcome = await runEvaluation(evaluationWith({ field: 'x_tag', value: 'v' }, join(dir, 'a')), {
      benchmark: bench,
      log: silentLogger,
      progressStream: null,
    });
    assert.equal(outcome.status, 'success', outcome.error?.message);
    const tags = (server.bodies as Record<string, unknown>[]).map((b) => b.x_tag).sort();
    assert.deepEqual(tags, ['v-1', 'v-2', 'v-3']);
    await assert.rejects(
      runEvaluation(evaluationWith({ feild: 'x' }, join(dir, 'b')), {
        benchmark: bench,
        log: silentLogger,
        progressStream: null,
      }),
      /Unknown setting 'feild' of interceptor 'test_tag'\. Allowed: field, log_level, value/,
    );
    assert.deepEqual(readdirSync(join(dir, 'b')), [], 'nothing written');
    // Its stage is checked like a built-in's.
    assert.throws(
      () =>
        validateChainSpec([
          { name: 'endpoint', enabled: true, config: {} },
          { name: 'test_tag', enabled: true, config: {} },
        ]),
      /Interceptor order: 'test_tag' \(request\) cannot come after 'endpoint'/,
    );
  } finally {
    unregisterInterceptor('test_tag');
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(!interceptorNames().includes('test_tag'));
});

test('a chain-only interceptor (ChainDeps.factories) is built with the same deps object as the built-ins', async () => {
  const server = await startTestServer();
  const transport = createHttpTransport({ connections: 1 });
  const logged: string[] = [];
  const log = { ...silentLogger, info: (m: string) => void logged.push(m) };
  try {
    const adapter = normaliseAdapterConfig(
      { interceptors: [{ name: 'test_tag', config: { value: 'w' } }, 'endpoint'] },
      '/nonexistent',
    );
    assert.throws(
      () =>
        buildChain(adapter, { ctx: { outputDir: '/o', url: server.url, log }, transport, timeoutMs: 5000 }),
      /Unknown interceptor 'test_tag'\. Available: system_message, payload_modifier, /,
    );
    const chain = buildChain(adapter, {
      ctx: { outputDir: '/o', url: server.url, log },
      transport,
      timeoutMs: 5000,
      factories: [tagInterceptor],
    });
    assert.deepEqual(
      chain.interceptors.map((i) => [i.name, i.stage]),
      [
        ['test_tag', 'request'],
        ['endpoint', 'request_to_response'],
      ],
    );
    const res = await chain.send({
      body: { messages: [{ role: 'user', content: 'What is 1 + 2?' }] },
      headers: {},
      meta: { requestId: '', sampleId: 's', repeatIndex: 0 },
    });
    assert.equal(res.status, 200);
    assert.equal((server.bodies[0] as Record<string, unknown>).tag, 'w-1');
    assert.deepEqual(logged, ['test_tag built']);
    await chain.close();
  } finally {
    await transport.close();
    await server.close();
  }
});
