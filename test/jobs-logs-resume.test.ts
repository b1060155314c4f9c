import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchInvocation } from '../src/executors/local/launch.js';
import { killJobOrInvocation } from '../src/executors/local/kill.js';
import { streamLogs, logPrefix, type LogLine } from '../src/executors/local/logs.js';
import { resumeInvocation } from '../src/executors/local/resume.js';
import { waitForInvocation } from '../src/executors/local/wait.js';
import { ExecDb } from '../src/launcher/exec-db.js';
import { NelError } from '../src/common/errors.js';
import { countingBody, makeInvocation, testEnv, until } from './jobs-fixtures.js';

test('logs prints the tail, follows new lines, picks up late files and exits when jobs finish', async () => {
  const fx = makeInvocation({
    tasks: [
      {
        name: 'first',
        body: 'for i in $(seq 1 30); do echo "old $i"; done; sleep 0.6; echo fresh; echo -n tail-no-newline',
      },
      { name: 'second', body: 'echo second-task-line' },
    ],
  });
  const env = testEnv(fx.dbPath);
  // the second task's log file does not exist until the script creates it
  await launchInvocation(fx.plan, { env, execDbPath: fx.dbPath });
  assert.ok(await until(() => readLog(fx.plan.jobs[0]!.taskDir).includes('old 30'), 10_000));
  const lines: LogLine[] = [];
  await streamLogs([fx.plan.invocationId], { env, intervalMs: 50, onLine: (l) => lines.push(l) });
  const first = lines.filter((l) => l.jobId.endsWith('.0')).map((l) => l.line);
  assert.deepEqual(
    first.slice(0, 15),
    Array.from({ length: 15 }, (_, i) => `old ${i + 16}`),
  );
  assert.ok(first.includes('fresh'));
  assert.equal(first[first.length - 1], 'tail-no-newline');
  assert.ok(lines.some((l) => l.jobId.endsWith('.1') && l.line === 'second-task-line'));
  assert.equal(lines[0]!.prefix, `${fx.plan.invocationId.slice(0, 6)}.0`);
  assert.equal(logPrefix('abcdef0123.12'), 'abcdef.12');
});

test('logs of an unknown id fails', async () => {
  const fx = makeInvocation({ tasks: [{ name: 't', body: 'true' }] });
  await assert.rejects(
    streamLogs(['deadbeefdead'], { env: testEnv(fx.dbPath), onLine: () => {} }),
    (e: unknown) => e instanceof NelError && e.code === 'JOB_NOT_FOUND',
  );
});

test('resume reruns only jobs that did not succeed, reusing artifacts', async () => {
  // "flaky" fails on its first run and succeeds on the next, counting runs in artifacts/
  const flaky =
    'n=$(cat artifacts/runs 2>/dev/null || echo 0); n=$((n+1)); echo $n > artifacts/runs; ' +
    'if [ $n -lt 2 ]; then exit 4; fi; echo ok';
  const fx = makeInvocation({
    tasks: [
      { name: 'ok', body: 'n=$(cat artifacts/runs 2>/dev/null || echo 0); echo $((n+1)) > artifacts/runs' },
      { name: 'flaky', body: flaky },
      { name: 'slow', body: 'sleep 600', hostPid: true },
    ],
  });
  const env = testEnv(fx.dbPath);
  const inv = fx.plan.invocationId;
  await launchInvocation(fx.plan, { env, execDbPath: fx.dbPath });
  assert.ok(await until(() => existsSync(join(fx.plan.jobs[2]!.taskDir, 'logs', 'stage.pid')), 10_000));
  await assert.rejects(resumeInvocation(inv, { env }), /still running/);
  await killJobOrInvocation(`${inv}.2`, { env });
  const st1 = await waitForInvocation(inv, { env, intervalMs: 100 });
  assert.deepEqual(
    st1.map((s) => s.status),
    ['success', 'failed', 'killed'],
  );
  // wait for the supervisor to finish its last task
  assert.ok(await until(() => resumeWouldStart(fx.invocationDir), 10_000));
  const okStage = statSync(join(fx.plan.jobs[0]!.taskDir, 'logs', 'stage.exit')).mtimeMs;

  // the last task should finish quickly this time
  writeFileSync(
    join(fx.plan.jobs[2]!.taskDir, 'run.sh'),
    readFileSync(join(fx.plan.jobs[2]!.taskDir, 'run.sh'), 'utf8').replace('sleep 600', 'echo quick'),
  );
  const r = await resumeInvocation(inv.slice(0, 10).toUpperCase(), { env });
  assert.deepEqual(
    r.rerun.map((j) => j.jobId),
    [`${inv}.1`, `${inv}.2`],
  );
  assert.deepEqual(
    r.skipped.map((j) => j.jobId),
    [`${inv}.0`],
  );
  const rec = ExecDb.open(fx.dbPath).getJob(`${inv}.2`)!;
  assert.equal(rec.data.killed, undefined);
  assert.equal(typeof rec.data.resumed_at, 'number');
  const st2 = await waitForInvocation(inv, { env, intervalMs: 100 });
  assert.deepEqual(
    st2.map((s) => s.status),
    ['success', 'success', 'success'],
  );
  assert.equal(readFileSync(join(fx.plan.jobs[0]!.taskDir, 'artifacts', 'runs'), 'utf8').trim(), '1');
  assert.equal(readFileSync(join(fx.plan.jobs[1]!.taskDir, 'artifacts', 'runs'), 'utf8').trim(), '2');
  assert.equal(statSync(join(fx.plan.jobs[0]!.taskDir, 'logs', 'stage.exit')).mtimeMs, okStage);
  // nothing left to do now
  const again = await resumeInvocation(inv, { env });
  assert.equal(again.rerun.length, 0);
});

function readLog(taskDir: string): string {
  try {
    return readFileSync(join(taskDir, 'logs', 'client_stdout.log'), 'utf8');
  } catch {
    return '';
  }
}

function resumeWouldStart(invDir: string): boolean {
  mkdirSync(invDir, { recursive: true });
  const rec = JSON.parse(readFileSync(join(invDir, '.nel-launch.json'), 'utf8')) as {
    scripts: { pid: number }[];
  };
  return rec.scripts.every(
    (s) => !existsSync(`/proc/${s.pid}/cmdline`) || readFileSync(`/proc/${s.pid}/cmdline`, 'utf8') === '',
  );
}
