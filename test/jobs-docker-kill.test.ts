import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { launchInvocation } from '../src/executors/local/launch.js';
import { killJobOrInvocation } from '../src/executors/local/kill.js';
import { ExecDb } from '../src/launcher/exec-db.js';
import { getJobStatuses } from '../src/launcher/job-status.js';
import { dockerSkipReason, ensureTinyImage } from './support/tiny-image.js';
import { makeInvocation, testEnv, until } from './jobs-fixtures.js';

const skip = dockerSkipReason();

const byLabel = (label: string): string[] =>
  execFileSync('docker', ['ps', '-aq', '--filter', `label=${label}`], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
const running = (label: string): string[] =>
  execFileSync('docker', ['ps', '-q', '--filter', `label=${label}`], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);

const invIds: string[] = [];
after(() => {
  for (const inv of invIds) {
    const ids = byLabel(`nel.invocation=${inv}`);
    if (ids.length > 0) execFileSync('docker', ['rm', '-f', ...ids], { stdio: 'ignore' });
  }
});

test("kill by docker label stops only that job's container", { skip, timeout: 120_000 }, async () => {
  const image = ensureTinyImage();
  const body = (inv: string, job: string, name: string) =>
    `exec docker run --init --label nel.invocation=${inv} --label nel.job=${job} --label nel.role=client ` +
    `--name client-${name}-${job.replace('.', '-')}-$$ ${image} bash -c 'echo started; sleep 300'`;
  const inv = 'd0c0' + Date.now().toString(16).padStart(12, '0').slice(-12);
  invIds.push(inv);
  const fx = makeInvocation({
    invocationId: inv,
    mode: 'parallel',
    useDocker: true,
    tasks: [
      { name: 'a', body: body(inv, `${inv}.0`, 'a') },
      { name: 'b', body: body(inv, `${inv}.1`, 'b') },
    ],
  });
  const env = testEnv(fx.dbPath);
  await launchInvocation(fx.plan, { env, execDbPath: fx.dbPath });
  assert.ok(
    await until(
      () => running(`nel.job=${inv}.0`).length === 1 && running(`nel.job=${inv}.1`).length === 1,
      30_000,
    ),
    'both containers should start',
  );
  const t0 = Date.now();
  const r = await killJobOrInvocation(`${inv}.0`, { env, dbPath: fx.dbPath });
  assert.deepEqual(
    r.map((x) => x.status),
    ['killed'],
  );
  assert.ok(await until(() => byLabel(`nel.job=${inv}.0`).length === 0, 15_000 - (Date.now() - t0)));
  assert.equal(running(`nel.job=${inv}.1`).length, 1, 'the other job keeps running');
  const st = getJobStatuses(ExecDb.open(fx.dbPath), [inv]).map((s) => s.status);
  assert.deepEqual(st, ['killed', 'running']);
  // then the whole invocation: the remaining container goes too
  const r2 = await killJobOrInvocation(inv, { env, dbPath: fx.dbPath });
  assert.deepEqual(
    r2.map((x) => x.status),
    ['error', 'killed'],
  );
  assert.ok(await until(() => byLabel(`nel.invocation=${inv}`).length === 0, 15_000));
});
