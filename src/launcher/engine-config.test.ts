import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseYaml } from '../common/yaml.js';
import { buildEngineConfig, dumpEngineConfig } from './engine-config.js';
import type { TaskDefinition } from '../tasks/types.js';

const task: TaskDefinition = {
  name: 'gpqa_diamond',
  harness: 'simple_evals',
  container: 'img:1',
  endpointType: 'chat',
  supportedEndpointTypes: ['chat'],
  description: '',
  isUnlisted: false,
};

const resolved = {
  evaluation: {
    nemo_evaluator_config: {
      config: { params: { parallelism: 1, request_timeout: 3600 } },
      target: { api_endpoint: { adapter_config: { use_reasoning: false } } },
    },
    pre_cmd: 'echo global',
  },
};

test('deep merge (task wins) and fill-only-if-absent', () => {
  const cfg = buildEngineConfig({
    resolved,
    taskEntry: {
      name: 'gpqa_diamond',
      nemo_evaluator_config: {
        config: { params: { parallelism: 4, temperature: 0.6 } },
        target: { api_endpoint: { url: 'http://mine' } },
      },
    },
    task,
    endpointUrl: 'http://target/v1/chat/completions',
    modelId: 'm/x',
    apiKeyName: 'NGC_API_KEY',
    outputDir: '/results',
    launcherCommand: 'nel run --config x.yaml',
    version: '9.9.9',
  });
  assert.deepEqual(cfg.config, {
    params: { parallelism: 4, request_timeout: 3600, temperature: 0.6 },
    type: 'gpqa_diamond',
    output_dir: '/results',
  });
  assert.deepEqual(cfg.target, {
    api_endpoint: {
      adapter_config: { use_reasoning: false },
      url: 'http://mine',
      model_id: 'm/x',
      type: 'chat',
      api_key_name: 'NGC_API_KEY',
    },
  });
  const md = cfg.metadata as Record<string, unknown>;
  assert.deepEqual(md.versioning, { nemo_evaluator_launcher: '9.9.9' });
  assert.equal(md.launcher_command, 'nel run --config x.yaml');
  assert.equal(md.pre_cmd, 'echo global');
  assert.equal(md.post_cmd, undefined);
  assert.deepEqual(md.launcher_resolved_config, resolved);
  const text = dumpEngineConfig(cfg);
  assert.ok(
    text.indexOf('config:') < text.indexOf('metadata:') &&
      text.indexOf('metadata:') < text.indexOf('target:'),
  );
  assert.deepEqual(parseYaml(text), cfg);
});

test('unlisted tasks get harness.task as config.type; the `config` alias works', () => {
  const cfg = buildEngineConfig({
    resolved: {},
    taskEntry: { name: 'x', config: { config: { params: { limit_samples: 2 } } } },
    task: { ...task, name: 'x', harness: 'h', isUnlisted: true },
    endpointUrl: undefined,
    modelId: undefined,
    apiKeyName: null,
    outputDir: '/art',
    launcherCommand: 'nel',
  });
  assert.deepEqual(cfg.config, { params: { limit_samples: 2 }, type: 'h.x', output_dir: '/art' });
  assert.equal(
    (cfg.target as { api_endpoint: Record<string, unknown> }).api_endpoint.api_key_name,
    undefined,
  );
});

test('built-in engine tasks get the engine params checked; other harnesses are left alone', () => {
  const builtin: TaskDefinition = { ...task, name: 'gsm8k', harness: 'builtin' };
  const build = (t: TaskDefinition, params: Record<string, unknown>) =>
    buildEngineConfig({
      resolved: { evaluation: { nemo_evaluator_config: { config: { params } } } },
      taskEntry: { name: t.name },
      task: t,
      endpointUrl: 'http://127.0.0.1:9/v1/chat/completions',
      modelId: 'm',
      apiKeyName: null,
      outputDir: '/results',
      launcherCommand: 'nel run',
    });
  assert.throws(() => build(builtin, { parallelism: 0 }), /Invalid parameter value parallelism=0/);
  assert.throws(() => build(builtin, { limt_samples: 3 }), /Invalid parameter 'limt_samples'/);
  assert.throws(() => build(builtin, { extra: { max_response_mb: 'big' } }), /extra\.max_response_mb=big/);
  build(builtin, { parallelism: 2, extra: { max_failed_samples: 0.05, retry_cap_seconds: 30 } });
  build(task, { parallelism: 0, some_harness_param: 1 });
});
