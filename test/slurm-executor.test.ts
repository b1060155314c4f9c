/**
 * `execution.type: slurm` behind the executor seam: registered once, selected by the packaged
 * `execution: slurm/default`. Dry runs stage the scripts; a Slurm config mistake is one line; a real
 * run or a job command whose login node cannot be reached fails in one line with nothing written (the
 * runs on a real cluster are in slurm-e2e, slurm-ssh, slurm-lifecycle and slurm-autoresume).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { executorNames, executorStatus, getExecutor } from '../src/executors/registry.js';
import { appendJobRecord, type JobRecord } from '../src/launcher/exec-db.js';
import { nel, scratch } from './support/cli.js';
import { repoRoot } from './support/paths.js';

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
  // a record without a Slurm job id was never submitted
  assert.deepEqual(status.readJobStatus(rec), { state: 'failed', progress: null, exitCode: null });
  assert.match(status.cause(rec, null).cause, /has no Slurm job id/);
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

test('a real run whose login node cannot be reached fails in one line, nothing left behind', () => {
  const s = scratch('nel-slurm-exec-');
  s.env.USER = 'alice';
  s.env.MY_KEY = 'k';
  const r = nel(
    ['run', '--config', writeConfig(s.dir), '--skip-preflight', '-o', 'execution.hostname=login.invalid'],
    { cwd: s.dir, env: s.env, timeoutMs: 45_000 },
  );
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.match(lines[0]!, /^error: cannot reach the login node alice@login\.invalid over ssh: /);
  assert.match(lines[1] ?? '', /^hint: check execution\.hostname and execution\.username/);
  assert.equal(lines.length, 2, r.stderr);
  assert.deepEqual(readdirSync(stagingOf(s.env.HOME!)), [], 'nothing left staged');
  assert.ok(!existsSync(s.dbPath), 'no exec DB record');
  assert.ok(!existsSync(join(s.env.HOME!, '.nemo-evaluator', 'run_configs')), 'no saved run config');
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

test('a Slurm job record whose login node cannot be reached: status unknown with the cause; kill and resume fail in one line', () => {
  const s = scratch('nel-slurm-exec-');
  appendJobRecord(s.dbPath, {
    invocation_id: 'feedc0de12345678',
    job_id: 'feedc0de12345678.0',
    timestamp: Date.now() / 1000,
    executor: 'slurm',
    data: {
      slurm_job_id: '42',
      slurm_job_ids: ['42'],
      remote_rundir_path: '/lustre/x/builtin.gsm8k.0',
      hostname: 'login.invalid',
      username: 'alice',
      submission: 'ssh',
    },
    config: {},
  });
  const st = nel(['status', 'feedc0de', '--json'], { cwd: s.dir, env: s.env, timeoutMs: 45_000 });
  assert.equal(st.code, 0, st.stderr);
  const entry = JSON.parse(st.stdout)[0];
  assert.equal(entry.status, 'unknown');
  assert.match(entry.cause, /^cannot reach the login node alice@login\.invalid over ssh: /);
  const table = nel(['status', 'feedc0de'], { cwd: s.dir, env: s.env, timeoutMs: 45_000 });
  assert.match(table.stdout, /\? UNKNOWN/);
  assert.match(table.stdout, /^\? feedc0de12345678\.0: cannot reach the login node/m);
  const k = nel(['kill', 'feedc0de12345678.0'], { cwd: s.dir, env: s.env, timeoutMs: 45_000 });
  assert.equal(k.code, 1);
  assert.match(
    k.stderr.trimEnd(),
    /^error: feedc0de12345678\.0: cannot reach the login node alice@login\.invalid over ssh: [^\n]*$/,
  );
  const r = nel(['resume', 'feedc0de'], { cwd: s.dir, env: s.env, timeoutMs: 45_000 });
  assert.equal(r.code, 1);
  const lines = r.stderr.trimEnd().split('\n');
  assert.match(
    lines[0]!,
    /^error: the state of job feedc0de12345678\.0 cannot be read: cannot reach the login node/,
  );
  assert.equal(lines.length, 2, r.stderr);
});

test('the status reader (loaded with nel status) imports no config, planning or launching code', () => {
  const dir = join(repoRoot(), 'src', 'executors', 'slurm');
  const allowed = new Set(['./host.js', './probe.js', '../../common/errors.js', '../../common/shell.js']);
  const seen: string[] = [];
  const queue = ['status.ts'];
  while (queue.length > 0) {
    const file = queue.shift()!;
    const text = readFileSync(join(dir, file), 'utf8');
    // value imports only: `import type` is erased by the compiler
    for (const m of text.matchAll(/^import (?!type )[^;]*? from '([^']+)';/gm)) {
      const spec = m[1]!;
      if (spec.startsWith('node:')) continue;
      seen.push(`${file}: ${spec}`);
      assert.ok(allowed.has(spec), `${file} imports ${spec}`);
      if (spec.startsWith('./')) queue.push(spec.slice(2).replace(/\.js$/, '.ts'));
    }
  }
  assert.ok(seen.length > 0);
});
