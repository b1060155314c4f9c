/**
 * Ten real `nel run` processes started at once (host mode, tiny tasks) share one exec DB: every line
 * parses, every job of every invocation is in it, and every job finishes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { nelAsync, scratch } from './support/cli.js';
import {
  execDbRecords,
  invocationIdOfDir,
  launchedDir,
  startEndpoint,
  statusJson,
  waitUntil,
  writeE2eConfig,
} from './support/e2e.js';

const RUNS = 10;

test('ten `nel run` at once (host mode) leave an exec DB where every line parses and every job appears', async () => {
  const s = scratch('nel-e2e-ten-');
  const gsm8k = await startEndpoint('gsm8k', { accuracy: 1 });
  try {
    const cfg = writeE2eConfig(join(s.dir, 'run.yaml'), {
      outputDir: join(s.dir, 'out'),
      useDocker: false,
      tasks: [
        { benchmark: 'gsm8k', endpoint: gsm8k, limit: 3, parallelism: 1 },
        { benchmark: 'gsm8k', endpoint: gsm8k, limit: 2, parallelism: 1 },
      ],
    });
    const results = await Promise.all(
      Array.from({ length: RUNS }, () =>
        nelAsync(['run', '--config', cfg], { cwd: s.dir, env: s.env, timeoutMs: 120_000 }),
      ),
    );
    for (const r of results) assert.equal(r.code, 0, r.stdout + r.stderr);
    const invocations = results.map((r) => invocationIdOfDir(launchedDir(r)));
    assert.equal(new Set(invocations).size, RUNS, 'ten distinct invocations');
    const expectedJobs = invocations.flatMap((inv) => [`${inv}.0`, `${inv}.1`]).sort();

    const records = execDbRecords(s.dbPath);
    assert.deepEqual([...new Set(records.map((r) => r.job_id))].sort(), expectedJobs);
    for (const r of records) assert.ok(invocations.includes(r.invocation_id));

    let states: string[] = [];
    const finished = await waitUntil(
      () => {
        states = statusJson(invocations, { cwd: s.dir, env: s.env }).map((e) => e.status);
        return states.length === 2 * RUNS && states.every((x) => x === 'success');
      },
      120_000,
      500,
    );
    assert.ok(finished, `states: ${states.join(' ')}`);
    // still intact after the jobs finished (nothing rewrote the file)
    assert.deepEqual([...new Set(execDbRecords(s.dbPath).map((r) => r.job_id))].sort(), expectedJobs);
    assert.equal(gsm8k.stats().answered_ok, RUNS * 5);
  } finally {
    await gsm8k.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
});
