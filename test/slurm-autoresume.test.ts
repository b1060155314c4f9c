/**
 * Automatic resumption on the project's test cluster, with a walltime of one minute: a task that needs
 * longer is stopped by Slurm (TIMEOUT), its successor job (submitted by the first at its start) starts,
 * continues from the engine's cache and finishes, with no request answered twice; `nel status` follows
 * the chain to the successor and `nel logs` follows the engine's log of each job. With `max_walltime` equal to the walltime, the successor refuses to go
 * on and the task ends FAILED with the reason. Both invocations run at the same time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nelAsync, scratch } from './support/cli.js';
import { invocationIdOfDir, scoreOf, startEndpoint } from './support/e2e.js';
import type { StatusEntry } from '../src/executors/types.js';
import { requireSlurm, statusEntries, waitForStatuses, writeSlurmConfig } from './support/slurm.js';

const lines = (file: string): string[] => {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

test('walltime 1 min: TIMEOUT, the successor finishes with no request repeated; max_walltime stops the chain', async (t) => {
  const cluster = await requireSlurm(t);
  if (!cluster) return;
  const s = scratch('nel-slurm-resume-');
  s.env = { ...s.env, ...cluster.env };
  // A needs about 100 s of requests; Slurm enforces the 60 s limit within about 30 s of it
  const epA = await startEndpoint('gsm8k', { accuracy: 0.5, latencyMs: 500 });
  const epB = await startEndpoint('gsm8k', { accuracy: 0.5, latencyMs: 500 });
  try {
    const launch = async (name: string, url: string, limit: number, maxWalltime?: string) => {
      const cfg = writeSlurmConfig(join(s.dir, `${name}.json`), {
        hostname: 'localhost',
        outputDir: join(s.dir, `cluster-${name}`),
        stagingDir: join(s.dir, 'staging'),
        walltime: '00:01:00',
        ...(maxWalltime ? { maxWalltime } : {}),
        tasks: [{ url, limit, parallelism: 1 }],
      });
      const r = await nelAsync(['run', '--config', cfg], { cwd: s.dir, env: s.env, timeoutMs: 60_000 });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const dir = /^Launched 1 job\(s\) on Slurm .*: (\S+)$/m.exec(r.stdout)?.[1];
      assert.ok(dir, r.stdout);
      return { inv: invocationIdOfDir(dir), taskDir: join(dir, 'builtin.gsm8k.0') };
    };
    const a = await launch('a', epA.url, 200);
    const b = await launch('b', epB.url, 400, '00:01:00');

    // nel logs follows A's engine logs across the chain (client-<job>.log of each job) and ends with A
    const logsA = nelAsync(['logs', a.inv], { cwd: s.dir, env: s.env, timeoutMs: 200_000 });
    // A: watch the chain while it runs
    const seen: string[] = [];
    const finalA = await waitForStatuses(
      [a.inv],
      { cwd: s.dir, env: s.env },
      (st) => {
        const e = st[0]!;
        const step = `${e.status}@${String(e.data.current_slurm_job_id ?? '-')}`;
        if (seen[seen.length - 1] !== step) seen.push(step);
        if (e.status === 'failed' || e.status === 'killed')
          throw new Error(`A ${e.status}: ${e.cause ?? ''}`);
        return e.status === 'success';
      },
      170_000,
      'A to finish after its successor resumed it',
    );
    t.diagnostic(`A went through: ${seen.join(' -> ')}`);
    const chain = lines(join(a.taskDir, '.slurm_job_id.list'));
    assert.equal(chain.length, 2, `A's jobs: ${chain}`);
    const [first, second] = chain as [string, string];
    assert.match(readFileSync(join(a.taskDir, 'logs', `slurm-${first}.log`), 'utf8'), /DUE TO TIME LIMIT/);
    assert.match(
      readFileSync(join(a.taskDir, 'logs', `slurm-${second}.log`), 'utf8'),
      new RegExp(`The previous Slurm job ${first} ended with TIMEOUT: resuming\\.`),
    );
    // the status followed the chain from the first job to its successor
    assert.ok(seen.includes(`running@${first}`), seen.join(' '));
    assert.ok(
      seen.some((x) => x.endsWith(`@${second}`)),
      seen.join(' '),
    );
    assert.deepEqual(finalA[0]!.progress, { progress: 200, total: 200, percent: 100 });
    const logs = await logsA;
    assert.equal(logs.code, 0, logs.stderr);
    const prefix = `${a.inv.slice(0, 6)}.0: `;
    const logLines = logs.stdout.split('\n').filter(Boolean);
    assert.ok(
      logLines.every((l) => l.startsWith(prefix)),
      logs.stdout.slice(0, 400),
    );
    const interrupted = logLines.findIndex((l) => /evaluation interrupted by SIGTERM/.test(l));
    const finished = logLines.findIndex((l) => /evaluation finished/.test(l));
    assert.ok(interrupted >= 0 && finished > interrupted, logs.stdout.slice(-1500));
    assert.equal(scoreOf(a.taskDir, 'gsm8k'), 0.5);
    const statsA = epA.stats();
    assert.equal(statsA.distinct_bodies, 200);
    assert.equal(statsA.max_body_repeats_ok, 1, 'a request was answered twice');

    // B: the successor finds max_walltime used up and stops the chain
    const finalB: StatusEntry = (
      await waitForStatuses(
        [b.inv],
        { cwd: s.dir, env: s.env },
        (st) => st[0]!.status === 'failed' || st[0]!.status === 'success' || st[0]!.status === 'killed',
        60_000,
        'B to stop',
      )
    )[0]!;
    assert.equal(finalB.status, 'failed');
    assert.match(
      finalB.cause ?? '',
      /^max_walltime 00:01:00 reached \(\d+s used by this task's jobs\); not resuming again$/,
    );
    const progressB = (finalB.progress as { progress: number }).progress;
    assert.ok(progressB > 0 && progressB < 400, `B answered ${progressB}`);
    assert.equal(lines(join(b.taskDir, '.slurm_job_id.list')).length, 1, 'no second job of B ran the task');
    const table = await nelAsync(['status', b.inv], { cwd: s.dir, env: s.env });
    assert.match(table.stdout, /✗ FAILED/);
    assert.match(table.stdout, new RegExp(`^✗ ${b.inv}\\.0: max_walltime 00:01:00 reached`, 'm'));
    // nothing of either is left in the queue
    const after = await statusEntries([a.inv, b.inv], { cwd: s.dir, env: s.env });
    assert.deepEqual(
      after.map((e) => e.status),
      ['success', 'failed'],
    );
  } finally {
    await epA.close();
    await epB.close();
  }
});
