/**
 * `nel run --wait` end to end: two tasks in sequence against reference endpoints, in Docker and on the
 * host; scores, results.yml and `nel status --json`; then the invocation rerun by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { nelAsync, scratch } from './support/cli.js';
import { engineImage } from './support/docker.js';
import { startHubServer } from './support/hub-server.js';
import {
  containersOf,
  invocationIdOfDir,
  launchedDir,
  removeContainers,
  scoreOf,
  startEndpoint,
  statusJson,
  taskDirs,
  writeE2eConfig,
} from './support/e2e.js';

const GSM8K = { accuracy: 0.75, limit: 20 }; // exactly 15 of the first 20 answered right
const HUMANEVAL = { accuracy: 0.6, limit: 10 }; // exactly 6 of the first 10 pass

function assertFinishedInvocation(invocationDir: string, s: ReturnType<typeof scratch>) {
  const inv = invocationIdOfDir(invocationDir);
  const dirs = taskDirs(invocationDir);
  assert.equal(dirs.length, 2);
  for (const d of dirs) assert.ok(existsSync(join(d, 'artifacts', 'results.yml')), `results.yml in ${d}`);
  assert.equal(scoreOf(dirs[0]!, 'gsm8k'), GSM8K.accuracy);
  assert.equal(scoreOf(dirs[1]!, 'humaneval'), HUMANEVAL.accuracy);
  const status = statusJson([inv], { cwd: s.dir, env: s.env });
  assert.deepEqual(
    status.map((e) => [e.job_id, e.status]),
    [
      [`${inv}.0`, 'success'],
      [`${inv}.1`, 'success'],
    ],
  );
  assert.deepEqual(
    status.map((e) => e.progress),
    [
      { progress: GSM8K.limit, total: GSM8K.limit, percent: 100 },
      { progress: HUMANEVAL.limit, total: HUMANEVAL.limit, percent: 100 },
    ],
  );
  assert.deepEqual(
    status.map((e) => e.data.output_dir),
    dirs,
  );
  return inv;
}

test('docker: two tasks in sequence succeed with the expected scores; a rerun by hand reproduces them', async (t) => {
  if (!engineImage(t)) return;
  const s = scratch('nel-e2e-run-');
  const gsm8k = await startEndpoint('gsm8k', { accuracy: GSM8K.accuracy });
  const humaneval = await startEndpoint('humaneval', { accuracy: HUMANEVAL.accuracy });
  let inv: string | undefined;
  try {
    const cfg = writeE2eConfig(join(s.dir, 'run.yaml'), {
      outputDir: join(s.dir, 'out'),
      tasks: [
        { benchmark: 'gsm8k', endpoint: gsm8k, limit: GSM8K.limit },
        { benchmark: 'humaneval', endpoint: humaneval, limit: HUMANEVAL.limit },
      ],
    });
    const r = await nelAsync(['run', '--config', cfg, '--wait'], {
      cwd: s.dir,
      env: s.env,
      timeoutMs: 240_000,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const invocationDir = launchedDir(r);
    inv = assertFinishedInvocation(invocationDir, s);
    assert.match(r.stdout, /builtin\.gsm8k: gsm8k_exact_match=0\.7500/);
    assert.match(r.stdout, /builtin\.humaneval: humaneval_pass@1=0\.6000/);
    assert.equal(gsm8k.stats().answered_ok, GSM8K.limit);
    assert.equal(humaneval.stats().answered_ok, HUMANEVAL.limit);
    assert.deepEqual(containersOf(inv), [], 'finished containers are removed');

    // Rerun by hand: the same script, the same environment; results are written again.
    const dirs = taskDirs(invocationDir);
    const before = statSync(join(dirs[1]!, 'logs', 'stage.exit')).mtimeMs;
    for (const d of dirs) rmSync(join(d, 'artifacts', 'results.yml'));
    const rerun = spawnSync('bash', ['run_all.sequential.sh'], {
      cwd: invocationDir,
      env: s.env,
      encoding: 'utf8',
      timeout: 240_000,
    });
    assert.equal(rerun.status, 0, rerun.stdout + rerun.stderr);
    assertFinishedInvocation(invocationDir, s);
    assert.ok(statSync(join(dirs[1]!, 'logs', 'stage.exit')).mtimeMs > before, 'stage.exit rewritten');
    assert.match(readFileSync(join(dirs[1]!, 'logs', 'stage.exit'), 'utf8'), / 0\n?$/);
  } finally {
    if (inv) removeContainers(inv);
    await gsm8k.close();
    await humaneval.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('host mode: the same two tasks (GSM8K downloaded through HF_ENDPOINT) succeed with the expected scores', async () => {
  const s = scratch('nel-e2e-host-');
  const hub = await startHubServer();
  const gsm8k = await startEndpoint('gsm8k', { accuracy: GSM8K.accuracy });
  const humaneval = await startEndpoint('humaneval', { accuracy: HUMANEVAL.accuracy });
  try {
    const cfg = writeE2eConfig(join(s.dir, 'run.yaml'), {
      outputDir: join(s.dir, 'out'),
      useDocker: false,
      tasks: [
        {
          benchmark: 'gsm8k',
          endpoint: gsm8k,
          limit: GSM8K.limit,
          datasetDir: null,
          envVars: { HF_ENDPOINT: 'host:HF_ENDPOINT' },
        },
        { benchmark: 'humaneval', endpoint: humaneval, limit: HUMANEVAL.limit },
      ],
    });
    const env = { ...s.env, HF_ENDPOINT: hub.url };
    const r = await nelAsync(['run', '--config', cfg, '--wait'], { cwd: s.dir, env, timeoutMs: 240_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /on the host/);
    assertFinishedInvocation(launchedDir(r), { ...s, env });
    assert.ok(
      hub.requests().some((p) => p.includes('openai/gsm8k')),
      `GSM8K came from the hub: ${hub.requests().join(', ')}`,
    );
  } finally {
    await hub.close();
    await gsm8k.close();
    await humaneval.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
});
