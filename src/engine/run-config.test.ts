import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Benchmark } from './benchmarks/types.js';
import { parseOverrides, renderCommand, resolveRunConfig, type BenchmarkResolver } from './run-config.js';

const bench = {
  name: 'toy',
  description: 'toy',
  supportedEndpointTypes: ['chat'],
  defaults: { max_new_tokens: 256, temperature: 0.2, extra: { n_samples: 1, style: 'x' } },
} as unknown as Benchmark;
const resolver: BenchmarkResolver = {
  get: (n) => (n === 'toy' || n === 'builtin.toy' ? bench : undefined),
  list: () => [bench],
};
const base = {
  config: { type: 'toy', output_dir: '/r' },
  target: { api_endpoint: { url: 'http://h/v1/chat/completions', model_id: 'm' } },
};

test('overrides: commas outside quotes, YAML-typed values, dotted keys, numeric segments are map keys', () => {
  assert.deepEqual(parseOverrides('a.b=10,a.c=true,d=[x, y],e="p,q",f.0.g=1e-5,h={k: v},i=\'unbalanced'), {
    a: { b: 10, c: true },
    d: ['x', 'y'],
    e: 'p,q',
    f: { '0': { g: 1e-5 } },
    h: { k: 'v' },
    i: "'unbalanced",
  });
  assert.throws(() => parseOverrides('novalue'), /Invalid override 'novalue'/);
});

test('layering: engine defaults < benchmark defaults < run config < flags < overrides, nulls skipped', () => {
  const { evaluation } = resolveRunConfig({
    runConfig: {
      ...base,
      config: {
        ...base.config,
        params: { parallelism: 3, temperature: null, limit_samples: 5, extra: { style: 'y' } },
      },
      ignored_top_level: 1,
    },
    flags: { model_id: 'from-flag', output_dir: '/flag' },
    overrides: parseOverrides('config.params.limit_samples=7,target.api_endpoint.model_id=from-override'),
    resolver,
  });
  const p = evaluation.config.params;
  assert.equal(p.parallelism, 3);
  assert.equal(p.temperature, 0.2, 'null in a higher layer does not override');
  assert.equal(p.max_new_tokens, 256);
  assert.equal(p.max_retries, 5);
  assert.equal(p.request_timeout, 60);
  assert.equal(p.limit_samples, 7);
  assert.equal(p.task, 'toy');
  assert.deepEqual(p.extra, { n_samples: 1, style: 'y' });
  assert.equal(evaluation.config.output_dir, '/flag');
  assert.equal(evaluation.target.api_endpoint.model_id, 'from-override');
  assert.equal(evaluation.target.api_endpoint.type, 'chat');
  assert.deepEqual(evaluation.config.supported_endpoint_types, ['chat']);
  assert.equal(evaluation.framework_name, 'builtin');
  assert.match(renderCommand(evaluation), /--eval_type toy --model_id from-override/);
});

test('global_adapter_config merges under the endpoint adapter_config; vlm is coerced to chat', () => {
  const { evaluation } = resolveRunConfig({
    runConfig: {
      ...base,
      target: {
        api_endpoint: { ...base.target.api_endpoint, type: 'vlm', adapter_config: { use_caching: false } },
      },
      global_adapter_config: { use_caching: true, use_request_logging: true },
    },
    resolver,
  });
  assert.deepEqual(evaluation.target.api_endpoint.adapter_config, {
    use_caching: false,
    use_request_logging: true,
  });
  assert.equal(evaluation.target.api_endpoint.type, 'chat');
});

test('validation errors are one clear line', () => {
  const run =
    (cfg: unknown, flags = {}) =>
    () =>
      resolveRunConfig({ runConfig: cfg, flags, resolver });
  assert.throws(
    run({ ...base, config: { ...base.config, params: { limit_sample: 1 } } }),
    /^NelError: Invalid parameter 'limit_sample'\. Valid params: \['limit_samples', 'max_new_tokens', 'max_retries', 'parallelism', 'task', 'temperature', 'request_timeout', 'top_p', 'extra'\]$/,
  );
  assert.throws(run({ ...base, config: { ...base.config, typo: 1 } }), /Invalid key 'config.typo'/);
  assert.throws(
    run({ ...base, target: { api_endpoint: { ...base.target.api_endpoint, api_key: 'x' } } }),
    /Invalid key 'target.api_endpoint.api_key'/,
  );
  assert.throws(
    run(base, { model_type: 'completions' }),
    (e: Error) =>
      e.message ===
      "The benchmark 'toy' does not support the model type 'completions'. The benchmark supports '['chat']'.",
  );
  assert.throws(
    run({ ...base, config: { ...base.config, type: 'lm-evaluation-harness.toy' } }),
    /this engine runs only builtin tasks \(toy\)/,
  );
  assert.throws(
    run({ ...base, config: { ...base.config, type: 'nope' } }),
    /Unknown task 'nope'. Available builtin tasks: toy/,
  );
  assert.throws(
    run({ ...base, config: { output_dir: '/r' } }),
    /Missing required argument: config.type \(cli: --eval_type\)/,
  );
  assert.throws(run({ ...base, config: { type: 'toy' } }), /config.output_dir/);
  assert.throws(run({ ...base, target: { api_endpoint: { model_id: 'm' } } }), /target.api_endpoint.url/);
  assert.throws(
    run({ ...base, target: { api_endpoint: { url: 'http://h/v1' } } }),
    /target.api_endpoint.model_id/,
  );
  assert.throws(run({ ...base, config: { ...base.config, params: { parallelism: 0 } } }), /parallelism=0/);
  assert.throws(
    run({ ...base, config: { ...base.config, params: { extra: { n_samples: 1.5 } } } }),
    /n_samples/,
  );
  assert.doesNotThrow(run({ ...base, config: { ...base.config, type: 'builtin.toy' } }));
});
