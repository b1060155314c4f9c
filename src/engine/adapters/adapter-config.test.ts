import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normaliseAdapterConfig } from './adapter-config.js';
import { validateChainSpec } from './registry.js';

test('nothing configured gives the upstream default chain', () => {
  const c = normaliseAdapterConfig(null, '/out');
  assert.deepEqual(c.interceptors, [
    {
      name: 'caching',
      enabled: true,
      config: {
        cache_dir: '/out/cache',
        reuse_cached_responses: true,
        save_requests: true,
        save_responses: true,
        max_saved_requests: 5,
        max_saved_responses: 5,
      },
    },
    { name: 'endpoint', enabled: true, config: {} },
    {
      name: 'response_stats',
      enabled: true,
      config: { cache_dir: '/out/response_stats_cache', logging_aggregated_stats_interval: 100 },
    },
  ]);
  assert.deepEqual(c.post_eval_hooks, [
    {
      name: 'post_eval_report',
      enabled: true,
      config: { report_types: ['html', 'json'], html_report_size: 5 },
    },
  ]);
  assert.equal(c.mode, 'server');
});

test('legacy flat keys convert in upstream order', () => {
  const c = normaliseAdapterConfig(
    {
      use_system_prompt: true,
      custom_system_prompt: 'be brief',
      params_to_remove: ['logprobs'],
      params_to_add: { seed: 1 },
      use_request_logging: true,
      max_logged_requests: 3,
      caching_dir: '/c',
      use_response_logging: true,
      process_reasoning_traces: true,
      end_reasoning_token: '</reason>',
      use_progress_tracking: true,
      use_raise_client_errors: true,
      generate_html_report: false,
    },
    '/out',
  );
  assert.deepEqual(
    c.interceptors.map((i) => i.name),
    [
      'system_message',
      'payload_modifier',
      'request_logging',
      'caching',
      'endpoint',
      'response_stats',
      'response_logging',
      'reasoning',
      'progress_tracking',
      'raise_client_errors',
    ],
  );
  const byName = Object.fromEntries(c.interceptors.map((i) => [i.name, i.config]));
  assert.deepEqual(byName.system_message, { system_message: 'be brief' });
  assert.deepEqual(byName.payload_modifier, { params_to_add: { seed: 1 }, params_to_remove: ['logprobs'] });
  assert.deepEqual(byName.request_logging, { max_requests: 3 });
  assert.equal(byName.caching!.cache_dir, '/c');
  assert.equal(byName.caching!.max_saved_requests, null);
  assert.equal(byName.response_stats!.cache_dir, '/c/response_stats_cache');
  assert.equal(byName.reasoning!.end_reasoning_token, '</reason>');
  assert.equal(byName.reasoning!.cache_dir, '/c/reasoning_stats_cache');
  assert.equal(byName.progress_tracking!.request_method, 'POST');
  assert.equal(byName.progress_tracking!.output_dir, '/out');
  assert.equal(byName.progress_tracking!.progress_tracking_url, undefined, 'no URL unless configured');
  assert.deepEqual(c.post_eval_hooks, []);
  const noCache = normaliseAdapterConfig({ use_caching: false, tracking_requests_stats: false }, '/out');
  assert.deepEqual(
    noCache.interceptors.map((i) => i.name),
    ['endpoint'],
  );
});

test('explicit interceptors: bare strings, unknown keys, mixing with legacy keys, stage order', () => {
  const c = normaliseAdapterConfig(
    { interceptors: ['caching', { name: 'endpoint' }], post_eval_hooks: ['post_eval_report'] },
    '/o',
  );
  assert.deepEqual(c.interceptors, [
    { name: 'caching', enabled: true, config: {} },
    { name: 'endpoint', enabled: true, config: {} },
  ]);
  assert.throws(
    () => normaliseAdapterConfig({ use_cachin: true }, '/o'),
    /Invalid adapter_config key 'use_cachin'/,
  );
  assert.throws(
    () => normaliseAdapterConfig({ interceptors: ['endpoint'], use_caching: true }, '/o'),
    /mixes 'interceptors' with legacy keys/,
  );
  assert.throws(
    () =>
      validateChainSpec([
        { name: 'endpoint', enabled: true, config: {} },
        { name: 'system_message', enabled: true, config: {} },
      ]),
    /Interceptor order/,
  );
  assert.throws(
    () => validateChainSpec([{ name: 'post_eval_report', enabled: true, config: {} }]),
    /post-eval hook/,
  );
  assert.throws(
    () => validateChainSpec([{ name: 'nope', enabled: true, config: {} }]),
    /Unknown interceptor 'nope'/,
  );
  assert.throws(
    () => validateChainSpec([{ name: 'caching', enabled: true, config: {} }]),
    /no enabled 'endpoint'/,
  );
  assert.doesNotThrow(() =>
    validateChainSpec([
      { name: 'system_message', enabled: true, config: {} },
      { name: 'caching', enabled: true, config: {} },
      { name: 'endpoint', enabled: true, config: {} },
      { name: 'reasoning', enabled: true, config: {} },
    ]),
  );
});
