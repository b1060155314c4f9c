/**
 * `target.api_endpoint.adapter_config`: validation, legacy flat-key conversion and the default chain
 * (engine-spec 7.2 / 7.5).
 */
import { NelError } from '../../common/errors.js';
import { isPlainObject, type Obj } from '../../common/objects.js';
import { join } from 'node:path';
import { checkComponentSettings } from './registry.js';

export interface ComponentSpec {
  name: string;
  enabled: boolean;
  config: Obj;
}

export interface AdapterConfig {
  mode: 'server' | 'client';
  discovery: { modules: string[]; dirs: string[] };
  interceptors: ComponentSpec[];
  post_eval_hooks: ComponentSpec[];
  endpoint_type: string | null;
  log_failed_requests: boolean;
}

/** Legacy flat keys and their defaults (engine-spec 7.2). */
export const LEGACY_DEFAULTS: Obj = {
  use_caching: true,
  caching_dir: null,
  save_requests: false,
  save_responses: false,
  max_saved_requests: null,
  max_saved_responses: null,
  generate_html_report: true,
  html_report_size: 5,
  include_json: true,
  tracking_requests_stats: true,
  logging_aggregated_stats_interval: 100,
  use_system_prompt: false,
  custom_system_prompt: null,
  params_to_add: null,
  params_to_remove: null,
  params_to_rename: null,
  headers_to_add: null,
  headers_to_remove: null,
  headers_to_rename: null,
  use_request_logging: false,
  max_logged_requests: null,
  use_response_logging: false,
  max_logged_responses: null,
  process_reasoning_traces: false,
  use_reasoning: false,
  start_reasoning_token: '<think>',
  end_reasoning_token: '</think>',
  include_if_reasoning_not_finished: true,
  track_reasoning: true,
  use_progress_tracking: false,
  progress_tracking_url: null,
  progress_tracking_interval: 1,
  use_raise_client_errors: false,
  use_nvcf: false,
  use_omni_info: false,
  output_dir: null,
};

const GENERAL_KEYS = [
  'mode',
  'discovery',
  'interceptors',
  'post_eval_hooks',
  'endpoint_type',
  'log_failed_requests',
];
const LEGACY_ONLY_KEYS = Object.keys(LEGACY_DEFAULTS).filter((k) => k !== 'output_dir');

function configError(message: string): NelError {
  return new NelError('ENGINE_CONFIG', message, {
    hint: 'see target.api_endpoint.adapter_config in the docs',
  });
}

function normaliseComponent(entry: unknown, where: string): ComponentSpec {
  if (typeof entry === 'string') return { name: entry, enabled: true, config: {} };
  if (!isPlainObject(entry) || typeof entry.name !== 'string') {
    throw configError(
      `Invalid ${where} entry ${JSON.stringify(entry)}: expected a name or {name, enabled, config}`,
    );
  }
  for (const k of Object.keys(entry)) {
    if (!['name', 'enabled', 'config'].includes(k))
      throw configError(`Invalid key '${k}' in ${where} '${entry.name}'`);
  }
  const config = entry.config == null ? {} : entry.config;
  if (!isPlainObject(config)) throw configError(`'config' of ${where} '${entry.name}' must be a mapping`);
  return { name: entry.name, enabled: entry.enabled !== false, config: { ...config } };
}

/** Convert legacy flat keys into an interceptor list (the effective default chain when nothing is set). */
export function legacyToChain(
  flat: Obj,
  outputDir: string | null,
): { interceptors: ComponentSpec[]; hooks: ComponentSpec[] } {
  const c = {
    ...LEGACY_DEFAULTS,
    ...Object.fromEntries(Object.entries(flat).filter(([, v]) => v !== null)),
  } as Obj;
  const out = (c.output_dir as string | null) ?? outputDir;
  const base = c.caching_dir as string | null;
  const cacheDir = base ?? (out ? join(out, 'cache') : '/tmp/cache');
  const statsDir = base
    ? join(base, 'response_stats_cache')
    : out
      ? join(out, 'response_stats_cache')
      : '/tmp/response_stats_cache';
  const reasoningDir = base
    ? join(base, 'reasoning_stats_cache')
    : out
      ? join(out, 'reasoning_stats_cache')
      : '/tmp/reasoning_stats_cache';
  const ics: ComponentSpec[] = [];
  const add = (name: string, config: Obj): void => {
    ics.push({ name, enabled: true, config });
  };
  if (c.use_system_prompt) add('system_message', { system_message: c.custom_system_prompt ?? '' });
  if (
    c.params_to_add ||
    c.params_to_remove ||
    c.params_to_rename ||
    c.headers_to_add ||
    c.headers_to_remove ||
    c.headers_to_rename
  ) {
    const cfg: Obj = {};
    for (const k of [
      'params_to_add',
      'params_to_remove',
      'params_to_rename',
      'headers_to_add',
      'headers_to_remove',
      'headers_to_rename',
    ]) {
      if (c[k] != null) cfg[k] = c[k];
    }
    add('payload_modifier', cfg);
  }
  if (c.use_request_logging)
    add('request_logging', c.max_logged_requests != null ? { max_requests: c.max_logged_requests } : {});
  if (c.use_caching) {
    add('caching', {
      cache_dir: cacheDir,
      reuse_cached_responses: true,
      save_requests: true,
      save_responses: true,
      max_saved_requests: c.max_saved_requests ?? (c.generate_html_report ? c.html_report_size : null),
      max_saved_responses: c.max_saved_responses ?? (c.generate_html_report ? c.html_report_size : null),
    });
  }
  add('endpoint', {});
  if (c.tracking_requests_stats) {
    add('response_stats', {
      cache_dir: statsDir,
      logging_aggregated_stats_interval: c.logging_aggregated_stats_interval,
    });
  }
  if (c.use_response_logging)
    add('response_logging', c.max_logged_responses != null ? { max_responses: c.max_logged_responses } : {});
  if (c.process_reasoning_traces || c.use_reasoning) {
    add('reasoning', {
      start_reasoning_token: c.start_reasoning_token,
      end_reasoning_token: c.end_reasoning_token,
      include_if_not_finished: c.include_if_reasoning_not_finished,
      enable_reasoning_tracking: c.track_reasoning,
      cache_dir: reasoningDir,
    });
  }
  if (c.use_progress_tracking) {
    // The URL is used only when given explicitly (upstream's default localhost:8000 may hit a model server).
    const cfg: Obj = {
      progress_tracking_interval: c.progress_tracking_interval,
      request_method: 'POST',
      output_dir: out,
    };
    if (flat.progress_tracking_url != null) cfg.progress_tracking_url = flat.progress_tracking_url;
    add('progress_tracking', cfg);
  }
  if (c.use_raise_client_errors) add('raise_client_errors', {});
  const hooks: ComponentSpec[] = [];
  if (c.generate_html_report) {
    hooks.push({
      name: 'post_eval_report',
      enabled: true,
      config: {
        report_types: c.include_json ? ['html', 'json'] : ['html'],
        html_report_size: c.html_report_size,
      },
    });
  }
  return { interceptors: ics, hooks };
}

/** Validate the raw adapter config and expand it into an explicit chain. */
export function normaliseAdapterConfig(raw: unknown, outputDir: string | null): AdapterConfig {
  const cfg: Obj = raw == null ? {} : isPlainObject(raw) ? raw : ({} as Obj);
  if (raw != null && !isPlainObject(raw)) throw configError("'adapter_config' must be a mapping");
  for (const k of Object.keys(cfg)) {
    if (!GENERAL_KEYS.includes(k) && !(k in LEGACY_DEFAULTS)) {
      throw configError(`Invalid adapter_config key '${k}'`);
    }
  }
  const legacyUsed = Object.keys(cfg).filter((k) => LEGACY_ONLY_KEYS.includes(k) && cfg[k] != null);
  const mode = cfg.mode == null ? 'server' : cfg.mode;
  if (mode !== 'server' && mode !== 'client')
    throw configError(`Invalid adapter_config.mode '${String(mode)}': use server or client`);
  const discovery = isPlainObject(cfg.discovery) ? cfg.discovery : {};
  let interceptors: ComponentSpec[];
  let hooks: ComponentSpec[];
  if (Array.isArray(cfg.interceptors)) {
    if (legacyUsed.length > 0) {
      throw configError(
        `adapter_config mixes 'interceptors' with legacy keys (${legacyUsed.join(', ')}): use one style`,
      );
    }
    interceptors = cfg.interceptors.map((e) => normaliseComponent(e, 'interceptor'));
    hooks = Array.isArray(cfg.post_eval_hooks)
      ? cfg.post_eval_hooks.map((e) => normaliseComponent(e, 'post_eval_hook'))
      : [];
  } else {
    const flat: Obj = {};
    for (const k of Object.keys(cfg)) if (k in LEGACY_DEFAULTS) flat[k] = cfg[k];
    const conv = legacyToChain(flat, outputDir);
    interceptors = conv.interceptors;
    hooks = Array.isArray(cfg.post_eval_hooks)
      ? cfg.post_eval_hooks.map((e) => normaliseComponent(e, 'post_eval_hook'))
      : conv.hooks;
  }
  checkComponentSettings(interceptors, hooks);
  return {
    mode,
    discovery: {
      modules: Array.isArray(discovery.modules) ? (discovery.modules as string[]) : [],
      dirs: Array.isArray(discovery.dirs) ? (discovery.dirs as string[]) : [],
    },
    interceptors,
    post_eval_hooks: hooks,
    endpoint_type: typeof cfg.endpoint_type === 'string' ? cfg.endpoint_type : null,
    log_failed_requests: cfg.log_failed_requests === true,
  };
}
