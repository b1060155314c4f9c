import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { NelError } from '../common/errors.js';
import { parseYaml } from '../common/yaml.js';
import { formatConfigYaml, loadConfig, type LoadConfigOptions } from './index.js';

const root = mkdtempSync(join(tmpdir(), 'nel-config-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

const BASE = `defaults:
  - execution: local
  - deployment: none
  - _self_
execution:
  output_dir: results
target:
  api_endpoint:
    model_id: meta/llama-3.1-8b-instruct
    url: https://integrate.api.nvidia.com/v1/chat/completions
    api_key_name: NGC_API_KEY
evaluation:
  nemo_evaluator_config:
    config:
      params:
        parallelism: 1
  tasks:
    - name: ifeval
    - name: gpqa_diamond
      env_vars:
        HF_TOKEN: HF_TOKEN_FOR_GPQA
`;

/** Write `text` as a config (plus extra files) in a fresh folder; returns its path. */
function write(text: string, name = 'run.yaml', extra: Record<string, string> = {}): string {
  const dir = join(root, String(n++));
  mkdirSync(dir, { recursive: true });
  for (const [rel, body] of Object.entries(extra)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), body);
  }
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const load = (config: string, more: Partial<LoadConfigOptions> = {}) =>
  loadConfig({ config, env: {}, ...more });

/** A NelError with `code` whose message is one line containing every part. */
function fails(fn: () => unknown, code: string, ...parts: string[]): NelError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof NelError, `expected a NelError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.ok(!caught.message.includes('\n'), `not one line: ${caught.message}`);
  for (const p of parts) assert.ok(caught.message.includes(p), `'${caught.message}' lacks '${p}'`);
  assert.ok(caught.hint && caught.hint.length > 0, 'has a hint');
  return caught;
}

test('--config composes, keeps raw uninterpolated, resolves, adds user_config_path', () => {
  const p = write(BASE + 'extra:\n  url: ${target.api_endpoint.url}\n  port: ${oc.env:PORT_X,9}\n');
  const c = load(p);
  assert.equal(c.sourcePath, p);
  assert.equal(c.raw.user_config_path, p);
  assert.equal(c.resolved.user_config_path, p);
  assert.equal((c.raw.extra as Record<string, unknown>).url, '${target.api_endpoint.url}');
  assert.deepEqual(c.resolved.extra, {
    url: 'https://integrate.api.nvidia.com/v1/chat/completions',
    port: '9',
  });
  assert.equal((c.resolved.execution as Record<string, unknown>).use_docker, true);
  assert.equal(c.sourceText?.startsWith('defaults:'), true);
  assert.deepEqual(c.warnings, []);
});

test('--config-dir/--config-name finds NAME.yaml then NAME.yml; --config accepts .yml', () => {
  const p = write(BASE, 'seed.yml');
  const dir = dirname(p);
  const c = loadConfig({ configDir: dir, configName: 'seed', env: {} });
  assert.equal(c.sourcePath, p);
  writeFileSync(join(dir, 'seed.yaml'), BASE.replace('results', 'from-yaml'));
  const d = loadConfig({ configDir: dir, configName: 'seed', env: {} });
  assert.equal((d.resolved.execution as Record<string, unknown>).output_dir, 'from-yaml');
  const rel = loadConfig({ configDir: '.', configName: 'seed.yml', cwd: dir, env: {} });
  assert.equal(rel.sourcePath, join(dir, 'seed.yaml'));
  assert.equal(load(p).sourcePath, p);
});

test('overrides: set, add, force, delete, group choice, list index, task name, typed values', () => {
  const p = write(BASE);
  const c = load(p, {
    overrides: [
      'target.api_endpoint.api_key_name=API_KEY',
      '+execution.auto_export.destinations=[local]',
      '++evaluation.nemo_evaluator_config.config.params.limit_samples=10',
      '~evaluation.tasks.1.env_vars',
      'evaluation.tasks.0.name=lm-evaluation-harness.ifeval',
      'evaluation.tasks.gpqa_diamond.nemo_evaluator_config.config.params.temperature=0.6',
      'execution.max_parallel_tasks=2',
      'execution.mode=parallel',
      'execution.extra_docker_args="--shm-size 1g"',
    ],
  });
  const r = c.resolved as Record<string, any>;
  assert.equal(r.target.api_endpoint.api_key_name, 'API_KEY');
  assert.deepEqual(r.execution.auto_export, { destinations: ['local'] });
  assert.equal(r.evaluation.nemo_evaluator_config.config.params.limit_samples, 10);
  assert.equal(r.evaluation.tasks[1].env_vars, undefined);
  assert.equal(r.evaluation.tasks[0].name, 'lm-evaluation-harness.ifeval');
  assert.equal(r.evaluation.tasks[1].nemo_evaluator_config.config.params.temperature, 0.6);
  assert.equal(r.execution.max_parallel_tasks, 2);
  assert.equal(r.execution.extra_docker_args, '--shm-size 1g');
});

test('group=option re-selects a deployment; its interpolations resolve', () => {
  const p = write(BASE.replace(/target:\n(  .*\n)+/, ''));
  const c = load(p, {
    overrides: [
      'deployment=vllm',
      '++deployment.hf_model_handle=org/model',
      'deployment.served_model_name=m',
      'deployment.port=9001',
    ],
  });
  const d = c.resolved.deployment as Record<string, unknown>;
  assert.equal(d.type, 'vllm');
  assert.match(
    String(d.command),
    /^vllm serve org\/model --tensor-parallel-size=8 .*--port 9001 .*--served-model-name m /,
  );
  assert.equal((c.raw.deployment as Record<string, unknown>).command, '${deployment.base_command}');
});

test('task key `config` is an alias of nemo_evaluator_config; legacy adapter_config keys pass through', () => {
  const p = write(
    BASE.replace(
      '    - name: ifeval\n',
      '    - name: ifeval\n      config:\n        config: {params: {top_p: 0.9}}\n        target:\n          api_endpoint:\n            adapter_config: {use_reasoning: false, use_system_prompt: true, custom_system_prompt: "Think", use_caching: true}\n',
    ),
  );
  const t = (load(p).resolved.evaluation as Record<string, any>).tasks[0];
  assert.equal(t.config, undefined);
  assert.deepEqual(t.nemo_evaluator_config.target.api_endpoint.adapter_config, {
    use_reasoning: false,
    use_system_prompt: true,
    custom_system_prompt: 'Think',
    use_caching: true,
  });
  assert.equal(t.nemo_evaluator_config.config.params.top_p, 0.9);
});

test('raw mode takes the file as written', () => {
  const p = write(
    'execution:\n  type: local\n  output_dir: x\nevaluation:\n  tasks: [{name: a}]\nv: ${execution.output_dir}\n',
  );
  const c = load(p, { mode: 'raw' });
  assert.equal(c.raw.user_config_path, undefined);
  assert.equal(c.resolved.v, 'x');
  assert.equal((c.resolved.execution as Record<string, unknown>).mode, undefined);
});

test('a loaded config prints as YAML that parses back to the same data', () => {
  const c = load(write(BASE));
  assert.deepEqual(parseYaml(formatConfigYaml(c.raw)), c.raw);
});

test('20 tasks load (functional check of the bulk path)', () => {
  const tasks = Array.from({ length: 20 }, (_, i) => `    - name: task_${i}\n      env_vars: {K: V}\n`).join(
    '',
  );
  const p = write(BASE.replace(/  tasks:\n(    .*\n)+/, '  tasks:\n' + tasks));
  assert.equal((load(p).resolved.evaluation as { tasks: unknown[] }).tasks.length, 20);
});

// ---- bad input: one line, stable code, naming the key and/or the file ----

test('bad: missing config file', () => {
  fails(() => load(join(root, 'nope.yaml')), 'CONFIG_NOT_FOUND', 'nope.yaml');
  fails(
    () => loadConfig({ configDir: root, configName: 'nope', env: {} }),
    'CONFIG_NOT_FOUND',
    "'nope'",
    'nope.yml',
  );
  fails(() => loadConfig({ env: {} }), 'USAGE', 'no config');
});

test('bad: malformed YAML names the file and line', () => {
  const p = write('execution:\n  output_dir: x\n  mode: [a\nfoo: bar\n');
  fails(() => load(p), 'CONFIG_PARSE', `${p}:`);
  const q = write('- just\n- a list\n');
  fails(() => load(q), 'CONFIG_INVALID', q, 'YAML map');
});

test('bad: unknown group option in the file and on the command line', () => {
  fails(
    () => load(write(BASE.replace('deployment: none', 'deployment: vlm'))),
    'CONFIG_GROUP',
    "'vlm'",
    'vllm',
  );
  fails(
    () => load(write(BASE), { overrides: ['deployment=nope'] }),
    'CONFIG_GROUP',
    "'nope'",
    'none, sglang',
  );
});

test('bad: override syntax', () => {
  fails(
    () => load(write(BASE), { overrides: ['execution.mode'] }),
    'CONFIG_OVERRIDE',
    "'execution.mode'",
    "'='",
  );
  fails(() => load(write(BASE), { overrides: ['x=[1'] }), 'CONFIG_OVERRIDE', "'x=[1'");
});

test('bad: override of a missing key suggests +', () => {
  const e = fails(
    () => load(write(BASE), { overrides: ['execution.nope=1'] }),
    'CONFIG_OVERRIDE',
    "'execution.nope'",
  );
  assert.match(e.hint!, /\+execution\.nope=1/);
});

test('bad: + on an existing key suggests ++', () => {
  const e = fails(
    () => load(write(BASE), { overrides: ['+execution.mode=parallel'] }),
    'CONFIG_OVERRIDE',
    'execution.mode',
  );
  assert.match(e.hint!, /\+\+execution\.mode=parallel/);
});

test('bad: ??? left unset names the dotted path and file', () => {
  const p = write(BASE.replace('execution:\n  output_dir: results\n', ''));
  const e = fails(() => load(p), 'CONFIG_MISSING_VALUE', `missing value for execution.output_dir (in ${p})`);
  assert.match(e.hint!, /-o execution\.output_dir=/);
  const q = write(
    BASE.replace(
      '    - name: ifeval\n',
      '    - name: ifeval\n      nemo_evaluator_config: {judge: {url: ???}}\n',
    ),
  );
  fails(() => load(q), 'CONFIG_MISSING_VALUE', 'evaluation.tasks.0.nemo_evaluator_config.judge.url');
});

test('bad: unknown evaluation key lists the allowed keys', () => {
  const p = write(BASE.replace('evaluation:\n', 'evaluation:\n  taks: []\n'));
  fails(
    () => load(p),
    'CONFIG_INVALID',
    'evaluation.taks',
    p,
    'allowed keys: env_vars, nemo_evaluator_config, post_cmd, pre_cmd, tasks',
  );
});

test('bad: unknown task key lists the allowed keys', () => {
  const p = write(BASE.replace('    - name: ifeval\n', '    - name: ifeval\n      nemo_evaluator_cfg: {}\n'));
  fails(
    () => load(p),
    'CONFIG_INVALID',
    'evaluation.tasks.0.nemo_evaluator_cfg',
    'allowed keys:',
    'dataset_mount_path',
  );
});

test('bad: wrong types', () => {
  fails(
    () => load(write(BASE), { overrides: ['execution.mode=fast'] }),
    'CONFIG_INVALID',
    'execution.mode',
    'sequential or parallel',
  );
  fails(
    () => load(write(BASE), { overrides: ['execution.max_parallel_tasks=0'] }),
    'CONFIG_INVALID',
    'execution.max_parallel_tasks',
  );
  fails(
    () => load(write(BASE), { overrides: ['execution.use_docker=maybe'] }),
    'CONFIG_INVALID',
    'execution.use_docker',
  );
  fails(
    () => load(write(BASE), { overrides: ['execution.endpoint_readiness_timeout=-1'] }),
    'CONFIG_INVALID',
    'endpoint_readiness_timeout',
  );
  fails(
    () => load(write(BASE), { overrides: ['execution.output_dir=[a]'] }),
    'CONFIG_INVALID',
    'execution.output_dir',
  );
  fails(
    () => load(write(BASE), { overrides: ['evaluation.tasks=x'] }),
    'CONFIG_INVALID',
    'evaluation.tasks',
    'list',
  );
  fails(
    () => load(write(BASE), { overrides: ['evaluation.tasks.0.name=""'] }),
    'CONFIG_INVALID',
    'evaluation.tasks.0.name',
  );
  fails(
    () => load(write(BASE), { overrides: ['evaluation.tasks.1.env_vars={A: {b: 1}}'] }),
    'CONFIG_INVALID',
    'evaluation.tasks.1.env_vars.A',
  );
  fails(
    () => load(write(BASE), { overrides: ['evaluation.nemo_evaluator_config=[1]'] }),
    'CONFIG_INVALID',
    'evaluation.nemo_evaluator_config',
  );
});

test('bad: interpolation cycle and missing key name the holding key', () => {
  fails(() => load(write(BASE + 'a: ${b}\nb: ${a}\n')), 'CONFIG_INTERPOLATION', 'a', 'cycle');
  fails(() => load(write(BASE + 'x:\n  y: ${nope.z}\n')), 'CONFIG_INTERPOLATION', 'x.y', 'nope.z');
});

test('bad: missing oc.env variable names the variable', () => {
  fails(
    () => load(write(BASE + 'k: ${oc.env:NEL_TEST_UNSET_VAR}\n')),
    'CONFIG_INTERPOLATION',
    'NEL_TEST_UNSET_VAR',
  );
});

test('bad: raw mode with -o', () => {
  fails(
    () => load(write(BASE), { mode: 'raw', overrides: ['a=1'] }),
    'CONFIG_OVERRIDE',
    'Cannot use --config-mode=raw with --override',
  );
});

test('bad: execution.env_vars, legacy overrides, mounts keys, deployment with target url', () => {
  fails(
    () => load(write(BASE), { overrides: ['+execution.env_vars={A: B}'] }),
    'CONFIG_INVALID',
    'execution.env_vars',
    'not supported',
  );
  fails(
    () => load(write(BASE), { overrides: ['+evaluation.overrides={config.params.temperature: 0.6}'] }),
    'CONFIG_INVALID',
    'evaluation.overrides',
  );
  fails(
    () => load(write(BASE), { overrides: ['+evaluation.tasks.0.overrides={a: 1}'] }),
    'CONFIG_INVALID',
    'evaluation.tasks.0.overrides',
  );
  fails(
    () => load(write(BASE), { overrides: ['+execution.mounts={evaluation: {/a: /b}, home: true}'] }),
    'CONFIG_INVALID',
    'execution.mounts.home',
    'auxiliary, deployment, evaluation, mount_home',
  );
  fails(
    () => load(write(BASE), { overrides: ['deployment=vllm', 'deployment.served_model_name=m'] }),
    'CONFIG_INVALID',
    'target.api_endpoint.url',
  );
});

test('bad: group override for a group the config does not use suggests +', () => {
  const p = write('execution:\n  output_dir: x\nevaluation:\n  tasks: [{name: a}]\n');
  const e = fails(() => load(p, { overrides: ['deployment=vllm'] }), 'CONFIG_OVERRIDE', "'deployment'");
  assert.match(e.hint!, /\+deployment=vllm/);
  assert.equal(
    (load(p, { overrides: ['+deployment=none'] }).resolved.deployment as Record<string, unknown>).type,
    'none',
  );
});

test('bad: task-name override for a task not in the config', () => {
  fails(
    () => load(write(BASE), { overrides: ['evaluation.tasks.mbpp.pre_cmd=x'] }),
    'CONFIG_OVERRIDE',
    "'mbpp'",
    'ifeval, gpqa_diamond',
  );
});

test('bad: evaluation missing or a list', () => {
  fails(() => load(write('execution:\n  output_dir: x\n')), 'CONFIG_INVALID', 'evaluation is missing');
  fails(() => load(write('evaluation: []\n')), 'CONFIG_INVALID', 'evaluation must be a map');
});
