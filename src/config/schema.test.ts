import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NelError } from '../common/errors.js';
import { mergeConfig } from './compose.js';
import { findMissingValue, normalizeTaskAliases, plainlyValid, validateConfig } from './schema.js';

const ok = (): Record<string, unknown> => ({
  execution: {
    type: 'local',
    output_dir: 'o',
    mode: 'sequential',
    use_docker: false,
    max_parallel_tasks: null,
  },
  target: { api_endpoint: { url: 'http://x/v1/chat/completions', model_id: 'm', api_key_name: null } },
  deployment: { type: 'none' },
  env_vars: { A: 'host:B' },
  evaluation: {
    env_vars: { HF_TOKEN: 'HF_TOKEN_X', N: 1 },
    nemo_evaluator_config: { anything: { goes: [1] } },
    pre_cmd: 'echo hi',
    tasks: [
      {
        name: 'gsm8k',
        dataset_dir: '/d',
        dataset_mount_path: '/datasets',
        endpoint_type: 'chat',
        container: null,
      },
    ],
  },
  export: { local: { format: 'json' } },
});

function invalid(cfg: Record<string, unknown>, ...parts: string[]): void {
  assert.throws(
    () => validateConfig(cfg, '/f.yaml'),
    (e: NelError) =>
      e.code === 'CONFIG_INVALID' &&
      !e.message.includes('\n') &&
      e.message.includes('/f.yaml') &&
      parts.every((p) => e.message.includes(p)),
  );
}

test('a complete config validates', () => {
  validateConfig(ok(), '/f.yaml');
});

test('missing values are found in document order with list items as path.N', () => {
  assert.equal(findMissingValue({ a: 1, b: [{ c: 'x' }, { d: '???' }], e: '???' }), 'b.1.d');
  assert.equal(findMissingValue({ a: '??? not exactly' }), undefined);
});

test('type problems name the key, the expectation and what was given', () => {
  const c = ok();
  (c.evaluation as Record<string, unknown>).tasks = [{ name: 'a', pre_cmd: 3 }];
  invalid(c, 'evaluation.tasks.0.pre_cmd', 'must be a string', 'got number 3');
  const d = ok();
  (d.evaluation as Record<string, unknown>).tasks = ['gsm8k'];
  invalid(d, 'evaluation.tasks.0', 'must be a map');
  const e = ok();
  (e.target as Record<string, any>).api_endpoint.url = 5;
  invalid(e, 'target.api_endpoint.url');
});

test('task `config` folds into nemo_evaluator_config, which wins', () => {
  const c = {
    evaluation: { tasks: [{ name: 'a', config: { x: 1, y: 1 }, nemo_evaluator_config: { y: 2 } }] },
  };
  normalizeTaskAliases(c, mergeConfig);
  assert.deepEqual(c.evaluation.tasks[0], { name: 'a', nemo_evaluator_config: { x: 1, y: 2 } });
});

test('the fast check accepts good configs and never accepts one the schema rejects', () => {
  assert.equal(plainlyValid(ok()), true);
  const variants: [string, unknown][] = [
    ['execution.mode', 'both'],
    ['execution.max_parallel_tasks', 0],
    ['execution.max_parallel_tasks', 1.5],
    ['execution.endpoint_readiness_timeout', -1],
    ['execution.endpoint_readiness_timeout', Infinity],
    ['execution.use_docker', 'yes'],
    ['execution.mounts', { evaluation: { '/a': 1 } }],
    ['execution.mounts', { other: {} }],
    ['execution', []],
    ['env_vars', { A: { nested: 1 } }],
    ['env_vars', { A: NaN }],
    ['evaluation.tasks', [{ name: '' }]],
    ['evaluation.tasks', [{ name: 'x', extra: 1 }]],
    ['evaluation.tasks', [{ name: 'x', container: 3 }]],
    ['evaluation.tasks', 'gsm8k'],
    ['evaluation.pre_cmd', 5],
    ['evaluation.extra', 1],
    ['evaluation.nemo_evaluator_config', []],
    ['target.api_endpoint.url', 1],
    ['target', 'x'],
    ['deployment.type', 1],
    ['deployment.port', '8000'],
    ['deployment.port', 0],
    ['deployment.port', 65536],
    ['deployment.port', 80.5],
    ['deployment.image', 5],
    ['deployment.endpoints', { health: 1 }],
    ['deployment.endpoints', ['/health']],
    ['deployment.tensor_parallel_size', 0],
    ['deployment.env_vars', { A: [1] }],
  ];
  for (const [path, value] of variants) {
    const cfg = ok();
    const keys = path.split('.');
    let node = cfg as Record<string, unknown>;
    for (const k of keys.slice(0, -1)) node = (node[k] ??= {}) as Record<string, unknown>;
    node[keys[keys.length - 1]!] = value;
    assert.equal(plainlyValid(cfg), false, path);
    assert.throws(() => validateConfig(cfg, null), NelError, path);
  }
});

const withDeployment = (deployment: Record<string, unknown>): Record<string, unknown> => {
  const c = ok();
  c.deployment = deployment;
  c.target = { api_endpoint: { api_key_name: null } };
  return c;
};

test('deployment keys are typed: a quoted port, a zero size or a bad endpoint path is refused', () => {
  const vllm = { type: 'vllm', image: 'vllm/vllm-openai:v0.13.0', command: 'vllm serve /checkpoint' };
  validateConfig(withDeployment({ ...vllm, port: 8001, endpoints: { health: '/health' } }), '/f.yaml');
  invalid(
    withDeployment({ ...vllm, port: '8000' }),
    'deployment.port',
    'port number (1-65535)',
    'got the string "8000"',
  );
  invalid(withDeployment({ ...vllm, port: 70000 }), 'deployment.port', 'got number 70000');
  invalid(withDeployment({ ...vllm, tensor_parallel_size: 0 }), 'deployment.tensor_parallel_size');
  invalid(withDeployment({ ...vllm, endpoints: { chat: 3 } }), 'deployment.endpoints.chat', 'must be a path');
  // keys the launcher does not read stay free (they feed interpolations in command)
  validateConfig(withDeployment({ ...vllm, gpu_memory_utilization: 0.9, base_command: 'x' }), '/f.yaml');
});

test('a deployment other than none needs an image and a command; none needs neither', () => {
  invalid(
    withDeployment({ type: 'vllm', command: 'c' }),
    "deployment.image must be set for deployment type 'vllm'",
  );
  invalid(withDeployment({ type: 'generic', image: 'i', command: '' }), 'deployment.command must be set');
  validateConfig({ ...ok(), deployment: { type: 'none' } }, '/f.yaml');
  const c = withDeployment({ type: 'nim', image: 'i', command: 'c' });
  c.target = { api_endpoint: { url: 'http://x/v1' } };
  invalid(c, 'target.api_endpoint.url must not be set');
});
