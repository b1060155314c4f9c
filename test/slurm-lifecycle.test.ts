/**
 * The life of a Slurm invocation on the project's test cluster: `nel kill` mid-run cancels every job
 * of each task's chain (the running job and the successor waiting to resume it) so that, within 15 s,
 * Slurm lists none of them and no engine process is left on the nodes; the jobs read KILLED; `nel
 * resume` submits them again and the engine's cache answers what was asked before, so the endpoints
 * see each request answered once. A run that sbatch refuses (an unknown partition) or whose mounted
 * paths are missing fails in one line with nothing submitted, recorded or left on disk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { nelAsync, scratch } from './support/cli.js';
import { invocationIdOfDir, scoreOf, startEndpoint } from './support/e2e.js';
import {
  activeJobs,
  pollUntil,
  processesMentioning,
  requireSlurm,
  run,
  waitForStatuses,
  writeSlurmConfig,
} from './support/slurm.js';

const progressOf = (taskDir: string): number => {
  try {
    return Number(readFileSync(join(taskDir, 'artifacts', 'progress'), 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
};

/** Every Slurm id a task directory knows: started jobs and the waiting successor. */
function chainOf(taskDir: string): string[] {
  const read = (f: string) => {
    try {
      return readFileSync(join(taskDir, f), 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  return [...read('.slurm_job_id.list'), ...read('.slurm_next_job_id')];
}

test('kill mid-run: the whole chain leaves the queue, no engine is left, KILLED; resume finishes with no request repeated', async (t) => {
  const cluster = await requireSlurm(t);
  if (!cluster) return;
  const s = scratch('nel-slurm-kill-');
  s.env = { ...s.env, ...cluster.env };
  // one endpoint per task: a repeated request body would mean the cache did not answer it
  const eps = [
    await startEndpoint('gsm8k', { accuracy: 0.5, latencyMs: 250 }),
    await startEndpoint('gsm8k', { accuracy: 0.5, latencyMs: 250 }),
  ];
  try {
    const cfg = writeSlurmConfig(join(s.dir, 'run.json'), {
      hostname: 'localhost',
      outputDir: join(s.dir, 'cluster-out'),
      stagingDir: join(s.dir, 'staging'),
      tasks: eps.map((ep) => ({ url: ep.url, limit: 40, parallelism: 1 })),
    });
    const r = await nelAsync(['run', '--config', cfg], { cwd: s.dir, env: s.env, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const invocationDir = /^Launched 2 job\(s\) on Slurm .*: (\S+)$/m.exec(r.stdout)?.[1];
    assert.ok(invocationDir, r.stdout);
    const inv = invocationIdOfDir(invocationDir);
    const dirs = [0, 1].map((i) => join(invocationDir, `builtin.gsm8k.${i}`));
    await pollUntil(
      'both tasks to answer requests',
      async () => (dirs.every((d) => progressOf(d) >= 3) ? true : undefined),
      60_000,
    );
    const running = await waitForStatuses(
      [inv],
      { cwd: s.dir, env: s.env },
      (st) => st.every((e) => e.status === 'running'),
      30_000,
    );
    assert.equal(running.length, 2);
    // each running job has submitted its successor, which kill must cancel too
    for (const d of dirs) assert.equal(chainOf(d).length, 2, `chain of ${d}: ${chainOf(d)}`);
    assert.ok(processesMentioning(invocationDir).length > 0, 'the engines run on the nodes');

    const started = Date.now();
    const k = await nelAsync(['kill', inv], { cwd: s.dir, env: s.env, timeoutMs: 60_000 });
    assert.equal(k.code, 0, k.stdout + k.stderr);
    assert.match(k.stdout, new RegExp(`✓ killed ${inv}\\.0\\n✓ killed ${inv}\\.1\\n`));
    const ids = dirs.flatMap(chainOf);
    const gone = await pollUntil(
      'no job of the invocation in squeue and no process on the nodes',
      async () => {
        const active = await activeJobs(cluster, ids);
        const procs = processesMentioning(invocationDir);
        return active.length === 0 && procs.length === 0 ? Date.now() - started : undefined;
      },
      15_000,
    );
    t.diagnostic(`queue and nodes clear ${gone} ms after nel kill started (ids ${ids.join(' ')})`);
    const killed = await waitForStatuses([inv], { cwd: s.dir, env: s.env }, () => true, 10_000);
    assert.deepEqual(
      killed.map((e) => e.status),
      ['killed', 'killed'],
    );
    const answeredBefore = dirs.map(progressOf);
    assert.ok(
      answeredBefore.every((n) => n >= 3 && n < 40),
      `progress at kill: ${answeredBefore}`,
    );

    const res = await nelAsync(['resume', inv], { cwd: s.dir, env: s.env, timeoutMs: 60_000 });
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.match(res.stdout, new RegExp(`rerunning ${inv}\\.0 \\(builtin\\.gsm8k\\)\\nrerunning ${inv}\\.1`));
    const done = await waitForStatuses(
      [inv],
      { cwd: s.dir, env: s.env },
      (st) => {
        const bad = st.find((e) => e.status === 'failed' || e.status === 'killed');
        if (bad) throw new Error(`${bad.job_id} ${bad.status}: ${bad.cause ?? ''}`);
        return st.every((e) => e.status === 'success');
      },
      90_000,
      'the resumed jobs to succeed',
    );
    assert.deepEqual(
      done.map((e) => e.progress),
      [0, 1].map(() => ({ progress: 40, total: 40, percent: 100 })),
    );
    // the records follow the resubmitted job; the old chain is gone from the task's files
    const recs = readFileSync(s.dbPath, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { job_id: string; data: Record<string, unknown> });
    for (const i of [0, 1]) {
      const last = recs.filter((x) => x.job_id === `${inv}.${i}`).pop()!;
      assert.equal((last.data.slurm_job_ids as string[]).length, 2);
      assert.equal(last.data.killed, undefined);
      assert.equal(typeof last.data.resumed_at, 'number');
      assert.equal(scoreOf(dirs[i]!, 'gsm8k'), 0.5);
      const stats = eps[i]!.stats();
      assert.equal(stats.distinct_bodies, 40);
      assert.equal(stats.max_body_repeats_ok, 1, `task ${i}: a request was answered twice`);
    }
  } finally {
    for (const ep of eps) await ep.close();
  }
});

test('sbatch refuses the job (unknown partition): one line, nothing submitted, recorded or left on disk', async (t) => {
  const cluster = await requireSlurm(t);
  if (!cluster) return;
  const s = scratch('nel-slurm-refused-');
  s.env = { ...s.env, ...cluster.env };
  const ep = await startEndpoint('gsm8k', { accuracy: 1 });
  try {
    const account = `nel-refused-${process.pid}`;
    const outputDir = join(s.dir, 'cluster-out');
    const staging = join(s.dir, 'staging');
    const cfg = writeSlurmConfig(join(s.dir, 'run.json'), {
      hostname: hostname(),
      account,
      partition: 'no_such_partition',
      outputDir,
      stagingDir: staging,
      tasks: [
        { url: ep.url, limit: 2 },
        { url: ep.url, limit: 2 },
      ],
    });
    const r = await nelAsync(['run', '--config', cfg], { cwd: s.dir, env: s.env, timeoutMs: 60_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.match(
      lines[0]!,
      /^error: sbatch refused job [0-9a-f]{16}\.0 \(builtin\.gsm8k\): invalid partition specified: no_such_partition; Batch job submission failed: Invalid partition name specified$/,
    );
    assert.match(
      lines[1] ?? '',
      /^hint: check execution\.account, execution\.partition .*nothing was submitted or recorded$/,
    );
    assert.equal(lines.length, 2, r.stderr);
    assert.ok(!existsSync(s.dbPath), 'nothing recorded');
    assert.deepEqual(readdirSync(outputDir), [], 'nothing left on the cluster');
    assert.deepEqual(readdirSync(staging), [], 'nothing left staged');
    const q = await run('squeue', ['-h', '--states=all', '-o', '%a'], { env: cluster.env });
    assert.equal(q.code, 0, q.stderr);
    assert.ok(!q.stdout.split('\n').includes(account), 'no job of this account was left in the queue');
  } finally {
    await ep.close();
  }
});

test('a mounted path missing on the cluster: one line naming it, nothing copied or submitted', async (t) => {
  const cluster = await requireSlurm(t);
  if (!cluster) return;
  const s = scratch('nel-slurm-mount-');
  s.env = { ...s.env, ...cluster.env };
  const ep = await startEndpoint('gsm8k', { accuracy: 1 });
  try {
    const outputDir = join(s.dir, 'cluster-out');
    const missing = join(s.dir, 'no-such-data');
    const cfg = writeSlurmConfig(join(s.dir, 'run.json'), {
      hostname: '127.0.0.1',
      outputDir,
      stagingDir: join(s.dir, 'staging'),
      tasks: [
        { url: ep.url, limit: 2 },
        { url: ep.url, limit: 2, datasetDir: missing },
      ],
    });
    const r = await nelAsync(['run', '--config', cfg, '--skip-preflight'], {
      cwd: s.dir,
      env: s.env,
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(
      lines[0],
      `error: evaluation.tasks[1].dataset_dir: directory ${missing} does not exist on 127.0.0.1 (this machine)`,
    );
    assert.equal(lines[1], 'hint: create it there or correct the path; nothing was copied or submitted');
    assert.equal(lines.length, 2, r.stderr);
    assert.ok(!existsSync(s.dbPath));
    assert.ok(!existsSync(outputDir) || readdirSync(outputDir).length === 0);
  } finally {
    await ep.close();
  }
});
