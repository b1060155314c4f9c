/**
 * Secrets end to end: the API key variable holds a unique canary; the endpoint receives it, and it is in
 * no file the run leaves behind (output dir, exec DB, saved run config, logs, exports) nor in what the
 * commands print.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { nel, nelAsync, scratch } from './support/cli.js';
import { engineImage } from './support/docker.js';
import {
  filesContaining,
  invocationIdOfDir,
  launchedDir,
  removeContainers,
  startEndpoint,
  writeE2eConfig,
} from './support/e2e.js';

const KEY_NAME = 'NEL_E2E_API_KEY';

async function canaryRun(t: TestContext, useDocker: boolean): Promise<void> {
  if (useDocker && !engineImage(t)) return;
  const s = scratch('nel-e2e-canary-');
  const canary = `canary-${randomBytes(12).toString('hex')}`;
  const env = { ...s.env, [KEY_NAME]: canary };
  const gsm8k = await startEndpoint('gsm8k', { accuracy: 0.5 });
  const humaneval = await startEndpoint('humaneval', { accuracy: 1 });
  let inv: string | undefined;
  try {
    const cfg = writeE2eConfig(join(s.dir, 'run.yaml'), {
      outputDir: join(s.dir, 'out'),
      useDocker,
      apiKeyName: KEY_NAME,
      tasks: [
        { benchmark: 'gsm8k', endpoint: gsm8k, limit: 6 },
        { benchmark: 'humaneval', endpoint: humaneval, limit: 3 },
      ],
    });
    const printed: string[] = [];
    const run = await nelAsync(['run', '--config', cfg, '--wait'], { cwd: s.dir, env, timeoutMs: 240_000 });
    printed.push(run.stdout, run.stderr);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    inv = invocationIdOfDir(launchedDir(run));
    for (const args of [
      ['status', inv, '--json'],
      ['status', inv],
      ['logs', inv],
      ['info', inv, '--config', '--logs', '--artifacts', '--copy-logs', join(s.dir, 'copied-logs')],
      ['export', inv, '--dest', 'local', '--output-dir', join(s.dir, 'export')],
      ['export', inv, '--dest', 'local', '--format', 'csv', '--output-dir', join(s.dir, 'export-csv')],
    ]) {
      const r = nel(args, { cwd: s.dir, env, timeoutMs: 60_000 });
      assert.equal(r.code, 0, `nel ${args.join(' ')}: ${r.stdout}${r.stderr}`);
      printed.push(r.stdout, r.stderr);
    }
    const sha = createHash('sha256').update(canary).digest('hex');
    assert.ok(gsm8k.stats().auth_seen.includes(sha), 'the gsm8k endpoint received the key');
    assert.ok(humaneval.stats().auth_seen.includes(sha), 'the humaneval endpoint received the key');
    // s.dir holds the output dir, the exec DB, HOME (saved run configs), copied logs and the exports
    assert.deepEqual(filesContaining(s.dir, canary), []);
    assert.ok(filesContaining(s.dir, KEY_NAME).length > 0, 'the variable NAME is recorded');
    assert.ok(filesContaining(join(s.dir, 'export'), 'exact_match').length > 0, 'the export has the scores');
    assert.equal(
      printed.some((p) => p.includes(canary)),
      false,
      'no command printed the key',
    );
  } finally {
    if (inv) removeContainers(inv);
    await gsm8k.close();
    await humaneval.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
}

test('docker: the API key canary reaches the endpoint and no file or output', (t) => canaryRun(t, true));
test('host mode: the API key canary reaches the endpoint and no file or output', (t) => canaryRun(t, false));
