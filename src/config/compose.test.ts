import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { NelError } from '../common/errors.js';
import { composeConfig, listGroupOptions, mergeConfig, packagedConfigDir } from './compose.js';

const root = mkdtempSync(join(tmpdir(), 'nel-compose-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** Write files into a fresh folder; returns the path of `main.yaml`. */
function fixture(files: Record<string, string>): string {
  const dir = join(root, String(n++));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return join(dir, 'main.yaml');
}

function compose(path: string, choices: Record<string, string | null> = {}): Record<string, unknown> {
  return composeConfig({
    primaryPath: path,
    primaryText: readFileSync(path, 'utf8'),
    groupChoices: new Map(Object.entries(choices)),
  });
}

test('packaged configs exist beside the module', () => {
  const dir = packagedConfigDir();
  assert.ok(existsSync(join(dir, 'execution', 'local.yaml')));
  assert.deepEqual(listGroupOptions('deployment', [dir]), [
    'generic',
    'llamacpp',
    'nim',
    'none',
    'sglang',
    'trtllm',
    'vllm',
    'vllm_ray',
  ]);
});

test('packaged execution/local and deployment/none, with _self_ last the user wins', () => {
  const p = fixture({
    'main.yaml':
      'defaults:\n  - execution: local\n  - deployment: none\n  - _self_\nexecution:\n  output_dir: out\n  mode: parallel\n',
  });
  const cfg = compose(p);
  assert.deepEqual(cfg.execution, {
    type: 'local',
    output_dir: 'out',
    extra_docker_args: '',
    mode: 'parallel',
    endpoint_readiness_timeout: 600,
    use_docker: true,
    max_parallel_tasks: null,
  });
  assert.deepEqual(cfg.deployment, { type: 'none' });
  assert.equal('defaults' in cfg, false);
});

test('_self_ first lets the groups win', () => {
  const p = fixture({
    'main.yaml':
      'defaults:\n  - _self_\n  - execution: local\nexecution:\n  mode: parallel\n  output_dir: o\n',
  });
  const ex = compose(p).execution as Record<string, unknown>;
  assert.equal(ex.mode, 'sequential');
  // `???` in a later layer never replaces a value
  assert.equal(ex.output_dir, 'o');
});

test('group files next to the user file come first; nested options; null drops a group', () => {
  const p = fixture({
    'main.yaml':
      'defaults:\n  - execution: local\n  - deployment: null\n  - extra: team/custom\n  - _self_\n',
    'execution/local.yaml': 'type: local\noutput_dir: mine\n',
    'extra/team/custom.yaml': 'x: 1\n',
  });
  const cfg = compose(p);
  assert.deepEqual(cfg.execution, { type: 'local', output_dir: 'mine' });
  assert.equal(cfg.deployment, undefined);
  assert.deepEqual(cfg.extra, { x: 1 });
});

test('`override group: x` and command-line choices re-select an option', () => {
  const p = fixture({
    'main.yaml':
      'defaults:\n  - deployment: none\n  - override deployment: vllm\n  - _self_\ndeployment:\n  served_model_name: m\n',
  });
  assert.equal((compose(p).deployment as Record<string, unknown>).type, 'vllm');
  const q = fixture({ 'main.yaml': 'defaults:\n  - deployment: none\n  - _self_\n' });
  assert.equal((compose(q, { deployment: 'sglang' }).deployment as Record<string, unknown>).type, 'sglang');
  assert.equal(compose(q, { deployment: null }).deployment, undefined);
});

test('group files can have their own defaults list (vllm_ray inherits vllm)', () => {
  const p = fixture({ 'main.yaml': 'defaults:\n  - deployment: vllm_ray\n' });
  const d = compose(p).deployment as Record<string, unknown>;
  assert.equal(d.type, 'vllm');
  assert.equal(d.distributed_executor_backend, 'ray');
  assert.equal(d.port, 8000);
  assert.match(String(d.command), /\$\{deployment\.base_command\} --distributed-executor-backend/);
});

test('a config without a defaults list is taken as written', () => {
  const p = fixture({ 'main.yaml': 'a: 1\nexecution:\n  output_dir: x\n' });
  assert.deepEqual(compose(p), { a: 1, execution: { output_dir: 'x' } });
});

test('unknown group option lists the available options', () => {
  const p = fixture({ 'main.yaml': 'defaults:\n  - deployment: vlm\n  - _self_\n' });
  assert.throws(
    () => compose(p),
    (e: NelError) =>
      e.code === 'CONFIG_GROUP' &&
      e.message.includes("unknown option 'vlm' for config group 'deployment'") &&
      e.message.includes(p) &&
      e.message.includes('vllm, vllm_ray') &&
      !e.message.includes('\n'),
  );
});

test('merge: maps merge, lists and scalars replace, ??? never replaces', () => {
  assert.deepEqual(
    mergeConfig({ a: { x: 1, l: [1, 2] }, b: 1 }, { a: { l: [3], y: 2 }, b: '???', c: '???' }),
    {
      a: { x: 1, l: [3], y: 2 },
      b: 1,
      c: '???',
    },
  );
});

test('a config path at a package: deployment/vllm@auxiliary_deployments.judge (Hydra)', () => {
  const main = fixture({
    'main.yaml': [
      'defaults:',
      '  - deployment: vllm',
      '  - deployment/vllm@auxiliary_deployments.judge',
      '  - deployment@auxiliary_deployments.other: sglang',
      '  - _self_',
      'auxiliary_deployments:',
      '  judge:',
      '    port: 8001',
      '',
    ].join('\n'),
  });
  const out = compose(main) as {
    deployment: Record<string, unknown>;
    auxiliary_deployments: Record<string, Record<string, unknown>>;
  };
  const vllm = compose(fixture({ 'main.yaml': 'defaults:\n  - deployment: vllm\n' })).deployment as Record<
    string,
    unknown
  >;
  assert.equal(out.deployment.type, 'vllm');
  assert.equal(out.deployment.port, 8000);
  // the whole of deployment/vllm.yaml under auxiliary_deployments.judge, the user's keys on top
  assert.deepEqual(out.auxiliary_deployments.judge, { ...vllm, port: 8001 });
  assert.equal(out.auxiliary_deployments.other!.type, 'sglang');
  // nothing of it at the root or under a `deployment/vllm` key
  assert.deepEqual(Object.keys(out).sort(), ['auxiliary_deployments', 'deployment']);
  // a choice for the placed group is keyed group@package; the plain group keeps its own
  const chosen = compose(main, { 'deployment@auxiliary_deployments.other': 'nim' }) as typeof out;
  assert.equal(chosen.auxiliary_deployments.other!.type, 'nim');
  assert.equal(chosen.deployment.type, 'vllm');
  // a local path beside the user's file, its default package from its folder; _global_ is absolute
  const local = fixture({
    'main.yaml': 'defaults:\n  - extra/thing\n  - extra/thing@_global_\n  - _self_\n',
    'extra/thing.yaml': 'a: 1\n',
  });
  assert.deepEqual(compose(local), { extra: { a: 1 }, a: 1 });
});
