/**
 * Generated scripts with hostile values, run by bash with a recording `docker` stand-in on PATH:
 * every value must arrive byte-for-byte, no injected command may run, and no secret value may be
 * written to any file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseYaml } from '../src/common/yaml.js';
import { buildInvocationPlan } from '../src/executors/local/plan.js';
import { writeInvocationPlan } from '../src/launcher/plan.js';
import { createDockerStandin, type DockerCall } from './support/docker-standin.js';
import { launcherConfig } from '../src/config/index.js';
import type { LauncherConfig } from '../src/config/schema.js';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

function decodeConfig(call: DockerCall): Record<string, any> {
  const cmd = call.argv[call.argv.length - 1]!;
  const m = /echo "([A-Za-z0-9+/=]*)" \| base64 -d > config_ef\.yaml/.exec(cmd);
  assert.ok(m, 'config_ef.yaml payload in the bash -c argument');
  return parseYaml(Buffer.from(m[1]!, 'base64').toString('utf8')) as Record<string, any>;
}

test('hostile values reach docker byte-for-byte and nothing is injected', () => {
  const root = mkdtempSync(join(tmpdir(), 'nel-hostile-'));
  try {
    const marker = join(root, 'PWNED_x');
    const evil = (tag: string) =>
      `${tag} it's "q" $(touch ${marker}) \`touch ${marker}\` ; touch ${marker} ünï 🙂\nline2 -x --rm`;
    const secret = `s3cr3t'"$(touch ${marker})\`id\`\nend`;
    const modelId = `-m ${evil('model')}`;
    const taskName = evil('task').replace(/\./g, '');
    const outputDir = join(root, `out dir '$(touch ${marker})' "q"\nx`);
    const datasetDir = join(root, `data $(touch ${marker}) 'd'`);
    const mountHost = join(root, `mnt \`touch ${marker}\``);
    mkdirSync(datasetDir, { recursive: true });
    const resolved = {
      execution: {
        type: 'local',
        output_dir: outputDir,
        mode: 'sequential',
        use_docker: true,
        max_parallel_tasks: null,
        extra_docker_args: `--label "x=$(touch ${marker})" --env 'Y=\`touch ${marker}\`' -e Z=a\\ b`,
        mounts: { evaluation: { [mountHost]: '/mnt/x y' } },
      },
      deployment: { type: 'none' },
      target: {
        api_endpoint: {
          url: 'http://127.0.0.1:1/v1/chat/completions',
          model_id: modelId,
          api_key_name: 'NEL_T_KEY',
        },
      },
      env_vars: { SWAP_A: 'host:NEL_T_B', SWAP_B: 'host:NEL_T_A' },
      evaluation: {
        tasks: [
          {
            name: taskName,
            container: 'example.com/eval:1',
            dataset_dir: datasetDir,
            env_vars: { SECRET_IN: 'host:NEL_T_SECRET', LIT_IN: `lit:${evil('lit')}` },
            nemo_evaluator_config: { config: { params: { extra: { note: evil('param') } } } },
          },
          { name: 'gpqa_diamond', env_vars: { NEEDS: 'host:NEL_T_UNSET_AT_RUN' } },
        ],
      },
    };
    const loaded = {
      raw: resolved,
      resolved: launcherConfig({ resolved: resolved as unknown as LauncherConfig, sourcePath: null }),
      sourcePath: null,
      sourceText: `# user yaml ${evil('raw')}\n`,
      warnings: [],
    };
    const plan = buildInvocationPlan(loaded, {
      dryRun: true,
      env: {},
      launcherCommand: `nel run -o ${evil('cmd')}`,
      toolPaths: { nelJs: '/nonexistent/nel.js', engineJs: '/nonexistent/ne.js' },
    });
    writeInvocationPlan(plan);
    const docker = createDockerStandin(join(root, 'standin'));
    const res = spawnSync('bash', [plan.entryScripts[0]!], {
      cwd: plan.invocationDir,
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        PATH: docker.path(),
        HOME: root,
        NEL_T_SECRET: secret,
        NEL_T_A: 'value-of-A',
        NEL_T_B: 'value-of-B',
        NEL_T_KEY: 'key-value',
      },
    });
    assert.equal(res.status, 1, 'the last task (unset variable) failed');
    assert.equal(existsSync(marker), false, 'no injected command ran');

    const calls = docker.calls();
    const runs = calls.filter((c) => c.argv[0] === 'run');
    assert.equal(runs.length, 1, 'the task with an unset variable did not start a container');
    const run = runs[0]!;
    const job0 = plan.jobs[0]!;
    const argv = run.argv;
    const after = (flag: string) => argv.flatMap((a, i) => (a === flag ? [argv[i + 1]!] : []));
    assert.ok(after('--label').includes(`x=$(touch ${marker})`));
    assert.ok(after('--label').includes(`nel.job=${job0.jobId}`));
    assert.ok(after('--label').includes('nel.role=client'));
    assert.ok(after('--env').includes(`Y=\`touch ${marker}\``));
    assert.ok(after('-e').includes('Z=a b'));
    assert.ok(argv.includes('--init'));
    assert.deepEqual(after('--volume'), [
      `${job0.taskDir}/artifacts:/results`,
      `${datasetDir}:/datasets`,
      `${mountHost}:/mnt/x y`,
    ]);
    assert.ok(after('-e').includes('NEMO_EVALUATOR_DATASET_DIR=/datasets'));
    assert.equal(argv[argv.length - 4], 'example.com/eval:1');
    assert.deepEqual(argv.slice(-3, -1), ['bash', '-c']);
    const name = after('--name')[0]!;
    assert.ok(name.startsWith(job0.containerName + '-'), 'client name = base name + run suffix');
    assert.deepEqual(
      calls.filter((c) => c.argv[0] !== 'run').map((c) => c.argv),
      [
        ['cp', `${name}:/results/.`, `${job0.taskDir}/artifacts/`],
        ['rm', '-f', name],
      ],
    );

    const cfg = decodeConfig(run);
    assert.equal(cfg.target.api_endpoint.model_id, modelId);
    assert.equal(cfg.config.type, taskName);
    assert.equal(cfg.config.params.extra.note, evil('param'));
    assert.equal(cfg.metadata.launcher_command, `nel run -o ${evil('cmd')}`);
    const rawMatch =
      /echo "([A-Za-z0-9+/=]*)" \| base64 -d > \/results\/launcher_unresolved_config\.yaml/.exec(
        argv[argv.length - 1]!,
      );
    assert.equal(Buffer.from(rawMatch![1]!, 'base64').toString('utf8'), loaded.sourceText);

    assert.deepEqual(run.env, {
      NEL_INVOCATION_ID: plan.invocationId,
      SWAP_A: 'value-of-B',
      SWAP_B: 'value-of-A',
      SECRET_IN: secret,
      LIT_IN: evil('lit'),
      NEL_T_KEY: 'key-value',
    });

    const exit0 = readFileSync(join(job0.taskDir, 'logs', 'stage.exit'), 'utf8');
    assert.match(exit0, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ 0\n$/);
    const job1 = plan.jobs[1]!;
    assert.match(readFileSync(join(job1.taskDir, 'logs', 'stage.exit'), 'utf8'), / 1\n$/);
    const message =
      'error: environment variable NEL_T_UNSET_AT_RUN is not set (needed by evaluation.tasks[1].env_vars.NEEDS)';
    assert.ok(readFileSync(join(job1.taskDir, 'logs', 'stdout.log'), 'utf8').includes(message + '\n'));
    assert.ok(res.stderr.includes(message + '\n'));

    for (const f of filesUnder(plan.invocationDir)) {
      const text = readFileSync(f, 'utf8');
      assert.ok(
        !text.includes(secret) && !text.includes('key-value') && !text.includes('value-of-A'),
        `no secret value in ${f}`,
      );
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a single run.sh rerun by hand forgets only its own kill; --scheduled honours it', () => {
  const root = mkdtempSync(join(tmpdir(), 'nel-killed-'));
  try {
    const resolved = {
      execution: {
        type: 'local',
        output_dir: join(root, 'out'),
        mode: 'sequential',
        use_docker: true,
        extra_docker_args: '',
      },
      deployment: { type: 'none' },
      target: { api_endpoint: { url: 'http://127.0.0.1:1/v1', model_id: 'm', api_key_name: null } },
      evaluation: { tasks: [{ name: 'ifeval' }, { name: 'mbpp' }] },
    };
    const plan = buildInvocationPlan(
      {
        raw: resolved,
        resolved: launcherConfig({ resolved: resolved as LauncherConfig, sourcePath: null }),
        sourcePath: null,
        sourceText: null,
        warnings: [],
      },
      { dryRun: true, env: {}, launcherCommand: 'nel run', toolPaths: { nelJs: '/n', engineJs: '/e' } },
    );
    writeInvocationPlan(plan);
    const docker = createDockerStandin(join(root, 'standin'));
    const killed = join(plan.invocationDir, 'killed_jobs.txt');
    const [j0, j1] = plan.jobs as [(typeof plan.jobs)[0], (typeof plan.jobs)[0]];
    const runTask = (args: string[]) =>
      spawnSync('bash', [join(j0.taskDir, 'run.sh'), ...args], {
        cwd: j0.taskDir,
        encoding: 'utf8',
        timeout: 30_000,
        env: { PATH: docker.path() },
      });
    writeFileSync(killed, `${j0.jobId}\n${j1.jobId}\n`);
    assert.equal(runTask(['--scheduled']).status, 0);
    assert.equal(docker.calls().length, 0, 'scheduled start of a killed job is skipped');
    assert.match(
      readFileSync(join(j0.taskDir, 'logs', 'stdout.log'), 'utf8'),
      /was killed, skipping execution/,
    );
    assert.equal(runTask([]).status, 0);
    assert.equal(docker.calls().filter((c) => c.argv[0] === 'run').length, 1, 'a rerun by hand runs the job');
    assert.equal(readFileSync(killed, 'utf8'), `${j1.jobId}\n`, "the other job's kill is kept");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
