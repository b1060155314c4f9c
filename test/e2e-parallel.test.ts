/**
 * Parallel mode end to end: four tasks with `max_parallel_tasks: 2` never have more than two containers
 * running at once (watched with `docker ps` by invocation label while the run goes on).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { nelAsync, scratch } from './support/cli.js';
import { engineImage } from './support/docker.js';
import {
  invocationIdOfDir,
  launchedDir,
  removeContainers,
  runningContainersOf,
  sleep,
  startEndpoint,
  statusJson,
  taskDirs,
  scoreOf,
  writeE2eConfig,
} from './support/e2e.js';

test('docker, parallel: four tasks with max_parallel_tasks 2 run at most two containers at once', async (t) => {
  const image = engineImage(t);
  if (!image) return;
  const s = scratch('nel-e2e-par-');
  // latency makes each task last a few seconds, so the tasks would overlap without the cap
  const gsm8k = await startEndpoint('gsm8k', { accuracy: 0.5, latencyMs: 250 });
  const outputDir = join(s.dir, 'out');
  let inv: string | undefined;
  try {
    const cfg = writeE2eConfig(join(s.dir, 'run.yaml'), {
      outputDir,
      mode: 'parallel',
      maxParallelTasks: 2,
      tasks: [0, 1, 2, 3].map(() => ({
        benchmark: 'gsm8k' as const,
        endpoint: gsm8k,
        limit: 12,
        parallelism: 2,
      })),
    });
    const run = nelAsync(['run', '--config', cfg, '--wait'], { cwd: s.dir, env: s.env, timeoutMs: 240_000 });
    let done = false;
    void run.then(() => (done = true));
    // The invocation id is known once its dir exists; then poll its running containers until the end.
    const counts: number[] = [];
    while (!done) {
      const found = existsSync(outputDir) ? readdirSync(outputDir) : [];
      if (found.length > 0) {
        inv ??= invocationIdOfDir(found[0]!);
        counts.push(runningContainersOf(inv).length);
      }
      await sleep(100);
    }
    const r = await run;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const invocationDir = launchedDir(r);
    assert.equal(invocationIdOfDir(invocationDir), inv);
    assert.ok(counts.length > 10, `polled docker ps ${counts.length} times`);
    assert.ok(Math.max(...counts) <= 2, `at most two containers at once, saw ${Math.max(...counts)}`);
    assert.equal(Math.max(...counts), 2, 'two tasks did run at the same time');
    const status = statusJson([inv!], { cwd: s.dir, env: s.env });
    assert.deepEqual(
      status.map((e) => e.status),
      ['success', 'success', 'success', 'success'],
    );
    for (const d of taskDirs(invocationDir)) assert.equal(scoreOf(d, 'gsm8k'), 0.5);
  } finally {
    if (inv) removeContainers(inv);
    await gsm8k.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
});
