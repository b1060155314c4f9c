import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchInvocation, readLaunchRecord } from '../src/executors/local/launch.js';
import { killJobOrInvocation, groupAlive } from '../src/executors/local/kill.js';
import { waitForInvocation, createProgressRenderer } from '../src/executors/local/wait.js';
import { ExecDb, appendJobRecord } from '../src/launcher/exec-db.js';
import { getJobStatuses } from '../src/launcher/job-status.js';
import { NelError } from '../src/common/errors.js';
import { countingBody, makeInvocation, testEnv, until } from './jobs-fixtures.js';

const statusOf = (dbPath: string, id: string) =>
  getJobStatuses(ExecDb.open(dbPath), [id]).map((s) => s.status);

test('launch records every job, runs detached, and --wait sees the final states', async () => {
  const fx = makeInvocation({
    tasks: [
      { name: 'good', body: countingBody(3, 0.05), hostPid: true },
      { name: 'bad', body: countingBody(2, 0.05, 3), hostPid: true },
    ],
  });
  const env = testEnv(fx.dbPath);
  const res = await launchInvocation(fx.plan, { env, execDbPath: fx.dbPath });
  assert.deepEqual(res.jobIds, [`${fx.plan.invocationId}.0`, `${fx.plan.invocationId}.1`]);
  const db = ExecDb.open(fx.dbPath);
  assert.deepEqual(db.jobIdsOf(fx.plan.invocationId), res.jobIds);
  const rec = db.getJob(res.jobIds[0]!)!;
  assert.equal(rec.data.output_dir, fx.plan.jobs[0]!.taskDir);
  assert.equal(rec.data.use_docker, false);
  assert.equal(readLaunchRecord(fx.invocationDir)!.scripts[0]!.pid, res.scripts[0]!.pid);
  const out: string[] = [];
  const render = createProgressRenderer({
    tty: false,
    stream: { write: (s: string) => out.push(s) } as never,
  });
  const final = await waitForInvocation(fx.plan.invocationId, { env, intervalMs: 100, onUpdate: render });
  assert.deepEqual(
    final.map((s) => s.status),
    ['success', 'failed'],
  );
  const p = final[0]!.progress;
  assert.ok(p && p !== 'unknown');
  assert.deepEqual(p, { progress: 3, total: 3, percent: 100 });
  assert.match(out.join(''), /\.0: SUCCESS 3\/3 \(100\.0%\)/);
});

test('a script that fails at once is reported with its name and log', async () => {
  const fx = makeInvocation({ tasks: [{ name: 't', body: 'true' }] });
  fx.plan.entryScripts = [join(fx.invocationDir, 'broken.sh')];
  await import('node:fs').then((fs) => fs.writeFileSync(fx.plan.entryScripts[0]!, 'echo nope >&2; exit 3\n'));
  await assert.rejects(
    launchInvocation(fx.plan, { env: testEnv(fx.dbPath), execDbPath: fx.dbPath }),
    (e: unknown) =>
      e instanceof NelError &&
      e.code === 'LAUNCH_FAILED' &&
      /broken\.sh exited with code 3/.test(e.message) &&
      /launch\.broken\.log/.test(e.hint ?? ''),
  );
  // the DB records were written first
  assert.equal(ExecDb.open(fx.dbPath).jobIdsOf(fx.plan.invocationId).length, 1);
});

test('killing a running sequential invocation stops it within 15 s and skips the pending task', async () => {
  const fx = makeInvocation({
    tasks: [
      { name: 'long', body: countingBody(600, 0.1), hostPid: true },
      { name: 'next', body: countingBody(2, 0.05), hostPid: true },
    ],
  });
  const env = testEnv(fx.dbPath);
  const res = await launchInvocation(fx.plan, { env, execDbPath: fx.dbPath });
  const [j0, j1] = res.jobIds as [string, string];
  const pidFile = join(fx.plan.jobs[0]!.taskDir, 'logs', 'stage.pid');
  assert.ok(await until(() => existsSync(pidFile) && statusOf(fx.dbPath, j0)[0] === 'running', 10_000));
  const enginePid = Number(readFileSync(pidFile, 'utf8'));
  const supervisor = res.scripts[0]!.pid;
  const t0 = Date.now();
  const results = await killJobOrInvocation(fx.plan.invocationId, { env, dbPath: fx.dbPath });
  assert.deepEqual(
    results.map((r) => [r.job_id, r.status]),
    [
      [j0, 'killed'],
      [j1, 'killed'],
    ],
  );
  assert.ok(await until(() => !groupAlive(supervisor) && !alive(enginePid), 15_000 - (Date.now() - t0)));
  assert.deepEqual(statusOf(fx.dbPath, fx.plan.invocationId), ['killed', 'killed']);
  // the pending task never started
  assert.equal(existsSync(join(fx.plan.jobs[1]!.taskDir, 'logs', 'stage.pre-start')), false);
  assert.deepEqual(readFileSync(join(fx.invocationDir, 'killed_jobs.txt'), 'utf8').trim().split('\n'), [
    j0,
    j1,
  ]);
});

test('killing a finished job says so and changes nothing', async () => {
  const fx = makeInvocation({ tasks: [{ name: 'quick', body: countingBody(1, 0) }] });
  const env = testEnv(fx.dbPath);
  await launchInvocation(fx.plan, { env, execDbPath: fx.dbPath });
  await waitForInvocation(fx.plan.invocationId, { env, intervalMs: 100 });
  const before = readFileSync(fx.dbPath, 'utf8');
  const r = await killJobOrInvocation(`${fx.plan.invocationId.slice(0, 8)}.0`, { env, dbPath: fx.dbPath });
  assert.equal(r.length, 1);
  assert.equal(r[0]!.status, 'error');
  assert.equal(r[0]!.alreadyFinished, true);
  assert.match((r[0]!.data as { error: string }).error, /already completed successfully/);
  assert.equal(readFileSync(fx.dbPath, 'utf8'), before);
  assert.equal(existsSync(join(fx.invocationDir, 'killed_jobs.txt')), false);
  const nf = await killJobOrInvocation('ffffffffffff', { env, dbPath: fx.dbPath });
  assert.equal(nf[0]!.status, 'not_found');
});

function alive(pid: number): boolean {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !s.slice(s.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

test('a Docker plan without a usable docker fails before recording anything, naming --no-docker', async () => {
  const fx = makeInvocation({ tasks: [{ name: 't', body: 'true' }], useDocker: true });
  const saved = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    await assert.rejects(
      launchInvocation(fx.plan, { env: testEnv(fx.dbPath), execDbPath: fx.dbPath }),
      (e: unknown) =>
        e instanceof NelError && e.code === 'DOCKER_UNAVAILABLE' && /--no-docker/.test(e.hint ?? ''),
    );
  } finally {
    process.env.PATH = saved;
  }
  assert.equal(existsSync(fx.dbPath), false);
});

test('kill works without docker for jobs that never had a container', async () => {
  const fx = makeInvocation({ tasks: [{ name: 'waiting', body: 'true' }] });
  const inv = fx.plan.invocationId;
  // an upstream-style record (no use_docker key) of a job that has not started
  appendJobRecord(fx.dbPath, {
    invocation_id: inv,
    job_id: `${inv}.0`,
    timestamp: Date.now() / 1000,
    executor: 'local',
    data: { output_dir: fx.plan.jobs[0]!.taskDir, container: 'client-waiting-x', eval_image: 'img' },
    config: {},
  });
  const saved = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    const r = await killJobOrInvocation(inv, { env: testEnv(fx.dbPath), dbPath: fx.dbPath });
    assert.deepEqual(
      r.map((x) => [x.status, x.data]),
      [['killed', { result: 'Successfully killed job' }]],
    );
  } finally {
    process.env.PATH = saved;
  }
  assert.deepEqual(statusOf(fx.dbPath, inv), ['killed']);
});
