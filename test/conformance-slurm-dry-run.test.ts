/**
 * Every upstream Slurm example config (v0.2.8) dry-runs through the CLI against the upstream task
 * catalogue, with values for the `???` they leave to the user. Each task gets one run.sub, staged on
 * this machine in upstream's layout: valid bash, its #SBATCH header before the first command (sbatch
 * stops reading there), the right images, no secret value, nothing written on the cluster path and no
 * exec DB record.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conformanceRoot } from './support/conformance.js';
import { sharedPath } from './support/paths.js';
import { listFiles, nel, scratch } from './support/cli.js';

const DIR = 'v0.2.8-slurm';
const SECRET_NAMES = [
  'NGC_API_KEY',
  'HF_TOKEN',
  'HF_TOKEN_FOR_GPQA_DIAMOND',
  'JUDGE_API_KEY',
  'API_KEY',
  'MLFLOW_TRACKING_TOKEN',
];

/** The values every Slurm example leaves as `???`, then each file's own. */
const REQUIRED = [
  'execution.hostname=login.cluster.example',
  'execution.account=acct',
  'execution.output_dir=/lustre/nel/out',
];
const OVERRIDES: Record<string, string[]> = {
  'slurm_nvidia_nemotron_3_nano_30b_a3b_nvfp4.yaml': [
    'evaluation.tasks.ns_hle.nemo_evaluator_config.config.params.extra.judge.url=http://judge.example:9000/v1',
  ],
  'slurm_sglang_auto_export.yaml': ['export.mlflow.tracking_uri=http://mlflow.example:5000'],
  'slurm_vllm_checkpoint_path.yaml': ['deployment.checkpoint_path=/lustre/models/llama-3.1-8b'],
};
/** Examples this build cannot compose yet, with the reason (run, but reported as todo). */
const TODO: Record<string, string> = {};

const files = readdirSync(join(conformanceRoot(), DIR))
  .filter((f) => f.endsWith('.yaml'))
  .sort();

test('there are upstream Slurm examples to check', () => {
  assert.ok(files.length >= 12, files.join(', '));
});

/** The #SBATCH lines sbatch reads: those before the first line that is not a comment. */
function sbatchDirectives(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n').slice(1)) {
    if (line.trim() !== '' && !line.startsWith('#')) break;
    if (line.startsWith('#SBATCH')) out.push(line);
  }
  return out;
}

for (const file of files) {
  test(`dry-runs ${DIR}/${file}`, { todo: TODO[file] }, () => {
    const s = scratch('nel-slurm-conf-');
    for (const name of SECRET_NAMES) s.env[name] = `dummy-secret-${name}-zq9`;
    s.env.USER = 'alice';
    s.env.NEL_TASKS_FILE = sharedPath('data', 'upstream', 'all_tasks_irs.yaml');
    const args = ['run', '--config', join(conformanceRoot(), DIR, file), '--dry-run'];
    for (const o of [...REQUIRED, ...(OVERRIDES[file] ?? [])]) args.push('-o', o);
    const r = nel(args, { cwd: s.dir, env: s.env });
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stderr}`);
    assert.ok(!existsSync(s.dbPath), 'a dry run must not write the exec DB');
    assert.ok(!existsSync('/lustre/nel'), 'nothing is written at the cluster path');

    const staged = /DRY RUN: Scripts prepared and saved to (.+)/.exec(r.stdout)![1]!.trim();
    assert.ok(staged.startsWith(join(s.env.HOME!, '.nemo-evaluator', 'slurm-staging') + '/'), staged);
    const invName = staged.split('/').pop()!;
    assert.match(invName, /^\d{8}_\d{6}-[0-9a-f]{16}$/);
    const remoteInv = `/lustre/nel/out/${invName}`;
    assert.match(r.stdout, new RegExp(`On the cluster they belong in ${remoteInv}`));

    const written = listFiles(staged);
    const runSubs = written.filter((f) => f.endsWith('/run.sub'));
    const jobs = (r.stdout.match(/^ {2}[0-9a-f]{16}\.\d+ {2}/gm) ?? []).length;
    assert.ok(jobs > 0);
    assert.equal(runSubs.length, jobs, 'one run.sub per job');

    for (const rel of runSubs) {
      const taskDir = rel.slice(0, -'/run.sub'.length);
      const check = spawnSync('bash', ['-n', join(staged, rel)], { encoding: 'utf8' });
      assert.equal(check.status, 0, `bash -n ${rel}: ${check.stderr}`);
      const text = readFileSync(join(staged, rel), 'utf8');
      const directives = sbatchDirectives(text);
      const has = (re: RegExp) =>
        assert.ok(
          directives.some((d) => re.test(d)),
          `${rel}: no ${re} in\n${directives.join('\n')}`,
        );
      has(/^#SBATCH --job-name=acct-nemo-evaluator-launcher\./);
      has(/^#SBATCH --time=\d+:\d\d:\d\d$/);
      has(/^#SBATCH --account=acct$/);
      has(/^#SBATCH --partition=\S+$/);
      has(/^#SBATCH --nodes=\d+$/);
      has(/^#SBATCH --ntasks-per-node=1$/);
      has(/^#SBATCH --no-requeue$/);
      has(
        new RegExp(`^#SBATCH --output=${remoteInv}/${taskDir.replace(/[.]/g, '\\.')}/logs/slurm-%A\\.log$`),
      );
      has(/^#SBATCH --error=/);
      assert.match(text, new RegExp(`^task_dir=${remoteInv}/${taskDir.replace(/[.]/g, '\\.')}$`, 'm'));
      assert.match(
        text,
        /sbatch --parsable --dependency=afternotok:"\$SLURM_JOB_ID" "\$task_dir\/run\.sub" "\$SLURM_JOB_ID"/,
      );
      assert.match(
        text,
        /--container-image=(nvcr\.io\/nvidia\/eval-factory\/[a-z0-9_-]+:26\.03|nvcr\.io\/nim\/)/,
      );
      assert.ok(existsSync(join(staged, taskDir, 'logs')) && existsSync(join(staged, taskDir, 'artifacts')));
    }
    for (const f of written) {
      const text = readFileSync(join(staged, f), 'utf8');
      assert.ok(!text.includes('dummy-secret-'), `${f} contains a secret value`);
    }
    assert.ok(!r.stdout.includes('dummy-secret-'), 'the printout contains a secret value');

    const config = readFileSync(join(conformanceRoot(), DIR, file), 'utf8');
    const first = readFileSync(join(staged, runSubs[0]!), 'utf8');
    if (/deployment: (vllm|sglang|nim|vllm_ray)/.test(config)) {
      assert.match(first, /# --- model deployment/);
      assert.match(first, /--container-image=(vllm\/vllm-openai|lmsysorg\/sglang|nvcr\.io\/nim\/)/);
      assert.match(first, /nel_check_servers/);
    } else {
      assert.doesNotMatch(first, /# --- model deployment/);
    }
    const instances = /num_instances: (\d+)/.exec(config);
    if (instances && Number(instances[1]) > 1) {
      const cfg = readFileSync(join(staged, runSubs[0]!.replace(/run\.sub$/, 'proxy.cfg.template')), 'utf8');
      assert.equal(
        (cfg.match(/^ {4}server node\d+ \{IP_\d+\}:8000 check$/gm) ?? []).length,
        Number(instances[1]),
      );
      assert.match(first, /srun .*--container-image=haproxy:latest/s);
      assert.match(first, /url: http:\/\/127\.0\.0\.1:5009\//, 'the evaluation goes through the proxy');
    } else {
      assert.ok(!written.some((f) => f.endsWith('proxy.cfg.template')), 'no proxy for one instance');
    }
  });
}
