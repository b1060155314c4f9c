/**
 * The run configuration: layering (engine-spec 2.2) and validation (engine-spec 2.3 / 4.3).
 * Layers, lowest to highest: engine defaults < benchmark defaults < run config YAML < CLI flags < --overrides.
 * Every merge is recursive (maps merge, lists and scalars are replaced) and skips nulls in the higher layer.
 */
import { parse as parseYamlValue } from 'yaml';
import { NelError } from '../common/errors.js';
import { deepMerge, isPlainObject, setPath, type Obj } from '../common/objects.js';
import type { Benchmark } from './benchmarks/types.js';
import { ENGINE_PARAM_KEYS, type EndpointType, type EngineParams, type Evaluation } from './types.js';

/**
 * Engine-wide parameter defaults (the "framework defaults" of harness `builtin`). Sampling is greedy:
 * temperature 0 and top_p 1e-05 like the simple-evals harness; a benchmark's own defaults override these.
 */
export const ENGINE_DEFAULT_PARAMS: Required<EngineParams> = {
  limit_samples: null,
  max_new_tokens: 4096,
  max_retries: 5,
  parallelism: 10,
  task: null,
  temperature: 0.0,
  request_timeout: 60,
  top_p: 1e-5,
  extra: {},
};

export const FRAMEWORK_NAME = 'builtin';

export const COMMAND_TEMPLATE =
  'nemo-evaluator run_eval --eval_type {{config.type}} --model_id {{target.api_endpoint.model_id}} ' +
  '--model_type {{target.api_endpoint.type}} --model_url {{target.api_endpoint.url}} --output_dir {{config.output_dir}}';

const ENDPOINT_TYPES: EndpointType[] = ['chat', 'completions', 'completions_logprob', 'embedding'];
const CONFIG_KEYS = ['type', 'output_dir', 'params', 'supported_endpoint_types', 'required_capabilities'];
const TARGET_KEYS = ['api_endpoint'];
const API_ENDPOINT_KEYS = ['url', 'model_id', 'type', 'api_key_name', 'stream', 'adapter_config'];

/** CLI flags that map into the run config (engine-spec 2.1). */
export interface RunEvalFlags {
  eval_type?: string;
  model_id?: string;
  model_type?: string;
  model_url?: string;
  api_key_name?: string;
  output_dir?: string;
}

export interface BenchmarkResolver {
  get(name: string): Benchmark | undefined;
  list(): Benchmark[];
}

export interface ResolvedRunConfig {
  evaluation: Evaluation;
  benchmark: Benchmark;
}

/** Split on commas outside single/double quotes (and outside [] / {} so flow lists and maps stay whole). */
function splitOutsideQuotes(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let depth = 0;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = null;
      cur += ch;
    } else if (ch === '"' || ch === "'") {
      // A quote opens a string only at the start of a value or inside a flow collection.
      const prev = cur.trimEnd().slice(-1);
      if (prev === '=' || prev === '' || prev === ',' || prev === '[' || prev === '{' || prev === ':')
        quote = ch;
      cur += ch;
    } else if (ch === '[' || ch === '{') {
      depth++;
      cur += ch;
    } else if ((ch === ']' || ch === '}') && depth > 0) {
      depth--;
      cur += ch;
    } else if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim()).filter((s) => s.length > 0);
}

/** A value parsed as YAML; unbalanced quotes or YAML errors leave the raw string. */
export function parseOverrideValue(raw: string): unknown {
  const dq = (raw.match(/"/g) ?? []).length;
  const sq = (raw.match(/'/g) ?? []).length;
  if (dq % 2 === 1 || sq % 2 === 1) return raw;
  try {
    return parseYamlValue(raw) as unknown;
  } catch {
    return raw;
  }
}

/** `--overrides "a.b=v,c=d"` -> nested object. Numeric segments are map keys, never list indices. */
export function parseOverrides(text: string): Obj {
  const out: Obj = {};
  for (const pair of splitOutsideQuotes(text)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new NelError('ENGINE_CONFIG', `Invalid override '${pair}': expected key=value`, {
        hint: 'use --overrides "config.params.limit_samples=10,config.params.parallelism=4"',
      });
    }
    const key = pair.slice(0, eq).trim();
    setPath(out, key.split('.'), parseOverrideValue(pair.slice(eq + 1).trim()));
  }
  return out;
}

export function flagsToConfig(flags: RunEvalFlags): Obj {
  const out: Obj = {};
  if (flags.eval_type != null) setPath(out, 'config.type', flags.eval_type);
  if (flags.output_dir != null) setPath(out, 'config.output_dir', flags.output_dir);
  if (flags.model_id != null) setPath(out, 'target.api_endpoint.model_id', flags.model_id);
  if (flags.model_type != null) setPath(out, 'target.api_endpoint.type', flags.model_type);
  if (flags.model_url != null) setPath(out, 'target.api_endpoint.url', flags.model_url);
  if (flags.api_key_name != null) setPath(out, 'target.api_endpoint.api_key_name', flags.api_key_name);
  return out;
}

function configError(message: string, hint?: string): NelError {
  return new NelError('ENGINE_CONFIG', message, hint ? { hint } : {});
}

function checkKeys(obj: unknown, allowed: string[], where: string): void {
  if (obj == null) return;
  if (!isPlainObject(obj)) throw configError(`'${where}' must be a mapping`);
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) {
      throw configError(
        `Invalid key '${where}.${k}'. Valid keys: [${allowed.map((a) => `'${a}'`).join(', ')}]`,
      );
    }
  }
}

/** Keep only the top-level keys the engine reads (config, target, metadata, global_adapter_config). */
function userLayer(runConfig: unknown): Obj {
  if (runConfig == null) return {};
  if (!isPlainObject(runConfig)) throw configError('the run config must be a YAML mapping');
  const out: Obj = {};
  for (const k of ['config', 'target', 'metadata', 'global_adapter_config']) {
    if (runConfig[k] !== undefined) out[k] = runConfig[k];
  }
  return out;
}

/** `gsm8k` or `builtin.gsm8k` -> `gsm8k`; another framework is refused. */
export function taskNameOf(type: string, resolver: BenchmarkResolver): string {
  const parts = type.split('.');
  if (parts.length > 2) {
    throw configError(`Invalid eval type '${type}': use 'task' or 'framework.task' (at most one dot)`);
  }
  const available = resolver
    .list()
    .map((b) => b.name)
    .sort();
  if (parts.length === 2 && parts[0] !== FRAMEWORK_NAME) {
    throw configError(
      `Framework '${parts[0]}' is not available: this engine runs only builtin tasks (${available.join(', ')})`,
      `use --eval_type builtin.<task> or one of: ${available.join(', ')}`,
    );
  }
  const task = parts[parts.length - 1]!;
  return task;
}

function findBenchmark(name: string, resolver: BenchmarkResolver): Benchmark {
  const b = resolver.get(name);
  if (!b) {
    const available = resolver
      .list()
      .map((x) => x.name)
      .sort();
    throw configError(
      `Unknown task '${name}'. Available builtin tasks: ${available.join(', ')}`,
      'run `nemo-evaluator ls`',
    );
  }
  return b;
}

/**
 * Merge the layers and validate. `runConfig` is the parsed YAML (launcher's config_ef.yaml as written);
 * `overrides` is the parsed --overrides object.
 */
export function resolveRunConfig(opts: {
  runConfig?: unknown;
  flags?: RunEvalFlags;
  overrides?: Obj;
  resolver: BenchmarkResolver;
}): ResolvedRunConfig {
  const user = deepMerge(
    deepMerge(userLayer(opts.runConfig), flagsToConfig(opts.flags ?? {}), { skipNulls: true }),
    opts.overrides ?? {},
    { skipNulls: true },
  ) as Obj;

  const cfg = (user.config ?? {}) as Obj;
  const target = (user.target ?? {}) as Obj;
  checkKeys(user.config, CONFIG_KEYS, 'config');
  checkKeys(user.target, TARGET_KEYS, 'target');
  checkKeys(target.api_endpoint, API_ENDPOINT_KEYS, 'target.api_endpoint');
  const params = cfg.params;
  checkParamKeys(params);
  if (cfg.type == null || cfg.type === '') {
    throw configError(
      'Missing required argument: config.type (cli: --eval_type)',
      'run `nemo-evaluator ls` for the tasks',
    );
  }
  if (typeof cfg.type !== 'string') throw configError("'config.type' must be a string");
  if (cfg.output_dir == null || cfg.output_dir === '') {
    throw configError('Missing required argument: config.output_dir (cli: --output_dir)');
  }
  const taskFromType = taskNameOf(cfg.type, opts.resolver);
  const paramsTask = isPlainObject(params) && typeof params.task === 'string' ? params.task : undefined;
  const benchmark = findBenchmark(paramsTask ?? taskFromType, opts.resolver);

  const defaults: Obj = {
    command: COMMAND_TEMPLATE,
    framework_name: FRAMEWORK_NAME,
    pkg_name: FRAMEWORK_NAME,
    config: {
      type: taskFromType,
      output_dir: null,
      params: deepMerge({ ...ENGINE_DEFAULT_PARAMS, task: benchmark.name }, benchmark.defaults ?? {}, {
        skipNulls: true,
      }),
      supported_endpoint_types: [...benchmark.supportedEndpointTypes],
      required_capabilities: null,
    },
    target: {
      api_endpoint: {
        url: null,
        model_id: null,
        type: benchmark.supportedEndpointTypes[0] ?? 'chat',
        api_key_name: null,
        stream: null,
        adapter_config: null,
      },
    },
  };
  const userTarget = deepMerge(target, {}, {}) as Obj;
  // global_adapter_config merges under target.api_endpoint.adapter_config (the task's own keys win).
  if (isPlainObject(user.global_adapter_config)) {
    const ep = (isPlainObject(userTarget.api_endpoint) ? userTarget.api_endpoint : {}) as Obj;
    ep.adapter_config = deepMerge(user.global_adapter_config, ep.adapter_config ?? {}, { skipNulls: true });
    userTarget.api_endpoint = ep;
  }
  const merged = deepMerge(defaults, { config: cfg, target: userTarget }, { skipNulls: true }) as Obj;
  const mc = merged.config as Obj;
  mc.type = cfg.type; // keep what the user wrote (task or builtin.task)
  const ep = (merged.target as Obj).api_endpoint as Obj;
  if (ep.type === 'vlm') ep.type = 'chat';
  if (typeof ep.type !== 'string' || !ENDPOINT_TYPES.includes(ep.type as EndpointType)) {
    throw configError(
      `Invalid endpoint type '${String(ep.type)}'. Valid types: [${ENDPOINT_TYPES.join(', ')}]`,
    );
  }
  const supported = mc.supported_endpoint_types as string[] | null;
  if (Array.isArray(supported) && !supported.includes(ep.type)) {
    throw configError(
      `The benchmark '${benchmark.name}' does not support the model type '${ep.type}'. The benchmark supports '[${supported
        .map((s) => `'${s}'`)
        .join(', ')}]'.`,
    );
  }
  if (ep.url == null || ep.url === '')
    throw configError('Missing required argument: target.api_endpoint.url (cli: --model_url)');
  if (ep.model_id == null || ep.model_id === '') {
    throw configError('Missing required argument: target.api_endpoint.model_id (cli: --model_id)');
  }
  try {
    new URL(String(ep.url));
  } catch {
    throw configError(
      `Invalid endpoint URL '${String(ep.url)}'`,
      'give the full endpoint URL, e.g. http://host:8000/v1/chat/completions',
    );
  }
  const p = mc.params as EngineParams;
  p.extra = isPlainObject(p.extra) ? p.extra : {};
  checkParamValues(p);
  const evaluation = merged as unknown as Evaluation;
  if (user.metadata !== undefined) evaluation.metadata = user.metadata as Record<string, unknown> | null;
  return { evaluation, benchmark };
}

function checkParamKeys(params: unknown): void {
  if (params == null) return;
  if (!isPlainObject(params)) throw configError("'config.params' must be a mapping");
  const valid = `[${ENGINE_PARAM_KEYS.map((k) => `'${k}'`).join(', ')}]`;
  for (const k of Object.keys(params)) {
    if (!(ENGINE_PARAM_KEYS as readonly string[]).includes(k)) {
      throw configError(`Invalid parameter '${k}'. Valid params: ${valid}`);
    }
  }
}

function checkParamValues(p: EngineParams): void {
  checkPositiveInt(p.parallelism, 'parallelism');
  checkNonNegativeInt(p.max_retries, 'max_retries');
  checkPositiveNumber(p.request_timeout, 'request_timeout');
  checkPositiveInt(p.max_new_tokens, 'max_new_tokens');
  if (p.limit_samples != null && !(typeof p.limit_samples === 'number' && p.limit_samples > 0)) {
    throw configError(
      `Invalid parameter value limit_samples=${String(p.limit_samples)}: expected a positive number`,
    );
  }
  if (p.temperature != null && !(typeof p.temperature === 'number' && p.temperature >= 0)) {
    throw configError(`Invalid parameter value temperature=${String(p.temperature)}: expected a number >= 0`);
  }
  if (p.top_p != null && !(typeof p.top_p === 'number' && p.top_p >= 0 && p.top_p <= 1)) {
    throw configError(`Invalid parameter value top_p=${String(p.top_p)}: expected a number in [0, 1]`);
  }
  if (p.extra == null) return;
  if (!isPlainObject(p.extra)) throw configError("'config.params.extra' must be a mapping");
  const e = p.extra;
  const n = e.n_samples;
  if (n != null && !(Number.isInteger(n) && (n as number) >= 1)) {
    throw configError(`Invalid parameter value extra.n_samples=${String(n)}: expected an integer >= 1`);
  }
  const failed = e.max_failed_samples;
  if (
    failed != null &&
    !(typeof failed === 'number' && failed >= 0 && (Number.isInteger(failed) || failed < 1))
  ) {
    throw configError(
      `Invalid parameter value extra.max_failed_samples=${String(failed)}: expected a count (an integer >= 0) or a fraction of the samples (a number between 0 and 1)`,
    );
  }
  checkPositiveNumber(e.max_response_mb, 'extra.max_response_mb');
  checkPositiveNumber(e.retry_base_seconds, 'extra.retry_base_seconds');
  checkPositiveNumber(e.retry_cap_seconds, 'extra.retry_cap_seconds');
}

/**
 * Check `config.params` as a user wrote it (unknown keys, out-of-range values) with the messages the
 * engine gives at run time; the launcher calls this for tasks the built-in engine runs.
 */
export function validateEngineParams(params: unknown): void {
  checkParamKeys(params);
  if (params != null) checkParamValues(params as EngineParams);
}

/** The failure-handling settings read from `config.params.extra` (validated by resolveRunConfig). */
export interface FailurePolicy {
  /** How many failed samples are tolerated: a count, or a fraction (< 1) of the samples. */
  maxFailedSamples: number;
  maxResponseBytes: number;
  backoff: { baseMs: number; capMs: number };
}

export const FAILURE_DEFAULTS = {
  max_failed_samples: 0,
  max_response_mb: 32,
  retry_base_seconds: 2,
  retry_cap_seconds: 60,
} as const;

export function failurePolicyOf(params: EngineParams): FailurePolicy {
  const e = params.extra ?? {};
  const num = (v: unknown, d: number): number => (typeof v === 'number' ? v : d);
  return {
    maxFailedSamples: num(e.max_failed_samples, FAILURE_DEFAULTS.max_failed_samples),
    maxResponseBytes: Math.floor(num(e.max_response_mb, FAILURE_DEFAULTS.max_response_mb) * 1024 * 1024),
    backoff: {
      baseMs: num(e.retry_base_seconds, FAILURE_DEFAULTS.retry_base_seconds) * 1000,
      capMs: num(e.retry_cap_seconds, FAILURE_DEFAULTS.retry_cap_seconds) * 1000,
    },
  };
}

/** The number of failed samples allowed out of `samples`. */
export function allowedFailures(policy: FailurePolicy, samples: number): number {
  const m = policy.maxFailedSamples;
  return m > 0 && m < 1 ? Math.floor(m * samples) : m;
}

function checkPositiveInt(v: unknown, name: string): void {
  if (v == null) return;
  if (!(Number.isInteger(v) && (v as number) >= 1)) {
    throw configError(`Invalid parameter value ${name}=${String(v)}: expected an integer >= 1`);
  }
}
function checkNonNegativeInt(v: unknown, name: string): void {
  if (v == null) return;
  if (!(Number.isInteger(v) && (v as number) >= 0)) {
    throw configError(`Invalid parameter value ${name}=${String(v)}: expected an integer >= 0`);
  }
}
function checkPositiveNumber(v: unknown, name: string): void {
  if (v == null) return;
  if (!(typeof v === 'number' && v > 0)) {
    throw configError(`Invalid parameter value ${name}=${String(v)}: expected a number > 0`);
  }
}

/** Render `{{a.b}}` placeholders of the command template against the evaluation. */
export function renderCommand(evaluation: Evaluation): string {
  return evaluation.command.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_m, path: string) => {
    let cur: unknown = evaluation;
    for (const part of path.split('.')) cur = isPlainObject(cur) ? cur[part] : undefined;
    return cur == null ? 'None' : String(cur);
  });
}

/** The task name the evaluation runs (params.task, else config.type without `builtin.`). */
export function evaluationTaskName(evaluation: Evaluation): string {
  const t = evaluation.config.params.task;
  if (typeof t === 'string' && t) return t;
  const type = evaluation.config.type;
  return type.startsWith(`${FRAMEWORK_NAME}.`) ? type.slice(FRAMEWORK_NAME.length + 1) : type;
}
