/**
 * Bad input through the real CLI: every case gives one clear line (two at most, the second a hint) on stderr,
 * exit code 1 or 2, no stack trace, no invocation directory and no exec DB record.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { nel, scratch } from './support/cli.js';

const GOOD = `defaults:
  - execution: local
  - deployment: none
  - _self_
execution:
  output_dir: OUT
target:
  api_endpoint:
    model_id: m
    url: http://127.0.0.1:9/v1/chat/completions
    api_key_name: NEL_BAD_INPUT_KEY
evaluation:
  tasks:
    - name: builtin.gsm8k
`;

interface Case {
  name: string;
  /** The config file text (OUT is replaced by the scratch output dir). */
  yaml?: string;
  args: (cfg: string, dir: string) => string[];
  env?: Record<string, string>;
  /** Text the first stderr line must contain. */
  expect: RegExp;
  /** Text stderr (message or hint) must contain. */
  alsoExpect?: RegExp;
}

const withTasks = (tasks: string) => GOOD.replace(/tasks:\n {4}- name: builtin.gsm8k\n/, `tasks:\n${tasks}`);
const run =
  (extra: string[] = []) =>
  (cfg: string) => ['run', '--config', cfg, ...extra];
const dry = (extra: string[] = []) => run(['--dry-run', ...extra]);

const CASES: Case[] = [
  {
    name: 'malformed YAML',
    yaml: 'execution:\n  output_dir: [unclosed\n',
    args: dry(),
    expect: /invalid YAML.*:\d+/,
  },
  {
    name: 'config file missing',
    args: () => ['run', '--config', '/nonexistent/x.yaml', '--dry-run'],
    expect: /x\.yaml/,
  },
  {
    name: 'unknown group option',
    yaml: GOOD.replace('execution: local', 'execution: localz'),
    args: dry(),
    expect: /localz/,
  },
  { name: 'bad override syntax', yaml: GOOD, args: dry(['-o', 'justakey']), expect: /justakey/ },
  {
    name: 'auto-export to an exporter this build does not have',
    yaml: GOOD,
    args: run(['-o', '+execution.auto_export.destinations=[local,mlflow]']),
    expect: /execution\.auto_export\.destinations: exporter 'mlflow' is not in this build/,
    alsoExpect: /~execution\.auto_export/,
  },
  {
    name: 'auto-export to a misspelt exporter',
    yaml: GOOD,
    args: run(['-o', '+execution.auto_export.destinations=[lcoal]']),
    expect: /no exporter 'lcoal'; available: local/,
  },
  { name: 'bad override brackets', yaml: GOOD, args: dry(['-o', 'a.b=[1,2']), expect: /a\.b/ },
  {
    name: 'override of a missing key',
    yaml: GOOD,
    args: dry(['-o', 'target.api_endpoint.nope=1']),
    expect: /nope/,
    alsoExpect: /\+target\.api_endpoint\.nope=1/,
  },
  {
    name: '+ on an existing key',
    yaml: GOOD,
    args: dry(['-o', '+target.api_endpoint.model_id=x']),
    expect: /model_id/,
  },
  { name: 'raw mode with -o', yaml: GOOD, args: dry(['--config-mode', 'raw', '-o', 'a=1']), expect: /raw/ },
  { name: 'bad --config-mode', yaml: GOOD, args: dry(['--config-mode', 'weird']), expect: /config-mode/ },
  {
    name: 'unknown task',
    yaml: withTasks('    - name: no_such_task_xyz\n'),
    args: dry(),
    expect: /no_such_task_xyz/,
  },
  {
    name: 'ambiguous task',
    yaml: withTasks('    - name: mmlu\n'),
    args: dry(),
    expect: /multiple tasks named 'mmlu'/,
  },
  { name: 'task name with two dots', yaml: withTasks('    - name: a.b.c\n'), args: dry(), expect: /a\.b\.c/ },
  {
    name: 'missing ??? value',
    yaml: GOOD.replace('  output_dir: OUT\n', '  mode: sequential\n'),
    args: dry(),
    expect: /execution\.output_dir/,
  },
  {
    name: 'evaluation.tasks not a list',
    yaml: GOOD.replace(/tasks:\n {4}- name: builtin.gsm8k\n/, 'tasks: gsm8k\n'),
    args: dry(),
    expect: /evaluation\.tasks/,
  },
  {
    name: 'unknown evaluation key',
    yaml: GOOD.replace('evaluation:\n', 'evaluation:\n  colour: red\n'),
    args: dry(),
    expect: /colour/,
  },
  {
    name: 'unknown task key',
    yaml: withTasks('    - name: builtin.gsm8k\n      temperature: 0.5\n'),
    args: dry(),
    expect: /temperature/,
  },
  {
    name: 'wrong type for a task name',
    yaml: withTasks('    - name: 42\n'),
    args: dry(),
    expect: /name/,
  },
  {
    name: 'invalid execution.mode',
    yaml: GOOD.replace('  output_dir: OUT\n', '  output_dir: OUT\n  mode: sideways\n'),
    args: dry(),
    expect: /mode/,
  },
  {
    name: 'interpolation to a missing key',
    yaml: GOOD.replace('model_id: m', 'model_id: ${target.nothing_here}'),
    args: dry(),
    expect: /nothing_here/,
  },
  {
    name: 'interpolation cycle',
    yaml: GOOD.replace('model_id: m', 'model_id: ${target.api_endpoint.url}').replace(
      'url: http://127.0.0.1:9/v1/chat/completions',
      'url: ${target.api_endpoint.model_id}',
    ),
    args: dry(),
    expect: /cycl|circular|recurs/i,
  },
  {
    name: 'oc.env of an unset variable',
    yaml: GOOD.replace('model_id: m', 'model_id: ${oc.env:NEL_SURELY_UNSET_VAR}'),
    args: dry(),
    expect: /NEL_SURELY_UNSET_VAR/,
  },
  {
    name: 'execution.env_vars (removed upstream)',
    yaml: GOOD.replace('  output_dir: OUT\n', '  output_dir: OUT\n  env_vars:\n    A: host:B\n'),
    args: dry(),
    expect: /env_vars/,
  },
  {
    name: 'legacy evaluation.overrides',
    yaml: GOOD.replace('evaluation:\n', 'evaluation:\n  overrides:\n    config.params.temperature: 0.6\n'),
    args: dry(),
    expect: /overrides/,
  },
  {
    name: 'env value that is not a variable name',
    yaml: withTasks('    - name: builtin.gsm8k\n      env_vars:\n        FOO: some value with spaces\n'),
    args: dry(),
    expect: /FOO/,
  },
  {
    name: 'unknown -t filter',
    yaml: GOOD,
    args: dry(['-t', 'nonexistent_task']),
    expect: /nonexistent_task/,
  },
  {
    name: 'parallel mode with a deployment',
    yaml: GOOD.replace('deployment: none', 'deployment: vllm')
      .replace(/target:\n {2}api_endpoint:\n {4}model_id: m\n {4}url: [^\n]+\n/, 'target:\n  api_endpoint:\n')
      .replace('  output_dir: OUT\n', '  output_dir: OUT\n  mode: parallel\n')
      .concat('deployment:\n  checkpoint_path: /tmp\n  served_model_name: m\n'),
    args: dry(),
    expect: /parallel/,
  },
  {
    name: 'url with a deployment',
    yaml: GOOD.replace('deployment: none', 'deployment: vllm').concat(
      'deployment:\n  checkpoint_path: /tmp\n  served_model_name: m\n',
    ),
    args: dry(),
    expect: /url/,
  },
  {
    name: 'unset secret variable at launch',
    yaml: GOOD,
    args: run(),
    expect: /NEL_BAD_INPUT_KEY is not set/,
  },
  {
    name: 'unlisted task without trust',
    yaml: withTasks('    - name: myharness.mytask\n      container: example.org/img:1\n'),
    args: run(['--no-docker']),
    env: { NEL_BAD_INPUT_KEY: 'k' },
    expect: /Unlisted tasks found/,
  },
  {
    name: 'pre_cmd without trust',
    yaml: GOOD.replace('evaluation:\n', 'evaluation:\n  pre_cmd: echo hi\n'),
    args: run(['--no-docker']),
    env: { NEL_BAD_INPUT_KEY: 'k' },
    expect: /NEMO_EVALUATOR_TRUST_PRE_CMD/,
  },
  {
    name: 'docker missing for a Docker run',
    yaml: GOOD,
    args: run(),
    env: { NEL_BAD_INPUT_KEY: 'k', PATH: '/nonexistent-bin' },
    expect: /Docker is not available/,
  },
  {
    name: 'unwritable output dir',
    yaml: GOOD.replace('output_dir: OUT', 'output_dir: /etc/hostname/nel-cannot-write-here'),
    args: dry(),
    expect: /output directory/,
  },
  {
    name: 'status of an unknown id',
    args: () => ['status', 'ffffffffffff'],
    expect: /ffffffffffff|not found/i,
  },
  { name: 'kill of an unknown id', args: () => ['kill', 'eeeeeeeeeeee'], expect: /eeeeeeeeeeee|not found/i },
  { name: 'logs of an unknown id', args: () => ['logs', 'dddddddddddd'], expect: /dddddddddddd|not found/i },
  { name: 'unknown command option', args: () => ['run', '--frobnicate'], expect: /frobnicate/ },
];

test('the suite has at least 25 cases', () => {
  assert.ok(CASES.length >= 25, String(CASES.length));
});

for (const c of CASES) {
  test(`bad input: ${c.name}`, () => {
    const s = scratch('nel-bad-');
    const out = join(s.dir, 'out');
    const cfg = join(s.dir, 'config', 'cfg.yaml');
    mkdirSync(join(s.dir, 'config'), { recursive: true });
    if (c.yaml !== undefined) writeFileSync(cfg, c.yaml.replace('output_dir: OUT', `output_dir: ${out}`));
    const env = { ...s.env, ...(c.env ?? {}) };
    const r = nel(c.args(cfg, s.dir), { cwd: s.dir, env });
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    assert.ok(r.code === 1 || r.code === 2, `exit code ${r.code}; stderr: ${r.stderr}; stdout: ${r.stdout}`);
    assert.ok(
      lines.length >= 1 && lines.length <= 2,
      `expected 1-2 stderr lines, got:\n${r.stderr}\nstdout: ${r.stdout}`,
    );
    assert.match(lines[0]!, c.expect);
    if (c.alsoExpect) assert.match(r.stderr, c.alsoExpect);
    assert.doesNotMatch(r.stderr, /^\s+at /m, 'stack trace printed');
    assert.ok(!existsSync(out) || readdirSync(out).length === 0, 'an invocation directory was created');
    assert.ok(!existsSync(s.dbPath), 'an exec DB record was written');
  });
}
