/**
 * `execution.type: slurm` behind the executor seam: registered once, selected by the packaged
 * `execution: slurm/default`, dry runs only. A real run, and every command that needs a cluster, is
 * refused in one line with nothing written; a Slurm config mistake is one line too; the status of a
 * Slurm record reads `unknown`, never a guess.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { executorNames, executorStatus, getExecutor } from '../src/executors/registry.js';
import { appendJobRecord, type JobRecord } from '../src/launcher/exec-db.js';
import { nel, scratch } from './support/cli.js';

function writeConfig(dir: string, execution: Record<string, unknown> = {}): string {
  const file = join(dir, 'cfg.yaml');
  const config = {
    defaults: [{ execution: 'slurm/default' }, { deployment: 'none' }, '_self_'],
    execution: {
      hostname: 'login.example',
      account: 'acct',
      output_dir: '/lustre/nel-test/out',
      ...execution,
    },
    target: {
      api_endpoint: {
        model_id: 'm',
        url: 'http://10.0.0.9:8000/v1/chat/completions',
        api_key_name: 'MY_KEY',
      },
    },
    evaluation: { tasks: [{ name: 'builtin.gsm8k' }, { name: 'builtin.gsm8k' }] },
  };
  writeFileSync(file, JSON.stringify(config, null, 2) + '\n');
  return file;
}

const stagingOf = (home: string): string => join(home, '.nemo-evaluator', 'slurm-staging');

test('the registry has slurm beside local, with its status reader', async () => {
  assert.deepEqual(executorNames(), ['local', 'slurm']);
  const slurm = await getExecutor('slurm');
  assert.equal(slurm.name, 'slurm');
  for (const m of ['plan', 'formatDryRun', 'checkRuntime', 'launch', 'kill', 'resume', 'streamLogs', 'info'])
    assert.equal(typeof (slurm as unknown as Record<string, unknown>)[m], 'function', m);
  const status = executorStatus('slurm')!;
  const rec = {
    invocation_id: 'a'.repeat(16),
    job_id: `${'a'.repeat(16)}.0`,
    executor: 'slurm',
    data: {},
  } as unknown as JobRecord;
  assert.deepEqual(status.readJobStatus(rec), { state: 'unknown', progress: null, exitCode: null });
  assert.match(status.cause(rec, null).cause, /not read by this build/);
});

test('nel run --dry-run with execution: slurm/default stages one run.sub per task', () => {
  const s = scratch('nel-slurm-exec-');
  s.env.USER = 'alice';
  s.env.MY_KEY = 'dummy-secret-key';
  const r = nel(['run', '--config', writeConfig(s.dir), '--dry-run'], { cwd: s.dir, env: s.env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Cluster: {4}alice@login\.example$/m);
  assert.match(r.stdout, /^Runs with: {2}container_runtime pyxis$/m);
  const inv = readdirSync(stagingOf(s.env.HOME!));
  assert.equal(inv.length, 1);
  assert.deepEqual(readdirSync(join(stagingOf(s.env.HOME!), inv[0]!)).sort(), [
    'builtin.gsm8k.0',
    'builtin.gsm8k.1',
  ]);
  assert.ok(existsSync(join(stagingOf(s.env.HOME!), inv[0]!, 'builtin.gsm8k.1', 'run.sub')));
  assert.match(r.stdout, new RegExp(`On the cluster they belong in /lustre/nel-test/out/${inv[0]}`));
  assert.ok(!r.stdout.includes('dummy-secret-key'));
  assert.ok(!existsSync(s.dbPath));
});

test('--no-docker runs the engine on the node (container_runtime none)', () => {
  const s = scratch('nel-slurm-exec-');
  s.env.USER = 'alice';
  const r = nel(['run', '--config', writeConfig(s.dir), '--dry-run', '--no-docker'], {
    cwd: s.dir,
    env: s.env,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Runs with: {2}container_runtime none$/m);
  assert.match(
    r.stdout,
    /node \S+\/dist\/src\/bin\/nemo-evaluator\.js run_eval --run_config "\$1\/config_ef\.yaml"/,
  );
  assert.doesNotMatch(r.stdout, /--container-image/);
});

test('a real run is refused in one line before anything is written', () => {
  const s = scratch('nel-slurm-exec-');
  s.env.USER = 'alice';
  s.env.MY_KEY = 'k';
  const r = nel(['run', '--config', writeConfig(s.dir)], { cwd: s.dir, env: s.env });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(
    lines[0],
    'error: execution.type slurm cannot submit jobs from this build yet: it prepares the sbatch scripts only',
  );
  assert.match(lines[1] ?? '', /^hint: run with --dry-run to write each task's run\.sub/);
  assert.equal(lines.length, 2, r.stderr);
  assert.ok(!existsSync(stagingOf(s.env.HOME!)), 'nothing staged');
  assert.ok(!existsSync(s.dbPath), 'no exec DB record');
  assert.ok(!existsSync(join(s.env.HOME!, '.nemo-evaluator', 'run_configs')), 'no saved run config');
  assert.ok(!existsSync('/lustre/nel-test'));
});

test('a Slurm setting mistake is one line with a hint, nothing written', () => {
  const s = scratch('nel-slurm-exec-');
  s.env.USER = 'alice';
  for (const [over, message] of [
    [{ walltime: '2h' }, "error: execution.walltime must be HH:MM:SS or D-HH:MM:SS, got '2h'"],
    [
      { output_dir: 'relative/out' },
      "error: execution.output_dir must be an absolute path on the cluster, got 'relative/out'",
    ],
    [{ num_nodes: 0 }, 'error: execution.num_nodes must be a positive whole number, got 0'],
    [
      { sbatch_extra_flags: { constraint: ['a'] } },
      'error: execution.sbatch_extra_flags.constraint must be a string, number, true, false or null, got ["a"]',
    ],
  ] as const) {
    const r = nel(['run', '--config', writeConfig(s.dir, over), '--dry-run'], { cwd: s.dir, env: s.env });
    assert.equal(r.code, 1, JSON.stringify(over));
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines[0], message);
    assert.match(lines[1] ?? '', /^hint: /);
    assert.equal(lines.length, 2, r.stderr);
    assert.ok(!existsSync(stagingOf(s.env.HOME!)));
  }
  const r = nel(['run', '--config', writeConfig(s.dir), '--dry-run', '-o', 'execution.hostname=???'], {
    cwd: s.dir,
    env: s.env,
  });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: missing value for execution\.hostname /);
});

test('a Slurm job record: status unknown; kill, resume, logs and info refused in one line each', () => {
  const s = scratch('nel-slurm-exec-');
  appendJobRecord(s.dbPath, {
    invocation_id: 'feedc0de12345678',
    job_id: 'feedc0de12345678.0',
    timestamp: Date.now() / 1000,
    executor: 'slurm',
    data: { slurm_job_id: '42', remote_rundir_path: '/lustre/x', hostname: 'login.example' },
    config: {},
  });
  const st = nel(['status', 'feedc0de', '--json'], { cwd: s.dir, env: s.env });
  assert.equal(st.code, 0, st.stderr);
  assert.equal(JSON.parse(st.stdout)[0].status, 'unknown');
  for (const [args, what, hint] of [
    [['kill', 'feedc0de12345678.0'], 'kill jobs', /^hint: cancel it on the cluster with scancel/],
    [['resume', 'feedc0de'], 'resume jobs', /^hint: submit <task>\/run\.sub again with sbatch/],
    [['logs', 'feedc0de'], 'stream logs', /^hint: read <task>\/logs\/ on the cluster/],
    [['info', 'feedc0de'], 'describe jobs', /^hint: read <task>\/logs\/ on the cluster/],
  ] as const) {
    const r = nel([...args], { cwd: s.dir, env: s.env, timeoutMs: 20_000 });
    assert.equal(r.code, 1, args.join(' '));
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(
      lines[0],
      `error: execution.type slurm cannot ${what} from this build yet: it prepares the sbatch scripts only`,
    );
    assert.match(lines[1] ?? '', hint);
    assert.equal(lines.length, 2, r.stderr);
  }
});
