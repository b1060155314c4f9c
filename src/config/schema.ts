/**
 * Validation of a composed config: unset `???` values, then the sections (zod), each failure
 * as one line naming the file, the dotted key and what to do.
 */
import { createRequire } from 'node:module';
import type { z as Z } from 'zod';
import { NelError } from '../common/errors.js';
import { getPath, isPlainObject, type Obj } from '../common/objects.js';

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

let rootSchemaCache: Z.ZodType | undefined;

/**
 * The zod schema, built on first use: loading zod costs more than the rest of a dry run, so a config
 * that `plainlyValid` accepts never loads it; zod is needed only to explain a problem.
 */
function rootSchema(): Z.ZodType {
  if (rootSchemaCache) return rootSchemaCache;
  const { z } = createRequire(import.meta.url)('zod') as typeof import('zod');
  rootSchemaCache = buildRootSchema(z);
  return rootSchemaCache;
}

function buildRootSchema(z: typeof Z): Z.ZodType {
  const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()], {
    error: 'must be a string, number, boolean or null',
  });
  const envVars = z.record(z.string(), scalar, { error: 'must be a map of NAME: value' }).nullish();
  const freeMap = z.record(z.string(), z.unknown(), { error: 'must be a map' }).nullish();
  const optString = z.string({ error: 'must be a string' }).nullish();
  const pathMap = z.record(z.string(), z.string({ error: 'must be a container path (string)' }), {
    error: 'must be a map of host path: container path',
  });

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

  const executionSchema = z.looseObject(
    {
      type: z.string({ error: 'must be a string' }).optional(),
      output_dir: z.string({ error: 'must be a path (string)' }).optional(),
      mode: z.enum(['sequential', 'parallel'], { error: 'must be sequential or parallel' }).optional(),
      max_parallel_tasks: z
        .number({ error: 'must be a positive integer or null' })
        .int({ error: 'must be a positive integer or null' })
        .positive({ error: 'must be a positive integer or null' })
        .nullish(),
      use_docker: z.boolean({ error: 'must be true or false' }).optional(),
      endpoint_readiness_timeout: z
        .number({ error: 'must be a number of seconds' })
        .positive({ error: 'must be positive' })
        .optional(),
      extra_docker_args: z.string({ error: 'must be a string' }).nullish(),
      mounts: z
        .strictObject(
          {
            deployment: pathMap.nullish(),
            evaluation: pathMap.nullish(),
            auxiliary: pathMap.nullish(),
            mount_home: z.boolean({ error: 'must be true or false' }).nullish(),
          },
          { error: 'must be a map' },
        )
        .nullish(),
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
    deployment: z
      .looseObject({ type: z.string({ error: 'must be a string' }).optional() }, { error: 'must be a map' })
      .nullish(),
  });
}

// ---- a strict fast check: true only for configs the schema above certainly accepts ----------

type Check = (v: unknown) => boolean;
const nullish =
  (f: Check): Check =>
  (v) =>
    v === undefined || v === null || f(v);
const optional =
  (f: Check): Check =>
  (v) =>
    v === undefined || f(v);
const isString: Check = (v) => typeof v === 'string';
const isBool: Check = (v) => typeof v === 'boolean';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isScalar: Check = (v) => v === null || isString(v) || isBool(v) || isNum(v);
const recordOf =
  (f: Check): Check =>
  (v) =>
    isPlainObject(v) && Object.values(v).every(f);
const objectOf =
  (shape: Record<string, Check>, strict: boolean): Check =>
  (v) =>
    isPlainObject(v) &&
    (!strict || Object.keys(v).every((k) => Object.prototype.hasOwnProperty.call(shape, k))) &&
    Object.entries(shape).every(([k, f]) => f(v[k]));
const optString = nullish(isString);
const envVars = nullish(recordOf(isScalar));
const freeMap = nullish((v) => isPlainObject(v));
const pathMap = nullish(recordOf(isString));
const taskCheck = objectOf(
  {
    name: (v) => typeof v === 'string' && v.length >= 1,
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
  true,
);
/** True only for configs the zod schema certainly accepts (without loading zod). */
export const plainlyValid: Check = objectOf(
  {
    env_vars: envVars,
    execution: optional(
      objectOf(
        {
          type: optional(isString),
          output_dir: optional(isString),
          mode: optional((v) => v === 'sequential' || v === 'parallel'),
          max_parallel_tasks: nullish((v) => isNum(v) && Number.isSafeInteger(v) && v > 0),
          use_docker: optional(isBool),
          endpoint_readiness_timeout: optional((v) => isNum(v) && v > 0),
          extra_docker_args: optString,
          mounts: nullish(
            objectOf(
              { deployment: pathMap, evaluation: pathMap, auxiliary: pathMap, mount_home: nullish(isBool) },
              true,
            ),
          ),
        },
        false,
      ),
    ),
    evaluation: objectOf(
      {
        env_vars: envVars,
        nemo_evaluator_config: freeMap,
        pre_cmd: optString,
        post_cmd: optString,
        tasks: nullish((v) => Array.isArray(v) && v.every(taskCheck)),
      },
      true,
    ),
    target: nullish(
      objectOf(
        {
          api_endpoint: nullish(
            objectOf({ url: optString, model_id: optString, api_key_name: optString }, false),
          ),
        },
        false,
      ),
    ),
    deployment: nullish(objectOf({ type: optional(isString) }, false)),
  },
  false,
);

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
export function validateConfig(config: Obj, file: string | null): void {
  checkLegacyAndForbidden(config, file);
  const result = plainlyValid(config) ? undefined : rootSchema().safeParse(config);
  if (result && !result.success) {
    const issues = [...result.error.issues].sort((a, b) => rank(a) - rank(b));
    throw issueToError(issues[0]!, config, file);
  }
  checkDeploymentTarget(config, file);
}

/** Unknown keys first (they usually explain the rest), then document order. */
function rank(issue: Z.core.$ZodIssue): number {
  return issue.code === 'unrecognized_keys' ? 0 : 1;
}

function checkDeploymentTarget(config: Obj, file: string | null): void {
  const type = getPath(config, 'deployment.type');
  if (type === undefined || type === null || type === 'none') return;
  for (const field of ['url', 'model_id']) {
    const v = getPath(config, ['target', 'api_endpoint', field]);
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
