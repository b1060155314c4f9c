import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NelError } from '../../common/errors.js';
import { writeInvocationPlan } from '../../launcher/plan.js';
import { buildInvocationPlan, formatDryRun } from './plan.js';
import { launcherConfig } from '../../config/index.js';
import type { LauncherConfig } from '../../config/schema.js';

function loaded(over: Record<string, unknown> = {}, execution: Record<string, unknown> = {}) {
  const resolved: Record<string, unknown> = {
    execution: {
      type: 'local',
      output_dir: '/tmp/nel-plan-test',
      mode: 'sequential',
      extra_docker_args: '',
      use_docker: true,
      max_parallel_tasks: null,
      ...execution,
    },
    deployment: { type: 'none' },
    target: {
      api_endpoint: { url: 'http://127.0.0.1:9/v1/chat/completions', model_id: 'm', api_key_name: 'KEY' },
    },
    evaluation: { tasks: [{ name: 'ifeval' }, { name: 'gpqa_diamond' }, { name: 'ifeval' }] },
    ...over,
  };
  // Validated by the launcher schema, as loadConfig would (and so typed).
  const config = launcherConfig({ resolved: resolved as LauncherConfig, sourcePath: null });
  return { raw: resolved, resolved: config, sourcePath: null, sourceText: null, warnings: [] };
}
const base = {
  dryRun: true,
  env: { KEY: 'v' },
  launcherCommand: 'nel run',
  toolPaths: { nelJs: '/x/nel.js', engineJs: '/x/ne.js' },
};
const now = new Date(2026, 0, 2, 3, 4, 5);

test('ids, dirs and job numbering', () => {
  const p = buildInvocationPlan(loaded(), { ...base, now });
  assert.match(p.invocationId, /^[0-9a-f]{16}$/);
  assert.equal(p.invocationDir, `/tmp/nel-plan-test/20260102_030405-${p.invocationId}`);
  assert.deepEqual(
    p.jobs.map((j) => [j.jobId, j.uniqueName]),
    [
      [`${p.invocationId}.0`, 'ifeval.0'],
      [`${p.invocationId}.1`, 'gpqa_diamond.1'],
      [`${p.invocationId}.2`, 'ifeval.2'],
    ],
  );
  assert.equal(p.entryScripts[0], join(p.invocationDir, 'run_all.sequential.sh'));
  assert.deepEqual(p.missingHostVars, []);
  assert.equal(p.jobs[1]!.evalImage, 'nvcr.io/nvidia/eval-factory/simple-evals:25.10');
  assert.equal((p.resolvedConfig.evaluation as { tasks: unknown[] }).tasks.length, 3);
});

test('-t filter: by name, by name.index, renumbered, unknown listed', () => {
  const byName = buildInvocationPlan(loaded(), {
    ...base,
    invocationId: 'a'.repeat(16),
    taskFilter: ['ifeval'],
  });
  assert.deepEqual(
    byName.jobs.map((j) => j.uniqueName),
    ['ifeval.0', 'ifeval.1'],
  );
  const one = buildInvocationPlan(loaded(), { ...base, taskFilter: ['ifeval.2'] });
  assert.deepEqual(
    one.jobs.map((j) => j.uniqueName),
    ['ifeval.0'],
  );
  assert.equal((one.resolvedConfig.evaluation as { tasks: unknown[] }).tasks.length, 1);
  assert.throws(
    () => buildInvocationPlan(loaded(), { ...base, taskFilter: ['nope'] }),
    /Requested task\(s\) not found in config: \['nope'\]\. Available tasks: \['ifeval\.0', 'gpqa_diamond\.1', 'ifeval\.2'\]/,
  );
});

test('parallel mode writes run_all.parallel.sh with the cap; errors for bad modes', () => {
  const p = buildInvocationPlan(loaded({}, { mode: 'parallel', max_parallel_tasks: 2 }), base);
  assert.equal(p.entryScripts[0], join(p.invocationDir, 'run_all.parallel.sh'));
  const text = p.files.find((f) => f.path === p.entryScripts[0])!.text;
  assert.match(text, /nel_max_parallel=2\n/);
  assert.match(text, /wait -n/);
  assert.throws(
    () => buildInvocationPlan(loaded({}, { mode: 'fast' }), base),
    /execution\.mode must be sequential or parallel, got the string "fast"/,
  );
  const dep = {
    deployment: {
      type: 'vllm',
      image: 'vllm/vllm-openai:latest',
      command: 'vllm serve x',
      port: 8000,
      served_model_name: 's',
      endpoints: { chat: '/v1/chat/completions', health: '/health' },
    },
    target: { api_endpoint: { api_key_name: 'KEY' } },
  };
  assert.throws(
    () => buildInvocationPlan(loaded(dep, { mode: 'parallel' }), base),
    /Execution mode 'parallel' is not supported with deployment type: vllm/,
  );
  assert.throws(() => buildInvocationPlan(loaded(dep, { use_docker: false }), base), /needs Docker/);
  assert.throws(() => buildInvocationPlan(loaded({}, { max_parallel_tasks: 0 }), base), /max_parallel_tasks/);
});

test('deployment: server block, endpoint url and served model name', () => {
  const dep = {
    deployment: {
      type: 'vllm',
      image: 'vllm/vllm-openai:latest',
      command: 'vllm serve x --port 8000',
      port: 8000,
      served_model_name: 'served',
      checkpoint_path: '/ckpt',
      endpoints: { chat: '/v1/chat/completions', health: '/health' },
      env_vars: { HF_TOKEN: 'host:HF' },
    },
    // With a deployment, the endpoint comes from it (the schema refuses a url/model_id here).
    target: { api_endpoint: { api_key_name: 'KEY' } },
  };
  const p = buildInvocationPlan(loaded(dep, { endpoint_readiness_timeout: 30 }), {
    ...base,
    env: { KEY: 'v' },
  });
  const cfg = p.jobs[0]!.engineConfig as { target: { api_endpoint: Record<string, unknown> } };
  assert.equal(cfg.target.api_endpoint.url, 'http://127.0.0.1:8000/v1/chat/completions');
  assert.equal(cfg.target.api_endpoint.model_id, 'served');
  const run = p.files.find((f) => f.path.endsWith('ifeval.0/run.sh'))!.text;
  assert.match(run, /--label nel\.role=server/);
  assert.match(run, /--volume \/ckpt:\/checkpoint:ro/);
  assert.match(run, /--network "container:\$server_container"/);
  assert.match(run, /-ge 30 \]/);
  assert.deepEqual(p.missingHostVars, [{ name: 'HF', declaredAt: 'deployment.env_vars.HF_TOKEN' }]);
});

test('host mode: config_ef.yaml in the task dir, engine on the host, no docker check', () => {
  const p = buildInvocationPlan(loaded({}, { use_docker: false }), base);
  assert.equal(p.useDocker, false);
  const cfgFile = p.files.find((f) => f.path.endsWith('ifeval.0/config_ef.yaml'))!;
  assert.match(cfgFile.text, new RegExp(`output_dir: ${p.jobs[0]!.taskDir}/artifacts`));
  const run = p.files.find((f) => f.path.endsWith('ifeval.0/run.sh'))!.text;
  assert.match(run, /node \/x\/ne\.js run_eval --run_config "\$task_dir\/config_ef\.yaml"/);
  assert.match(run, /stage\.pid/);
  assert.doesNotMatch(run, /command -v docker/);
  assert.equal(buildInvocationPlan(loaded(), { ...base, noDocker: true }).useDocker, false);
});

test('warnings: unset host vars, unlisted tasks, pre_cmd', () => {
  const p = buildInvocationPlan(
    loaded({
      evaluation: {
        pre_cmd: 'echo hi',
        tasks: [{ name: 'x', container: 'example.com/x:1', env_vars: { T: 'host:UNSET_ONE' } }],
      },
    }),
    { ...base, env: {} },
  );
  assert.deepEqual(p.unlistedTasks, ['x']);
  assert.equal(p.hasPrePostCmd, true);
  assert.deepEqual(
    p.missingHostVars.map((m) => m.name),
    ['UNSET_ONE', 'KEY'],
  );
  const text = formatDryRun(p, loaded());
  assert.match(
    text,
    /warning: environment variable UNSET_ONE is not set \(needed by evaluation\.tasks\[0\]\.env_vars\.T\)/,
  );
  assert.match(text, /Unlisted tasks found: x/);
  assert.match(text, /DRY RUN: Scripts prepared and saved to /);
  assert.match(text, /T <- host:UNSET_ONE/);
});

test('config errors: unknown task, ambiguous task, bad env value, missing output_dir', () => {
  const code = (c: string) => (e: unknown) => e instanceof NelError && e.code === c;
  assert.throws(
    () => buildInvocationPlan(loaded({ evaluation: { tasks: [{ name: 'zzz' }] } }), base),
    code('TASK_NOT_FOUND'),
  );
  assert.throws(
    () => buildInvocationPlan(loaded({ evaluation: { tasks: [{ name: 'mmlu' }] } }), base),
    code('TASK_AMBIGUOUS'),
  );
  assert.throws(
    () => buildInvocationPlan(loaded({ env_vars: { A: 'two words' } }), base),
    code('ENV_INVALID'),
  );
  assert.throws(() => buildInvocationPlan(loaded({}, { output_dir: '' }), base), code('CONFIG_INVALID'));
  assert.throws(
    () => buildInvocationPlan(loaded({}, { extra_docker_args: '--x "unclosed' }), base),
    /unclosed double quote/,
  );
});

test('writeInvocationPlan writes everything (scripts 0755) or reports an unwritable dir', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nel-plan-'));
  try {
    const p = buildInvocationPlan(loaded({}, { output_dir: join(dir, 'out') }), base);
    writeInvocationPlan(p);
    const run = join(p.jobs[0]!.taskDir, 'run.sh');
    assert.equal(statSync(run).mode & 0o777, 0o755);
    assert.ok(existsSync(join(p.jobs[0]!.taskDir, 'logs')));
    assert.ok(readFileSync(p.entryScripts[0]!, 'utf8').startsWith('#!/usr/bin/env bash\n'));
    assert.throws(
      () => writeInvocationPlan(p),
      (e: unknown) => e instanceof NelError && e.code === 'OUTPUT_DIR',
    );
    if (process.getuid?.() !== 0) {
      const ro = join(dir, 'ro');
      writeInvocationPlan(buildInvocationPlan(loaded({}, { output_dir: ro }), base));
      chmodSync(ro, 0o555);
      const p2 = buildInvocationPlan(loaded({}, { output_dir: ro }), base);
      assert.throws(
        () => writeInvocationPlan(p2),
        (e: unknown) =>
          e instanceof NelError &&
          e.code === 'OUTPUT_DIR' &&
          e.message.includes(ro) &&
          !e.message.includes('\n'),
      );
      assert.equal(readdirSync(ro).length, 1);
      chmodSync(ro, 0o755);
    }
    assert.throws(
      () =>
        writeInvocationPlan(
          buildInvocationPlan(loaded({}, { output_dir: join(p.entryScripts[0]!, 'x') }), base),
        ),
      (e: unknown) => e instanceof NelError && e.code === 'OUTPUT_DIR',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
