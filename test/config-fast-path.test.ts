/**
 * The start-up check (`plainlyValid`, built from the schema source by config/fast-schema.ts) and the
 * zod schema give the same verdict, on configs generated at random (seeded) for every field of the
 * schema, with valid and invalid values, unknown keys and missing keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launcherSchema, plainlyValid } from '../src/config/schema.js';
import { mulberry32 as rng } from '../src/engine/benchmarks/common.js';

type Gen = (r: () => number) => unknown;
const pick =
  <T>(...xs: T[]) =>
  (r: () => number): T =>
    xs[Math.floor(r() * xs.length)]!;
const DELETE = Symbol('delete');

const strings = pick(
  '',
  'x',
  'gsm8k',
  '/abs/path',
  'a b',
  '???',
  '0',
  'true',
  'ünï',
  'parallel',
  'sequential',
);
const numbers = pick(0, -0, 1, 2, 600, -1, 1.5, 0.1, 2 ** 53, 2 ** 53 - 1, NaN, Infinity, -Infinity, 1e-9);
const scalars: Gen = (r) => pick<Gen>(strings, numbers, pick(true, false), () => null)(r)(r);
/** Any JSON-like value up to a small depth (what YAML can produce), plus "absent". */
function anyValue(r: () => number, depth = 0): unknown {
  const roll = r();
  if (roll < 0.45 || depth >= 2) return scalars(r);
  if (roll < 0.55) return DELETE;
  if (roll < 0.75) return Array.from({ length: Math.floor(r() * 3) }, () => anyValue(r, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(r() * 3); i > 0; i--) {
    const v = anyValue(r, depth + 1);
    if (v !== DELETE) o[pick('a', 'B_C', '/host/dir', 'name', 'x.y')(r)] = v;
  }
  return o;
}

/** Values a field of each kind accepts (drawn half the time, so that many configs are valid). */
const good = {
  str: strings,
  nonEmpty: pick('x', 'gsm8k', '/abs/path', 'a b'),
  posInt: pick(1, 2, 600, 2 ** 53 - 1),
  bool: pick(true, false),
  mode: pick('sequential', 'parallel'),
  envMap: (r: () => number) => ({ A: scalars(r), HF_TOKEN: 'HF_TOKEN_X' }),
  freeMap: (r: () => number) => ({ config: { params: { temperature: anyValue(r) } } }),
  pathMap: (r: () => number) => ({ '/host/data': pick('/data', '/d')(r) }),
  auxMounts: (r: () => number) => ({ judge: { '/host/models': pick('/models', '/m')(r) } }),
  names: (r: () => number) => [pick('local', 'mlflow')(r)],
  map: () => ({}),
  port: pick<unknown>(1, 80, 8000, 65535, 65536, 0, 8000.5, '8000'),
  endpoints: (r: () => number) => ({
    chat: '/v1/chat/completions',
    health: pick('/health', '/v1/health/ready')(r),
  }),
};
type Field = [path: string, valid: Gen, nullable: boolean, optional: boolean];
const TASK_FIELDS: Field[] = [
  ['name', good.nonEmpty, false, false],
  ['container', good.str, true, true],
  ['endpoint_type', good.str, true, true],
  ['env_vars', good.envMap, true, true],
  ['nemo_evaluator_config', good.freeMap, true, true],
  ['config', good.freeMap, true, true],
  ['dataset_dir', good.str, true, true],
  ['dataset_mount_path', good.str, true, true],
  ['pre_cmd', good.str, true, true],
  ['post_cmd', good.str, true, true],
];
const FIELDS: Field[] = [
  ['env_vars', good.envMap, true, true],
  ['env_vars.SOME_NAME', scalars, false, true],
  ['execution', good.map, false, true],
  ['execution.type', good.str, false, true],
  ['execution.output_dir', good.str, false, true],
  ['execution.mode', good.mode, false, true],
  ['execution.max_parallel_tasks', good.posInt, true, true],
  ['execution.use_docker', good.bool, false, true],
  ['execution.builtin_engine', good.bool, true, true],
  ['execution.endpoint_readiness_timeout', good.posInt, true, true],
  ['execution.extra_docker_args', good.str, true, true],
  ['execution.mounts', good.map, true, true],
  ['execution.mounts.deployment', good.pathMap, true, true],
  ['execution.mounts.evaluation', good.pathMap, true, true],
  ['execution.mounts.evaluation./host/other', good.nonEmpty, false, true],
  ['execution.mounts.auxiliary', good.auxMounts, true, true],
  ['execution.mounts.auxiliary.judge', good.pathMap, false, true],
  ['execution.mounts.mount_home', good.bool, true, true],
  ['execution.auto_export', good.map, true, true],
  ['execution.auto_export.destinations', good.names, true, true],
  ['execution.some_executor_setting', anyValue, true, true],
  ['evaluation', good.map, false, false],
  ['evaluation.env_vars', good.envMap, true, true],
  ['evaluation.nemo_evaluator_config', good.freeMap, true, true],
  ['evaluation.pre_cmd', good.str, true, true],
  ['evaluation.post_cmd', good.str, true, true],
  ['evaluation.tasks', () => [{ name: 'gsm8k' }], true, true],
  ...TASK_FIELDS.map(([p, g, n, o]): Field => [`evaluation.tasks.0.${p}`, g, n, o]),
  ...TASK_FIELDS.map(([p, g, n, o]): Field => [`evaluation.tasks.1.${p}`, g, n, o]),
  ['target', good.map, true, true],
  ['target.api_endpoint', good.map, true, true],
  ['target.api_endpoint.url', good.str, true, true],
  ['target.api_endpoint.model_id', good.str, true, true],
  ['target.api_endpoint.api_key_name', good.str, true, true],
  ['target.api_endpoint.type', anyValue, true, true],
  ['deployment', good.map, true, true],
  ['deployment.type', good.str, false, true],
  ['deployment.image', good.str, true, true],
  ['deployment.command', good.str, true, true],
  ['deployment.port', good.port, true, true],
  ['deployment.served_model_name', good.str, true, true],
  ['deployment.checkpoint_path', good.str, true, true],
  ['deployment.cache_path', good.str, true, true],
  ['deployment.hf_model_handle', good.str, true, true],
  ['deployment.extra_args', good.str, true, true],
  ['deployment.env_vars', good.envMap, true, true],
  ['deployment.endpoints', good.endpoints, true, true],
  ['deployment.endpoints.health', good.str, false, true],
  ['deployment.tensor_parallel_size', good.posInt, true, true],
  ['deployment.pipeline_parallel_size', good.posInt, true, true],
  ['deployment.data_parallel_size', good.posInt, true, true],
  ['deployment.gpu_memory_utilization', anyValue, true, true],
  ['some_top_level_key', anyValue, true, true],
];
/** Keys that are not in the schema, for objects that must refuse them and objects that allow them. */
const UNKNOWN_KEY_PARENTS = [
  '',
  'execution',
  'execution.mounts',
  'evaluation',
  'evaluation.tasks.0',
  'target',
  'deployment',
  'deployment.endpoints',
];

function base(r: () => number): Record<string, unknown> {
  return {
    execution: { type: 'local', output_dir: '/o', mode: 'sequential', use_docker: r() < 0.5 },
    target: { api_endpoint: { url: 'http://127.0.0.1:9/v1/chat/completions', model_id: 'm' } },
    deployment: { type: 'none' },
    evaluation: { tasks: [{ name: 'gsm8k' }, { name: 'ifeval', env_vars: { N: 1 } }] },
  };
}

function setPath(root: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node: unknown = root;
  for (const k of keys.slice(0, -1)) {
    if (typeof node !== 'object' || node === null) return; // the parent was replaced by a scalar
    const n = node as Record<string, unknown>;
    if (typeof n[k] !== 'object' || n[k] === null) n[k] = {};
    node = n[k];
  }
  if (typeof node !== 'object' || node === null) return;
  const last = keys[keys.length - 1]!;
  if (value === DELETE) delete (node as Record<string, unknown>)[last];
  else (node as Record<string, unknown>)[last] = value;
}

function mutate(cfg: Record<string, unknown>, r: () => number): void {
  const roll = r();
  if (roll < 0.1) {
    const parent = pick(...UNKNOWN_KEY_PARENTS)(r);
    setPath(cfg, parent === '' ? 'extra_key' : `${parent}.extra_key`, scalars(r));
    return;
  }
  const [path, valid, nullable, optional] = pick(...FIELDS)(r);
  const choice = r();
  let value: unknown;
  if (choice < 0.5) value = valid(r);
  else if (choice < 0.6) value = nullable ? null : anyValue(r);
  else if (choice < 0.7) value = optional ? DELETE : anyValue(r);
  else value = anyValue(r);
  setPath(cfg, path, value);
}

test('the fast check and the zod schema agree on 3,000 generated configs', () => {
  const schema = launcherSchema();
  const r = rng(20260501);
  let valid = 0;
  let invalid = 0;
  for (let i = 0; i < 3000; i++) {
    const cfg = base(r);
    for (let m = 1 + Math.floor(r() * 4); m > 0; m--) mutate(cfg, r);
    const zodSays = schema.safeParse(cfg).success;
    assert.equal(
      plainlyValid(cfg),
      zodSays,
      `case ${i}: zod says ${zodSays ? 'valid' : 'invalid'} for ${JSON.stringify(cfg, (_k, v) =>
        typeof v === 'number' && !Number.isFinite(v) ? String(v) : v,
      )}`,
    );
    if (zodSays) valid++;
    else invalid++;
  }
  // both verdicts are well represented, so the agreement is not about one side only
  assert.ok(valid > 600, `only ${valid} valid cases`);
  assert.ok(invalid > 600, `only ${invalid} invalid cases`);
});

test('values at the edges that once split the two validators', () => {
  const schema = launcherSchema();
  const cases: unknown[] = [0, -0, 1.5, 2 ** 53, NaN, Infinity, '600', null, 1, 600];
  for (const v of cases) {
    for (const key of ['endpoint_readiness_timeout', 'max_parallel_tasks']) {
      const cfg = base(rng(1));
      (cfg.execution as Record<string, unknown>)[key] = v;
      assert.equal(plainlyValid(cfg), schema.safeParse(cfg).success, `${key}: ${String(v)}`);
    }
  }
  const cfg = base(rng(1));
  (cfg.execution as Record<string, unknown>).endpoint_readiness_timeout = 1.5;
  assert.equal(schema.safeParse(cfg).success, false, 'a fraction of a second is refused');
  (cfg.execution as Record<string, unknown>).endpoint_readiness_timeout = 0;
  assert.equal(schema.safeParse(cfg).success, false, 'zero is refused');
  (cfg.execution as Record<string, unknown>).endpoint_readiness_timeout = 30;
  assert.equal(schema.safeParse(cfg).success, true);
});
