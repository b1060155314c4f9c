/**
 * Control end to end: `nel kill` of a running sequential invocation (nothing of it remains, the pending
 * task is skipped), `nel resume` completing it without asking the endpoint anything twice, and a
 * SIGKILLed `nel run --wait` leaving its jobs to finish.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { nel, nelAsync, scratch } from './support/cli.js';
import { engineImage } from './support/docker.js';
import { nelBin } from './support/paths.js';
import {
  containersOf,
  invocationIdOfDir,
  launchedDir,
  liveProcessesOf,
  recordedPids,
  removeContainers,
  scoreOf,
  startEndpoint,
  statusJson,
  taskDirs,
  waitUntil,
  writeE2eConfig,
} from './support/e2e.js';

const progressOf = (taskDir: string): number => {
  try {
    return Number(readFileSync(join(taskDir, 'artifacts', 'progress'), 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
};

async function waitForStates(
  inv: string,
  s: ReturnType<typeof scratch>,
  want: string[],
  timeoutMs: number,
): Promise<string[]> {
  let last: string[] = [];
  await waitUntil(
    () => {
      last = statusJson([inv], { cwd: s.dir, env: s.env }).map((e) => e.status);
      return JSON.stringify(last) === JSON.stringify(want);
    },
    timeoutMs,
    500,
  );
  return last;
}

async function killThenResume(t: TestContext, useDocker: boolean): Promise<void> {
  if (useDocker && !engineImage(t)) return;
  const s = scratch('nel-e2e-kill-');
  const gsm8k = await startEndpoint('gsm8k', { accuracy: 0.75, latencyMs: 400 });
  const humaneval = await startEndpoint('humaneval', { accuracy: 1 });
  let inv: string | undefined;
  try {
    const cfg = writeE2eConfig(join(s.dir, 'run.yaml'), {
      outputDir: join(s.dir, 'out'),
      useDocker,
      tasks: [
        { benchmark: 'gsm8k', endpoint: gsm8k, limit: 40, parallelism: 2 },
        { benchmark: 'humaneval', endpoint: humaneval, limit: 5 },
      ],
    });
    // async: the endpoints run in this process and answer the launcher's preflight
    const r = await nelAsync(['run', '--config', cfg], { cwd: s.dir, env: s.env, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const invocationDir = launchedDir(r);
    inv = invocationIdOfDir(invocationDir);
    assert.match(r.stdout, new RegExp(`Invocation ID: ${inv}`));
    const [first, second] = taskDirs(invocationDir) as [string, string];
    assert.ok(await waitUntil(() => progressOf(first) >= 4, 60_000), 'the first task is answering');

    const pidsBefore = recordedPids(invocationDir);
    assert.equal(pidsBefore.length, useDocker ? 1 : 2, `supervisor (and host engine) PIDs: ${pidsBefore}`);
    // async: this process serves the endpoint, which must keep answering the requests in flight
    const k = await nelAsync(['kill', inv], { cwd: s.dir, env: s.env, timeoutMs: 60_000 });
    assert.equal(k.code, 0, k.stdout + k.stderr);
    const containers = () => (useDocker ? containersOf(inv!) : []);
    const gone = await waitUntil(
      () => containers().length === 0 && liveProcessesOf(invocationDir, pidsBefore).length === 0,
      15_000,
    );
    assert.ok(
      gone,
      `left after 15 s: containers ${containers().join(' ')}; processes ${JSON.stringify(liveProcessesOf(invocationDir, pidsBefore))}`,
    );
    assert.deepEqual(
      statusJson([inv], { cwd: s.dir, env: s.env }).map((e) => e.status),
      ['killed', 'killed'],
    );
    assert.ok(progressOf(first) < 40, 'the first task was stopped before its end');
    assert.equal(existsSync(join(second, 'logs', 'stage.running')), false, 'the pending task never started');
    assert.deepEqual(
      Object.keys(humaneval.stats().by_path).filter((p) => p !== '/v1/models'),
      [],
      "the pending task sent nothing (only the launcher's preflight listed the models)",
    );
    const answeredBeforeKill = gsm8k.stats().answered_ok;

    const res = await nelAsync(['resume', inv], { cwd: s.dir, env: s.env, timeoutMs: 60_000 });
    assert.equal(res.code, 0, res.stdout + res.stderr);
    const final = await waitForStates(inv, s, ['success', 'success'], 180_000);
    assert.deepEqual(final, ['success', 'success']);
    assert.equal(scoreOf(first, 'gsm8k'), 0.75);
    assert.equal(scoreOf(second, 'humaneval'), 1);
    const st = gsm8k.stats();
    assert.equal(st.max_body_repeats_ok, 1, `a request was answered twice: ${JSON.stringify(st)}`);
    assert.equal(st.max_body_repeats, 1, `a request was sent twice: ${JSON.stringify(st)}`);
    assert.equal(st.distinct_bodies, 40);
    assert.ok(answeredBeforeKill > 0 && st.answered_ok === 40, `answered ${st.answered_ok}`);
    assert.equal(humaneval.stats().answered_ok, 5);
  } finally {
    if (inv) {
      await nelAsync(['kill', inv], { cwd: s.dir, env: s.env, timeoutMs: 60_000 });
      if (useDocker) removeContainers(inv);
    }
    await gsm8k.close();
    await humaneval.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
}

test('docker: kill a running sequential invocation, then resume it without repeating a request', (t) =>
  killThenResume(t, true));
test('host mode: kill a running sequential invocation, then resume it without repeating a request', (t) =>
  killThenResume(t, false));

test('docker: SIGKILL of `nel run --wait` right after launch leaves the jobs running to success', async (t) => {
  if (!engineImage(t)) return;
  const s = scratch('nel-e2e-sigkill-');
  const gsm8k = await startEndpoint('gsm8k', { accuracy: 1, latencyMs: 100 });
  let inv: string | undefined;
  try {
    const cfg = writeE2eConfig(join(s.dir, 'run.yaml'), {
      outputDir: join(s.dir, 'out'),
      tasks: [
        { benchmark: 'gsm8k', endpoint: gsm8k, limit: 10, parallelism: 2 },
        { benchmark: 'gsm8k', endpoint: gsm8k, limit: 10, parallelism: 2 },
      ],
    });
    const child = spawn(process.execPath, [nelBin(), 'run', '--config', cfg, '--wait'], {
      cwd: s.dir,
      env: s.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const closed = new Promise<number | null>((r) => child.on('close', (_c, sig) => r(sig ? -1 : _c)));
    const launched = await new Promise<boolean>((resolveLaunch) => {
      const timer = setTimeout(() => resolveLaunch(false), 60_000);
      child.stdout.on('data', (d) => {
        stdout += d;
        if (/^Launched .*$/m.test(stdout)) {
          clearTimeout(timer);
          resolveLaunch(true);
        }
      });
    });
    child.kill('SIGKILL');
    await closed;
    assert.ok(launched, stdout + stderr);
    const invocationDir = launchedDir({ code: 0, stdout, stderr });
    inv = invocationIdOfDir(invocationDir);
    const final = await waitForStates(inv, s, ['success', 'success'], 120_000);
    assert.deepEqual(final, ['success', 'success']);
    for (const d of taskDirs(invocationDir)) assert.equal(scoreOf(d, 'gsm8k'), 1);
  } finally {
    if (inv) {
      nel(['kill', inv], { cwd: s.dir, env: s.env });
      removeContainers(inv);
    }
    await gsm8k.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
});
