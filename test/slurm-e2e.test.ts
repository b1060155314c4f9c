/**
 * `execution.type: slurm` for real, submitted on this machine (execution.hostname is its own host
 * name): six builtin.gsm8k tasks on the project's three-node test cluster, answered by the reference
 * endpoint (half right, so each score is exactly 0.5), run by this repository's engine on the nodes
 * (container_runtime none). The jobs spread over several nodes, all succeed (`nel run --wait` prints
 * the scores), `nel status` agrees, the
 * API key's value reaches the engine through sbatch's environment but is in no file, and a task's
 * run.sub submitted again by hand reruns that task.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { listFiles, nelAsync, scratch } from './support/cli.js';
import { invocationIdOfDir, scoreOf, startEndpoint } from './support/e2e.js';
import {
  requireSlurm,
  run,
  statusEntries,
  waitForJob,
  waitForStatuses,
  writeSlurmConfig,
} from './support/slurm.js';

const LIMITS = [4, 6, 8, 4, 6, 8];

const records = (dbPath: string) =>
  readFileSync(dbPath, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { job_id: string; executor: string; data: Record<string, unknown> });

test('six tasks on the local cluster: spread over nodes, all SUCCESS, exact scores; a task rerun with sbatch run.sub', async (t) => {
  const cluster = await requireSlurm(t);
  if (!cluster) return;
  const s = scratch('nel-slurm-e2e-');
  const secret = `slurm-e2e-${randomBytes(12).toString('hex')}`;
  s.env = { ...s.env, ...cluster.env, NEL_SLURM_TEST_KEY: secret };
  const ep = await startEndpoint('gsm8k', { accuracy: 0.5 });
  try {
    const outputDir = join(s.dir, 'cluster-out');
    const cfg = writeSlurmConfig(join(s.dir, 'run.json'), {
      hostname: hostname(),
      outputDir,
      stagingDir: join(s.dir, 'staging'),
      tasks: LIMITS.map((limit) => ({ url: ep.url, limit })),
      apiKeyName: 'NEL_SLURM_TEST_KEY',
    });
    // --wait: nel run follows the jobs through `nel status` until they end, then prints the scores
    const r = await nelAsync(['run', '--config', cfg, '--wait'], {
      cwd: s.dir,
      env: s.env,
      timeoutMs: 150_000,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const m = /^Launched 6 job\(s\) on Slurm \(\S+ \(this machine\); Slurm jobs ([\d ]+)\): (\S+)$/m.exec(
      r.stdout,
    );
    assert.ok(m, r.stdout);
    const slurmIds = m[1]!.split(' ');
    assert.equal(slurmIds.length, 6);
    const invocationDir = m[2]!;
    assert.ok(invocationDir.startsWith(outputDir + '/'), invocationDir);
    const inv = invocationIdOfDir(invocationDir);

    // the exec DB: one record per job, upstream's keys, nothing else written before submission succeeded
    const recs = records(s.dbPath);
    assert.equal(recs.length, 6);
    recs.forEach((rec, i) => {
      assert.equal(rec.executor, 'slurm');
      assert.equal(rec.job_id, `${inv}.${i}`);
      assert.equal(rec.data.slurm_job_id, slurmIds[i]);
      assert.deepEqual(rec.data.slurm_job_ids, [slurmIds[i]]);
      assert.equal(rec.data.remote_rundir_path, join(invocationDir, `builtin.gsm8k.${i}`));
      assert.equal(rec.data.hostname, hostname());
      assert.equal(typeof rec.data.username, 'string');
      assert.equal(typeof rec.data.eval_image, 'string');
      assert.equal(rec.data.submission, 'local');
      assert.deepEqual(rec.data.env_var_names, ['NEL_SLURM_TEST_KEY']);
    });

    for (let i = 0; i < 6; i++)
      assert.match(r.stdout, new RegExp(`^${inv}\\.${i} builtin\\.gsm8k: gsm8k_exact_match=0\\.5000`, 'm'));
    const final = await waitForStatuses(
      [inv],
      { cwd: s.dir, env: s.env },
      (st) => {
        const bad = st.find((e) => e.status === 'failed' || e.status === 'killed');
        if (bad) throw new Error(`${bad.job_id} ${bad.status}: ${bad.cause ?? ''}`);
        return st.length === 6 && st.every((e) => e.status === 'success');
      },
      10_000,
      'all six jobs to succeed',
    );
    final.forEach((e, i) => {
      assert.deepEqual(e.progress, { progress: LIMITS[i], total: LIMITS[i], percent: 100 });
    });

    // exact scores, and which node ran each job (the job log names its primary node)
    const nodes = new Set<string>();
    recs.forEach((rec, i) => {
      const dir = rec.data.remote_rundir_path as string;
      assert.equal(scoreOf(dir, 'gsm8k'), 0.5, `job ${i}`);
      const log = readFileSync(join(dir, 'logs', `slurm-${slurmIds[i]}.log`), 'utf8');
      const node = /^PRIMARY_NODE: (\S+)$/m.exec(log)?.[1];
      assert.ok(node && cluster.nodes.includes(node), log);
      nodes.add(node);
      assert.match(readFileSync(join(dir, 'logs', 'stage.exit'), 'utf8'), / 0\n$/);
    });
    t.diagnostic(`nodes used: ${[...nodes].sort().join(', ')}`);
    assert.ok(nodes.size >= 2, `the six jobs ran on ${[...nodes].join(', ')} only`);

    // the table says the same
    const table = await nelAsync(['status', inv], { cwd: s.dir, env: s.env });
    assert.equal(table.code, 0, table.stderr);
    const rows = table.stdout.split('\n').filter((l) => l.startsWith(inv));
    assert.equal(rows.length, 6, table.stdout);
    for (const row of rows) assert.match(row, /✓ SUCCESS/);

    // the key's value reached the engine (the endpoint saw it) and is in no file: DB, staging, cluster dir
    const hash = createHash('sha256').update(secret).digest('hex');
    assert.ok(ep.stats().auth_seen.includes(hash), 'the endpoint saw the API key');
    for (const f of listFiles(s.dir)) {
      const text = readFileSync(join(s.dir, f));
      assert.ok(!text.includes(secret), `the secret value is in ${f}`);
    }

    // a task's run.sub submitted again by hand (the key exported where sbatch runs) reruns it
    const dir0 = recs[0]!.data.remote_rundir_path as string;
    const before = statSync(join(dir0, 'artifacts', 'results.yml')).mtimeMs;
    const sb = await run('sbatch', ['--parsable', 'run.sub'], { cwd: dir0, env: s.env });
    assert.equal(sb.code, 0, sb.stderr);
    const manual = sb.stdout.trim().split(';')[0]!;
    const info = await waitForJob(cluster, manual, 90_000);
    assert.equal(info.JobState, 'COMPLETED', JSON.stringify(info));
    assert.ok(statSync(join(dir0, 'artifacts', 'results.yml')).mtimeMs > before, 'results.yml written again');
    assert.equal(scoreOf(dir0, 'gsm8k'), 0.5);
    const list = readFileSync(join(dir0, '.slurm_job_id.list'), 'utf8').trim().split('\n');
    assert.deepEqual(list, [slurmIds[0], manual]);
    const after = (await statusEntries([`${inv}.0`], { cwd: s.dir, env: s.env }))[0]!;
    assert.equal(after.status, 'success');
  } finally {
    await ep.close();
  }
});
