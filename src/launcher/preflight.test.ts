import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { getExecutor } from '../executors/registry.js';
import {
  modelsUrlOf,
  pathKind,
  planEndpoints,
  preflightEndpoints,
  preflightInvocation,
  preflightJobRecords,
  suggestedUrl,
} from './preflight.js';
import type { JobRecord } from './exec-db.js';
import { launcherConfig } from '../config/index.js';
import type { LauncherConfig } from '../config/schema.js';

const { plan: buildInvocationPlan } = await getExecutor('local');

function loaded(over: Record<string, unknown> = {}, execution: Record<string, unknown> = {}) {
  const resolved: Record<string, unknown> = {
    execution: {
      type: 'local',
      output_dir: '/tmp/nel-preflight-unit',
      extra_docker_args: '--network host',
      ...execution,
    },
    deployment: { type: 'none' },
    target: {
      api_endpoint: { url: 'http://127.0.0.1:9/v1/chat/completions', model_id: 'm', api_key_name: 'KEY' },
    },
    evaluation: {
      tasks: [
        { name: 'builtin.gsm8k' },
        { name: 'builtin.gsm8k' },
        {
          name: 'builtin.gsm8k',
          endpoint_type: 'completions',
          nemo_evaluator_config: { target: { api_endpoint: { url: 'http://127.0.0.1:9/v1/completions' } } },
        },
      ],
    },
    ...over,
  };
  // Validated by the launcher schema, as loadConfig would (and so typed).
  const config = launcherConfig({ resolved: resolved as LauncherConfig, sourcePath: null });
  return { raw: resolved, resolved: config, sourcePath: null, sourceText: null, warnings: [] };
}
const base = {
  dryRun: true,
  launcherCommand: 'nel run',
  toolPaths: { nelJs: '/x/nel.js', engineJs: '/x/ne.js' },
};

test('path kinds, the models URL and the suggested URL', () => {
  assert.equal(pathKind('/v1/chat/completions'), 'chat');
  assert.equal(pathKind('/v1/completions/'), 'completions');
  assert.equal(pathKind('/v1/embeddings'), 'embedding');
  assert.equal(pathKind('/v1'), 'base');
  assert.equal(pathKind('/'), 'base');
  assert.equal(pathKind('/v1/chat/completion'), 'unknown');
  assert.equal(modelsUrlOf(new URL('http://h:1/v1/chat/completions')), 'http://h:1/v1/models');
  assert.equal(modelsUrlOf(new URL('http://h:1/api/v1/completions')), 'http://h:1/api/v1/models');
  assert.equal(modelsUrlOf(new URL('http://h:1/v1/')), 'http://h:1/v1/models');
  assert.equal(suggestedUrl(new URL('http://h:1/v1'), 'chat'), 'http://h:1/v1/chat/completions');
  assert.equal(suggestedUrl(new URL('http://h:1'), 'completions'), 'http://h:1/v1/completions');
  assert.equal(
    suggestedUrl(new URL('http://h:1/v1/chat/completions'), 'completions'),
    'http://h:1/v1/completions',
  );
  assert.equal(
    suggestedUrl(new URL('http://h:1/v1/no-such-path'), 'completions'),
    'http://h:1/v1/completions',
  );
  assert.equal(
    suggestedUrl(new URL('http://h:1/api/v1/chat/completion'), 'chat'),
    'http://h:1/api/v1/chat/completions',
  );
  assert.equal(suggestedUrl(new URL('http://h:1/proxy'), 'chat'), 'http://h:1/proxy/v1/chat/completions');
});

test('planEndpoints: one per distinct url/type/model/key, with the key read by its name and the docker args', () => {
  const plan = buildInvocationPlan(loaded(), { ...base, env: { KEY: 'secret' } });
  const eps = planEndpoints(plan, { KEY: 'secret' });
  assert.equal(eps.length, 2);
  assert.deepEqual(
    eps.map((e) => [e.url, e.type, e.modelId, e.keyName, e.keyValue, e.tasks.length, e.dockerArgs]),
    [
      ['http://127.0.0.1:9/v1/chat/completions', 'chat', 'm', 'KEY', 'secret', 1, ['--network', 'host']],
      ['http://127.0.0.1:9/v1/completions', 'completions', 'm', 'KEY', 'secret', 1, ['--network', 'host']],
    ],
  );
  const host = buildInvocationPlan(loaded(), { ...base, env: { KEY: 'secret' }, noDocker: true });
  assert.equal(planEndpoints(host, { KEY: 'secret' })[0]!.dockerArgs, undefined);
  // a key renamed through env_vars is read from its source variable
  const renamed = buildInvocationPlan(loaded({ env_vars: { KEY: 'host:OTHER' } }), {
    ...base,
    env: { OTHER: 'o' },
  });
  assert.equal(planEndpoints(renamed, { OTHER: 'o' })[0]!.keyValue, 'o');
});

test('a deployment nel starts itself is not probed; skip flag and variable skip', async () => {
  const dep = buildInvocationPlan(
    loaded({
      deployment: {
        type: 'vllm',
        image: 'vllm/vllm-openai:latest',
        command: 'vllm serve /checkpoint',
        port: 8000,
        served_model_name: 'm',
        endpoints: { chat: '/v1/chat/completions', completions: '/v1/completions', health: '/health' },
      },
      target: { api_endpoint: { api_key_name: 'KEY' } },
      evaluation: { tasks: [{ name: 'builtin.gsm8k' }] },
    }),
    { ...base, env: { KEY: 'k' } },
  );
  const r = await preflightInvocation(dep, { env: {} });
  assert.match(r.skipped ?? '', /deployment type vllm/);
  const plan = buildInvocationPlan(loaded(), { ...base, env: { KEY: 'k' } });
  assert.equal((await preflightInvocation(plan, { env: {}, skip: true })).skipped, '--skip-preflight');
  assert.match(
    (await preflightInvocation(plan, { env: { NEMO_EVALUATOR_SKIP_PREFLIGHT: '1' } })).skipped ?? '',
    /NEMO_EVALUATOR_SKIP_PREFLIGHT/,
  );
});

test('preflightJobRecords plans the recorded jobs again and probes only those (resume)', async () => {
  const srv = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ data: [{ id: 'm' }] }));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  try {
    const cfg = loaded({
      target: { api_endpoint: { url: `http://127.0.0.1:${port}/v1/chat/completions`, model_id: 'x' } },
    }).resolved;
    const rec = (i: number): JobRecord => ({
      invocation_id: 'abcdabcdabcdabcd',
      job_id: `abcdabcdabcdabcd.${i}`,
      timestamp: 0,
      executor: 'local',
      data: { use_docker: false, output_dir: `/tmp/x/${i}` },
      config: cfg,
    });
    // job 2's URL is dead; jobs 0 and 1 use the live one, whose listing lacks model x
    await assert.rejects(preflightJobRecords([rec(0)], { env: {} }), (e: Error) => {
      assert.match(e.message, /model x is not served by .*; it lists: m/);
      return true;
    });
    await assert.rejects(preflightJobRecords([rec(2)], { env: {} }), /connection refused/);
    const hint = await preflightJobRecords([rec(2)], { env: {} }).catch((e: { hint?: string }) => e.hint);
    assert.match(String(hint), /nel resume --skip-preflight/);
  } finally {
    await new Promise<void>((r) => srv.close(() => r()));
  }
});

test('preflightEndpoints with nothing to check', async () => {
  assert.equal((await preflightEndpoints([], { env: {} })).skipped, 'no endpoints');
});
