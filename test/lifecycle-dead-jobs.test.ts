/**
 * No job stays RUNNING after its supervisor died: SIGKILL of the process group of
 * run_all.sequential.sh mid-run (host mode and Docker), then `nel status` tells the truth within
 * seconds, no container of the job remains after the next `nel` command, and `nel resume` completes
 * the invocation.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { nel, nelAsync, scratch } from './support/cli.js';
import { engineImage } from './support/docker.js';
import {
  containersOf,
  invocationIdOfDir,
  launchedDir,
  liveProcessesOf,
  recordedPids,
  removeContainers,
  runningContainersOf,
  scoreOf,
  startEndpoint,
  statusJson,
  taskDirs,
  waitUntil,
  writeE2eConfig,
} from './support/e2e.js';
import type { StatusEntry } from '../src/executors/types.js';

const progressOf = (taskDir: string): number => {
  try {
    return Number(readFileSync(join(taskDir, 'artifacts', 'progress'), 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
};

async function sigkillSupervisor(t: TestContext, useDocker: boolean): Promise<void> {
  if (useDocker && !engineImage(t)) return;
  const s = scratch('nel-lc-dead-');
  const gsm8k = await startEndpoint('humaneval', { accuracy: 1, latencyMs: 250 });
  let inv: string | undefined;
  try {
    const limit = useDocker ? 12 : 40;
    const cfg = writeE2eConfig(join(s.dir, 'run.yaml'), {
      outputDir: join(s.dir, 'out'),
      useDocker,
      tasks: [
        { benchmark: 'humaneval', endpoint: gsm8k, limit, parallelism: 1 },
        { benchmark: 'humaneval', endpoint: gsm8k, limit: 3, parallelism: 1 },
      ],
    });
    const r = nel(['run', '--config', cfg], { cwd: s.dir, env: s.env });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const invocationDir = launchedDir(r);
    inv = invocationIdOfDir(invocationDir);
    const [first, second] = taskDirs(invocationDir) as [string, string];
    assert.ok(await waitUntil(() => progressOf(first) >= 2, 90_000), 'the first task is answering');

    const launch = JSON.parse(readFileSync(join(invocationDir, '.nel-launch.json'), 'utf8')) as {
      scripts: { pid: number; argv: string[] }[];
    };
    const supervisor = launch.scripts[0]!;
    assert.match(supervisor.argv.join(' '), /run_all\.sequential\.sh$/);
    const pids = recordedPids(invocationDir);
    process.kill(-supervisor.pid, 'SIGKILL');
    assert.ok(
      await waitUntil(() => liveProcessesOf(invocationDir, pids).length === 0, 10_000),
      'the process group is gone',
    );

    // Docker: the container outlives its supervisor and finishes its work; status follows it.
    let statuses: StatusEntry[] = [];
    const left = await waitUntil(
      () => {
        statuses = statusJson([inv!], { cwd: s.dir, env: s.env });
        return statuses.every((e) => e.status !== 'running');
      },
      useDocker ? 60_000 : 10_000,
      500,
    );
    assert.ok(left, `still RUNNING: ${JSON.stringify(statuses)}`);
    const [a, b] = statuses as [StatusEntry, StatusEntry];
    if (useDocker) {
      assert.equal(a.status, 'success', JSON.stringify(a));
      assert.equal(scoreOf(first, 'humaneval'), 1);
      assert.match(readFileSync(join(first, 'logs', 'stage.exit'), 'utf8'), / 0\n$/);
      assert.deepEqual(containersOf(inv), [], 'no container of the job remains after nel status');
    } else {
      assert.equal(a.status, 'failed', JSON.stringify(a));
      assert.match(a.cause ?? '', /the job's processes are gone \(killed\?\)/);
      assert.equal(a.hint, `nel resume ${inv} continues from the cache`);
    }
    assert.equal(b.status, 'failed', JSON.stringify(b));
    assert.match(b.cause ?? '', /never started/);
    assert.equal(existsSync(join(second, 'logs', 'stage.running')), false);

    // the text table shows the causes too
    const text = nel(['status', inv], { cwd: s.dir, env: s.env });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`✗ ${inv}\\.1: the job never started`));
    assert.match(text.stdout, new RegExp(`hint: nel resume ${inv} runs it`));

    // the state sticks, and resume completes the invocation from the cache
    const res = await nelAsync(['resume', inv], { cwd: s.dir, env: s.env, timeoutMs: 60_000 });
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.match(res.stdout, /✓ Resumed invocation/);
    let final: StatusEntry[] = [];
    assert.ok(
      await waitUntil(
        () => {
          final = statusJson([inv!], { cwd: s.dir, env: s.env });
          return final.every((e) => e.status === 'success');
        },
        120_000,
        500,
      ),
      JSON.stringify(final),
    );
    assert.equal(scoreOf(first, 'humaneval'), 1);
    assert.equal(scoreOf(second, 'humaneval'), 1);
    if (useDocker) {
      assert.ok(
        await waitUntil(() => containersOf(inv!).length === 0, 20_000),
        `containers left: ${containersOf(inv).join(' ')}`,
      );
    }
  } finally {
    if (inv) {
      nel(['kill', inv], { cwd: s.dir, env: s.env });
      if (useDocker) removeContainers(inv);
    }
    await gsm8k.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
}

test('host mode: after SIGKILL of the supervisor, status says FAILED with the cause at once', (t) =>
  sigkillSupervisor(t, false));
test('docker: after SIGKILL of the supervisor, the exited container decides the state and is removed', (t) =>
  sigkillSupervisor(t, true));

test('docker: a job whose container is still running after its supervisor died stays RUNNING; kill removes it', async (t) => {
  if (!engineImage(t)) return;
  const s = scratch('nel-lc-orphan-');
  const gsm8k = await startEndpoint('humaneval', { accuracy: 1, latencyMs: 400 });
  let inv: string | undefined;
  try {
    const cfg = writeE2eConfig(join(s.dir, 'run.yaml'), {
      outputDir: join(s.dir, 'out'),
      tasks: [{ benchmark: 'humaneval', endpoint: gsm8k, limit: 200, parallelism: 1 }],
    });
    const r = nel(['run', '--config', cfg], { cwd: s.dir, env: s.env });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const invocationDir = launchedDir(r);
    inv = invocationIdOfDir(invocationDir);
    const [first] = taskDirs(invocationDir) as [string];
    assert.ok(await waitUntil(() => progressOf(first) >= 1, 90_000), 'the task is answering');
    const launch = JSON.parse(readFileSync(join(invocationDir, '.nel-launch.json'), 'utf8')) as {
      scripts: { pid: number }[];
    };
    process.kill(-launch.scripts[0]!.pid, 'SIGKILL');
    await new Promise((res) => setTimeout(res, 1000));
    assert.equal(runningContainersOf(inv).length, 1, 'the container is still evaluating');
    assert.deepEqual(
      statusJson([inv], { cwd: s.dir, env: s.env }).map((e) => e.status),
      ['running'],
    );
    const k = await nelAsync(['kill', inv], { cwd: s.dir, env: s.env, timeoutMs: 60_000 });
    assert.equal(k.code, 0, k.stdout + k.stderr);
    assert.deepEqual(containersOf(inv), [], 'kill removed the container');
    assert.deepEqual(
      statusJson([inv], { cwd: s.dir, env: s.env }).map((e) => e.status),
      ['killed'],
    );
  } finally {
    if (inv) removeContainers(inv);
    await gsm8k.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
});
