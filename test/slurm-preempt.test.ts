/**
 * Automatic resumption after preemption, on a PRIVATE one-node cluster configured for it
 * (NEL_SLURM_PREEMPT=1: PreemptType=preempt/partition_prio, PreemptMode=CANCEL, a partition `high` of a
 * higher tier over the same node; ports 17940-17941). A task runs in `batch`; a job of `high` that needs
 * the whole node cancels it (PREEMPTED); the task's successor waits for the node, starts when the high
 * job ends, continues from the engine's cache and finishes, with no request answered twice. `nel status`
 * follows the chain. The private cluster is stopped at the end, also on failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { nelAsync, scratch } from './support/cli.js';
import { invocationIdOfDir, scoreOf, startEndpoint } from './support/e2e.js';
import type { StatusEntry } from '../src/executors/types.js';
import {
  clusterScript,
  jobInfo,
  requireSlurm,
  run,
  startPrivateCluster,
  stopPrivateCluster,
  waitForStatuses,
  writeSlurmConfig,
  type SlurmCluster,
} from './support/slurm.js';

const PORT_BASE = 17940;

const lines = (file: string): string[] => {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

test('PREEMPTED by a higher-tier partition: the successor resumes the task from the cache and finishes', async (t) => {
  // the shared cluster's packages and checks; the test itself runs on its own cluster
  if (!(await requireSlurm(t))) return;
  const dir = mkdtempSync(join(tmpdir(), 'nel-slurm-preempt-'));
  chmodSync(dir, 0o755); // munged wants every directory above its socket searchable by all
  let cluster: SlurmCluster | undefined;
  const s = scratch('nel-slurm-preempt-run-');
  const ep = await startEndpoint('gsm8k', { accuracy: 0.5, latencyMs: 300 });
  try {
    cluster = await startPrivateCluster({ dir, portBase: PORT_BASE, nodes: 1, preempt: true });
    s.env = { ...s.env, ...cluster.env };
    const cfg = writeSlurmConfig(join(s.dir, 'run.json'), {
      hostname: hostname(),
      outputDir: join(s.dir, 'cluster-out'),
      stagingDir: join(s.dir, 'staging'),
      partition: 'batch',
      tasks: [{ url: ep.url, limit: 60, parallelism: 1 }],
    });
    const r = await nelAsync(['run', '--config', cfg], { cwd: s.dir, env: s.env, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const invDir = /^Launched 1 job\(s\) on Slurm .*: (\S+)$/m.exec(r.stdout)?.[1];
    assert.ok(invDir, r.stdout);
    const inv = invocationIdOfDir(invDir);
    const taskDir = join(invDir, 'builtin.gsm8k.0');

    const seen: string[] = [];
    const note = (st: StatusEntry[]) => {
      const e = st[0]!;
      const step = `${e.status}@${String(e.data.current_slurm_job_id ?? '-')}`;
      if (seen[seen.length - 1] !== step) seen.push(step);
      if (e.status === 'failed' || e.status === 'killed')
        throw new Error(`${e.status}: ${JSON.stringify(e)}`);
      return e;
    };
    // running, some requests answered, and the successor submitted
    await waitForStatuses(
      [inv],
      { cwd: s.dir, env: s.env },
      (st) => {
        const e = note(st);
        const p = e.progress as { progress: number | null } | 'unknown';
        return (
          e.status === 'running' &&
          typeof p === 'object' &&
          (p.progress ?? 0) >= 5 &&
          lines(join(taskDir, '.slurm_next_job_id')).length > 0
        );
      },
      60_000,
      'the task to run',
    );
    const first = lines(join(taskDir, '.slurm_job_id.list'))[0]!;

    // a job of the high partition that needs the whole node: the task's job is cancelled (PREEMPTED)
    const hi = await run(
      'sbatch',
      [
        '--parsable',
        '-p',
        'high',
        '--exclusive',
        '-N1',
        '-o',
        join(s.dir, 'high-%j.out'),
        '--wrap',
        'sleep 6',
      ],
      { env: cluster.env },
    );
    assert.equal(hi.code, 0, hi.stderr);
    const hiId = hi.stdout.trim().split(';')[0]!;

    const final = await waitForStatuses(
      [inv],
      { cwd: s.dir, env: s.env },
      (st) => note(st).status === 'success',
      150_000,
      'the successor to finish the task',
    );
    t.diagnostic(`the task went through: ${seen.join(' -> ')}`);
    const firstInfo = await jobInfo(cluster, first);
    assert.equal(firstInfo.JobState, 'PREEMPTED', JSON.stringify(firstInfo));
    const hiInfo = await jobInfo(cluster, hiId);
    assert.equal(hiInfo.JobState, 'COMPLETED', JSON.stringify(hiInfo));
    const chain = lines(join(taskDir, '.slurm_job_id.list'));
    assert.equal(chain.length, 2, `jobs of the task: ${chain.join(' ')}`);
    const second = chain[1]!;
    assert.match(
      readFileSync(join(taskDir, 'logs', `slurm-${second}.log`), 'utf8'),
      new RegExp(`The previous Slurm job ${first} ended with PREEMPTED: resuming\\.`),
    );
    assert.ok(seen.includes(`running@${first}`), seen.join(' '));
    assert.ok(
      seen.some((x) => x.endsWith(`@${second}`)),
      seen.join(' '),
    );
    assert.deepEqual(final[0]!.progress, { progress: 60, total: 60, percent: 100 });
    assert.equal(scoreOf(taskDir, 'gsm8k'), 0.5);
    const stats = ep.stats();
    assert.equal(stats.distinct_bodies, 60);
    assert.equal(stats.max_body_repeats_ok, 1, 'a request was answered twice');
  } finally {
    await ep.close();
    if (cluster) await stopPrivateCluster(cluster);
    else await clusterScript(['down'], { dir, portBase: PORT_BASE }, 120_000);
    rmSync(dir, { recursive: true, force: true });
    rmSync(s.dir, { recursive: true, force: true });
  }
});
