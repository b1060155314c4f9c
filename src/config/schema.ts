/**
 * Validation of a composed config: unset `???` values, then the sections (zod), each failure
 * as one line naming the file, the dotted key and what to do.
 */
import { createRequire } from 'node:module';
import type { z as Z } from 'zod';
import { NelError } from '../common/errors.js';
import { getPath, isPlainObject, type Obj } from '../common/objects.js';
import { fastCheck, fastZ } from './fast-schema.js';

export const EVALUATION_KEYS = ['env_vars', 'nemo_evaluator_config', 'post_cmd', 'pre_cmd', 'tasks'] as const;
export const TASK_KEYS = [
  'config',
  'container',
  'dataset_dir',
  'dataset_mount_path',
  'endpoint_type',
  'env_vars',
  'name',
  'nemo_evaluator_config',
  'post_cmd',
  'pre_cmd',
] as const;
export const MOUNT_KEYS = ['auxiliary', 'deployment', 'evaluation', 'mount_home'] as const;

let rootSchemaCache: LauncherSchema | undefined;

/** The zod schema, built on first use (see `plainlyValid` for why zod is loaded only when needed). */
export function launcherSchema(): LauncherSchema {
  if (rootSchemaCache) return rootSchemaCache;
  const { z } = createRequire(import.meta.url)('zod') as typeof import('zod');
  rootSchemaCache = defineLauncherSchema(z);
  return rootSchemaCache;
}

/**
 * The one schema of the launcher's configuration (after composition, overrides and interpolation).
 * It is written once, against zod's builder, and built twice: with zod (the error messages, and the
 * TypeScript types below via z.output), and with `fastZ` (fast-schema.ts: a plain check used at
 * start-up so that a valid config never loads zod).
 *
 * Keep it to validation: no defaults or transforms (the validated object IS the input, typed), and
 * only the builder methods fast-schema.ts interprets (anything else turns the fast path off, which
 * test/config-fast-path.test.ts reports).
 */
export function defineLauncherSchema(z: typeof Z) {
  const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()], {
    error: 'must be a string, number, boolean or null',
  });
  const envVars = z.record(z.string(), scalar, { error: 'must be a map of NAME: value' }).nullish();
  const freeMap = z.record(z.string(), z.unknown(), { error: 'must be a map' }).nullish();
  const optString = z.string({ error: 'must be a string' }).nullish();
  const pathMap = z.record(
    z.string(),
    z
      .string({ error: 'must be a container path (string)' })
      .min(1, { error: 'must be a container path (non-empty)' }),
    { error: 'must be a map of host path: container path' },
  );

  const taskSchema = z.strictObject(
    {
      name: z
        .string({ error: 'must be a task name (string)' })
        .min(1, { error: 'must be a non-empty task name' }),
      container: optString,
      endpoint_type: optString,
      env_vars: envVars,
      nemo_evaluator_config: freeMap,
      config: freeMap,
      dataset_dir: optString,
      dataset_mount_path: optString,
      pre_cmd: optString,
      post_cmd: optString,
    },
    { error: 'must be a map with at least a name' },
  );

  const evaluationSchema = z.strictObject(
    {
      env_vars: envVars,
      nemo_evaluator_config: freeMap,
      pre_cmd: optString,
      post_cmd: optString,
      tasks: z.array(taskSchema, { error: 'must be a list of tasks' }).nullish(),
    },
    { error: 'must be a map with tasks, env_vars, nemo_evaluator_config, pre_cmd, post_cmd' },
  );

  const positiveInt = (what: string) =>
    z
      .number({ error: `must be ${what}` })
      .int({ error: `must be ${what}` })
      .positive({ error: `must be ${what}` });

  const executionSchema = z.looseObject(
    {
      type: z.string({ error: 'must be a string' }).optional(),
      output_dir: z.string({ error: 'must be a path (string)' }).optional(),
      mode: z.enum(['sequential', 'parallel'], { error: 'must be sequential or parallel' }).optional(),
      max_parallel_tasks: positiveInt('a positive integer or null').nullish(),
      use_docker: z.boolean({ error: 'must be true or false' }).optional(),
      // run upstream task names on this tool's engine where it has an equivalent (nel run --builtin-engine)
      builtin_engine: z.boolean({ error: 'must be true or false' }).nullish(),
      // the run script compares it with `-ge`, which takes whole numbers only
      endpoint_readiness_timeout: positiveInt('a positive whole number of seconds').nullish(),
      extra_docker_args: z.string({ error: 'must be a string' }).nullish(),
      mounts: z
        .strictObject(
          {
            deployment: pathMap.nullish(),
            evaluation: pathMap.nullish(),
            // per auxiliary deployment name: {judge: {host path: container path}} (Slurm executor)
            auxiliary: z
              .record(z.string(), pathMap, {
                error: 'must be a map of auxiliary deployment name: {host path: container path}',
              })
              .nullish(),
            mount_home: z.boolean({ error: 'must be true or false' }).nullish(),
          },
          { error: 'must be a map' },
        )
        .nullish(),
      auto_export: z
        .looseObject(
          {
            destinations: z
              .array(
                z
                  .string({ error: 'must be an exporter name (string)' })
                  .min(1, { error: 'must be a non-empty exporter name' }),
                { error: 'must be a list of exporter names' },
              )
              .nullish(),
          },
          { error: 'must be a map' },
        )
        .nullish(),
    },
    { error: 'must be a map' },
  );

  // The keys the launcher reads; a deployment type's other keys (base_command, gpu_memory_utilization,
  // ...) only feed interpolations in `command` and stay free. Which keys a type requires is a
  // cross-field rule: checkDeployment below.
  const deploymentSchema = z.looseObject(
    {
      type: z.string({ error: 'must be a string' }).optional(),
      image: optString,
      command: optString,
      port: z
        .number({ error: 'must be a port number (1-65535)' })
        .int({ error: 'must be a port number (1-65535)' })
        .min(1, { error: 'must be a port number (1-65535)' })
        .max(65535, { error: 'must be a port number (1-65535)' })
        .nullish(),
      served_model_name: optString,
      checkpoint_path: optString,
      cache_path: optString,
      hf_model_handle: optString,
      extra_args: optString,
      env_vars: envVars,
      endpoints: z
        .record(z.string(), z.string({ error: 'must be a path (string)' }), {
          error: 'must be a map of endpoint type: path',
        })
        .nullish(),
      tensor_parallel_size: positiveInt('a positive integer').nullish(),
      pipeline_parallel_size: positiveInt('a positive integer').nullish(),
      data_parallel_size: positiveInt('a positive integer').nullish(),
    },
    { error: 'must be a map' },
  );

  return z.looseObject({
    env_vars: envVars,
    execution: executionSchema.optional(),
    evaluation: evaluationSchema,
    target: z
      .looseObject(
        {
          api_endpoint: z
            .looseObject(
              {
                url: optString,
                model_id: optString,
                api_key_name: optString,
              },
              { error: 'must be a map' },
            )
            .nullish(),
        },
        { error: 'must be a map' },
      )
      .nullish(),
    deployment: deploymentSchema.nullish(),
  });
}

/** The zod schema's type. */
export type LauncherSchema = ReturnType<typeof defineLauncherSchema>;
/** A validated launcher configuration (what `loadConfig` returns as `resolved`). */
export type LauncherConfig = Z.output<LauncherSchema>;
/** `execution:` (the executor's settings). */
export type ExecutionConfig = NonNullable<LauncherConfig['execution']>;
/** `execution.mounts:`. */
export type MountsConfig = NonNullable<ExecutionConfig['mounts']>;
/** `evaluation:`. */
export type EvaluationConfig = LauncherConfig['evaluation'];
/** One entry of `evaluation.tasks`. */
export type TaskConfig = NonNullable<EvaluationConfig['tasks']>[number];
/** `target:`. */
export type TargetConfig = NonNullable<LauncherConfig['target']>;
/** `target.api_endpoint:`. */
export type ApiEndpointConfig = NonNullable<TargetConfig['api_endpoint']>;
/** `deployment:`. */
export type DeploymentConfig = NonNullable<LauncherConfig['deployment']>;

/**
 * True exactly when the zod schema accepts the config, computed without loading zod: the same
 * schema source built with fast-schema.ts's interpreter.
 */
export const plainlyValid: (config: unknown) => boolean = fastCheck(defineLauncherSchema(fastZ));

const where = (file: string | null): string => (file ? ` (in ${file})` : '');

/** The first `???` left in the tree, in document order (list items as path.N). */
export function findMissingValue(node: unknown, path: string[] = []): string | undefined {
  if (node === '???') return path.join('.');
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const hit = findMissingValue(node[i], [...path, String(i)]);
      if (hit !== undefined) return hit;
    }
  } else if (isPlainObject(node)) {
    for (const [k, v] of Object.entries(node)) {
      const hit = findMissingValue(v, [...path, k]);
      if (hit !== undefined) return hit;
    }
  }
  return undefined;
}

export function checkNoMissingValues(config: Obj, file: string | null): void {
  const missing = findMissingValue(config);
  if (missing === undefined) return;
  throw new NelError('CONFIG_MISSING_VALUE', `missing value for ${missing}${where(file)}`, {
    hint: `set it in the file or with -o ${missing}=...`,
  });
}

/** Checks that come before the schema, with messages of their own. */
function checkLegacyAndForbidden(config: Obj, file: string | null): void {
  const execution = config['execution'];
  if (isPlainObject(execution) && 'env_vars' in execution) {
    throw new NelError('CONFIG_INVALID', `execution.env_vars is not supported${where(file)}`, {
      hint: 'move these variables to top-level env_vars, deployment.env_vars or evaluation.env_vars',
    });
  }
  const evaluation = config['evaluation'];
  if (evaluation === undefined) {
    throw new NelError('CONFIG_INVALID', `evaluation is missing${where(file)}`, {
      hint: 'add evaluation.tasks with at least one task, e.g. evaluation: {tasks: [{name: gsm8k}]}',
    });
  }
  if (Array.isArray(evaluation)) {
    throw new NelError(
      'CONFIG_INVALID',
      `evaluation must be a map with a tasks list, not a list${where(file)}`,
      {
        hint: 'write evaluation: {tasks: [{name: ...}, ...]}',
      },
    );
  }
  const legacyHint =
    'move these settings into nemo_evaluator_config (e.g. config.params.temperature: 0.6 becomes nemo_evaluator_config: {config: {params: {temperature: 0.6}}})';
  if (isPlainObject(evaluation) && 'overrides' in evaluation) {
    throw new NelError('CONFIG_INVALID', `evaluation.overrides is no longer supported${where(file)}`, {
      hint: legacyHint,
    });
  }
  const tasks = isPlainObject(evaluation) ? evaluation['tasks'] : undefined;
  if (Array.isArray(tasks)) {
    tasks.forEach((t, i) => {
      if (isPlainObject(t) && 'overrides' in t) {
        throw new NelError(
          'CONFIG_INVALID',
          `evaluation.tasks.${i}.overrides is no longer supported${where(file)}`,
          {
            hint: legacyHint,
          },
        );
      }
    });
  }
}

function allowedKeysFor(path: (string | number | symbol)[]): readonly string[] | undefined {
  const p = path.map(String);
  if (p.length === 1 && p[0] === 'evaluation') return EVALUATION_KEYS;
  if (p.length === 3 && p[0] === 'evaluation' && p[1] === 'tasks') return TASK_KEYS;
  if (p.length === 2 && p[0] === 'execution' && p[1] === 'mounts') return MOUNT_KEYS;
  return undefined;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (isPlainObject(v)) return 'a map';
  if (typeof v === 'string')
    return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 37) + '...' : v)}`;
  return `${typeof v} ${String(v)}`;
}

function issueToError(issue: Z.core.$ZodIssue, config: Obj, file: string | null): NelError {
  const path = issue.path.map(String);
  const key = path.join('.') || '<root>';
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeysFor(issue.path);
    const bad = issue.keys.map((k) => (key === '<root>' ? k : `${key}.${k}`));
    return new NelError(
      'CONFIG_INVALID',
      `unknown key${bad.length > 1 ? 's' : ''} ${bad.join(', ')}${where(file)}; allowed keys: ${(allowed ?? []).join(', ')}`,
      { hint: 'remove or rename the key (engine settings go under nemo_evaluator_config)' },
    );
  }
  const actual = getPath(config, path);
  const received = actual === undefined ? 'missing' : describe(actual);
  return new NelError('CONFIG_INVALID', `${key} ${issue.message}, got ${received}${where(file)}`, {
    hint: `fix ${key} in the file or with -o ${key}=...`,
  });
}

/** Validate a resolved config; throws the first problem as a one-line NelError. */
export function validateConfig(config: Obj, file: string | null): asserts config is LauncherConfig {
  checkLegacyAndForbidden(config, file);
  const result = plainlyValid(config) ? undefined : launcherSchema().safeParse(config);
  if (result && !result.success) {
    const issues = [...result.error.issues].sort((a, b) => rank(a) - rank(b));
    throw issueToError(issues[0]!, config, file);
  }
  checkDeployment(config as LauncherConfig, file);
}

/** Unknown keys first (they usually explain the rest), then document order. */
function rank(issue: Z.core.$ZodIssue): number {
  return issue.code === 'unrecognized_keys' ? 0 : 1;
}

/** The keys every deployment type other than `none` needs (the packaged types all set them). */
export const DEPLOYMENT_REQUIRED_KEYS = ['image', 'command'] as const;

/** Cross-field rules of `deployment:` (after the schema): required keys, no target URL or model. */
function checkDeployment(config: LauncherConfig, file: string | null): void {
  const d = config.deployment;
  const type = d?.type;
  if (!d || type === undefined || type === 'none') return;
  for (const k of DEPLOYMENT_REQUIRED_KEYS) {
    if (!d[k]) {
      throw new NelError(
        'CONFIG_INVALID',
        `deployment.${k} must be set for deployment type '${type}'${where(file)}`,
        { hint: `set deployment.${k} in the config or with -o deployment.${k}=...` },
      );
    }
  }
  for (const field of ['url', 'model_id'] as const) {
    const v = config.target?.api_endpoint?.[field];
    if (v !== undefined && v !== null) {
      throw new NelError(
        'CONFIG_INVALID',
        `target.api_endpoint.${field} must not be set when a deployment is configured (deployment.type: ${String(type)})${where(file)}`,
        { hint: `remove target.api_endpoint.${field} (the deployment provides it), or use deployment: none` },
      );
    }
  }
}

/**
 * A `target:` block written at task level instead of inside `nemo_evaluator_config` (an indentation
 * slip found in upstream examples) is moved under `nemo_evaluator_config.target`, with a warning.
 */
export function foldMisplacedTaskTarget(
  config: Obj,
  merge: (a: unknown, b: unknown) => unknown,
  file: string | null,
): string[] {
  const warnings: string[] = [];
  const tasks = getPath(config, 'evaluation.tasks');
  if (!Array.isArray(tasks)) return warnings;
  tasks.forEach((t, i) => {
    if (!isPlainObject(t) || !isPlainObject(t['target'])) return;
    const nec = isPlainObject(t['nemo_evaluator_config']) ? t['nemo_evaluator_config'] : {};
    t['nemo_evaluator_config'] = { ...nec, target: merge(t['target'], nec['target'] ?? {}) };
    delete t['target'];
    warnings.push(
      `evaluation.tasks.${i}.target is not a task key; it was applied as evaluation.tasks.${i}.nemo_evaluator_config.target${where(file)}`,
    );
  });
  return warnings;
}

/** Task key `config` is an alias of `nemo_evaluator_config`: fold it in (nemo_evaluator_config wins). */
export function normalizeTaskAliases(config: Obj, merge: (a: unknown, b: unknown) => unknown): void {
  const tasks = getPath(config, 'evaluation.tasks');
  if (!Array.isArray(tasks)) return;
  for (const t of tasks) {
    if (!isPlainObject(t) || !('config' in t)) continue;
    const alias = t['config'];
    delete t['config'];
    if (alias === null || alias === undefined) continue;
    t['nemo_evaluator_config'] = isPlainObject(t['nemo_evaluator_config'])
      ? merge(alias, t['nemo_evaluator_config'])
      : alias;
  }
}
