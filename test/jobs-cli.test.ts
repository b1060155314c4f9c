import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tmpdir } from 'node:os';
import { launchInvocation } from '../src/executors/local/launch.js';
import { waitForInvocation } from '../src/executors/local/wait.js';
import { ExecDb } from '../src/launcher/exec-db.js';
import { getJobStatuses } from '../src/launcher/job-status.js';
import { nelBin, repoRoot } from './support/paths.js';
import { countingBody, makeInvocation, testEnv, until } from './jobs-fixtures.js';

const fromSource = fileURLToPath(import.meta.url).endsWith('.ts');
const tsxLoader = () => pathToFileURL(join(repoRoot(), 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const nelArgv = (): string[] =>
  fromSource ? ['--import', tsxLoader(), join(repoRoot(), 'src', 'bin', 'nel.ts')] : [nelBin()];

function nel(args: string[], env: NodeJS.ProcessEnv, cwd?: string) {
  const r = spawnSync(process.execPath, [...nelArgv(), ...args], {
    env: { ...env, NO_COLOR: '1' },
    cwd: cwd ?? tmpdir(), // never write into the repository
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function finishedInvocation() {
  const fx = makeInvocation({
    tasks: [
      { name: 'alpha', body: countingBody(4, 0) },
      { name: 'beta', body: countingBody(2, 0, 1) },
    ],
  });
  const env = testEnv(fx.dbPath);
  await launchInvocation(fx.plan, { env, execDbPath: fx.dbPath });
  await waitForInvocation(fx.plan.invocationId, { env, intervalMs: 100 });
  return { fx, env };
}

test('nel status: table and JSON with progress; no id means the latest invocation', async () => {
  const { fx, env } = await finishedInvocation();
  const inv = fx.plan.invocationId;
  const table = nel(['status', inv.slice(0, 7)], env);
  assert.equal(table.code, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  // the finished job's results.yml (written by the fixture, 0.5) gives the Score column
  assert.match(lines[0]!, /^Job ID\s+Status\s+Progress\s+Score\s+Container\s+Location$/);
  assert.match(
    lines[2]!,
    new RegExp(
      `^${inv}\\.0\\s+✓ SUCCESS\\s+4/4 \\(100\\.0%\\)\\s+0\\.5000 accuracy\\s+-\\s+<output_dir>/20260101_000000-${inv}/alpha\\.0$`,
    ),
  );
  assert.match(lines[3]!, /✗ FAILED\s+2\/2 \(100\.0%\)\s+-\s/);
  const json = JSON.parse(nel(['status', '--json'], env).stdout);
  assert.equal(json.length, 2);
  assert.deepEqual(json[0], {
    invocation: inv,
    job_id: `${inv}.0`,
    status: 'success',
    progress: { progress: 4, total: 4, percent: 100 },
    data: ExecDb.open(fx.dbPath).getJob(`${inv}.0`)!.data,
    metrics: { 'accuracy.accuracy': 0.5 },
    headline: {
      task: 'demo',
      metric: 'accuracy',
      score: 'accuracy',
      value: 0.5,
      key: 'accuracy.accuracy',
      source: 'structure',
    },
  });
  assert.equal(json[1].metrics, undefined, 'a failed job carries no metrics');
  const nf = nel(['status', 'fffffffffffff', '--json'], env);
  assert.equal(JSON.parse(nf.stdout)[0].status, 'not_found');
});

test('nel kill of a finished job, of an unknown id; nel logs and info', async () => {
  const { fx, env } = await finishedInvocation();
  const inv = fx.plan.invocationId;
  const k = nel(['kill', `${inv}.0`, '--json'], env);
  assert.equal(k.code, 0, k.stderr);
  const kj = JSON.parse(k.stdout);
  assert.equal(kj[0].status, 'error');
  assert.match(kj[0].data.error, /already completed successfully/);
  const human = nel(['kill', `${inv}.1`], env);
  assert.match(human.stdout, /already failed/);
  assert.equal(nel(['kill', 'ffffffffffffff'], env).code, 1);
  const logs = nel(['logs', inv], env);
  assert.equal(logs.code, 0, logs.stderr);
  assert.ok(logs.stdout.includes(`${inv.slice(0, 6)}.0: request 4`));
  const bad = nel(['logs', 'ffffffffffffff'], env);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /not found/);
  const info = nel(['info', `${inv}.0`], env);
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, /├── Artifacts: .*alpha\.0\/artifacts \(exists\) \(local\)/);
  const copyDir = join(fx.root, 'copies');
  nel(['info', inv, '--copy-logs', copyDir, '--copy-artifacts', copyDir], env);
  assert.ok(readFileSync(join(copyDir, `${inv}.0`, 'artifacts', 'results.yml'), 'utf8').includes('accuracy'));
  assert.ok(
    readFileSync(join(copyDir, `${inv}.1`, 'logs', 'client_stdout.log'), 'utf8').includes('request 2'),
  );
});

test('nel export exits non-zero with one line per failed job', async () => {
  const { fx, env } = await finishedInvocation();
  const inv = fx.plan.invocationId;
  // make job 1's results unreadable for export
  writeFileSync(join(fx.plan.jobs[1]!.taskDir, 'artifacts', 'results.yml'), 'results: [unclosed');
  const out = join(fx.root, 'exp');
  mkdirSync(out);
  const r = nel(['export', inv, '--dest', 'local', '--output-dir', out, '--format', 'csv'], env);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, new RegExp(`${inv}\\.1`));
  assert.ok(
    readFileSync(join(out, inv, `${inv}.0`, 'processed_results.csv'), 'utf8').includes('demo_accuracy'),
  );
  const ok = nel(['export', `${inv}.0`, '--output-dir', out, '-o', 'export.local.format=json'], env);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /"successful_jobs":1/);
});

test('SIGKILL of the launching process does not disturb the running jobs', async () => {
  const fx = makeInvocation({ tasks: [{ name: 'survivor', body: countingBody(8, 0.25), hostPid: true }] });
  const env = testEnv(fx.dbPath);
  const planFile = join(fx.root, 'plan.json');
  writeFileSync(planFile, JSON.stringify(fx.plan));
  const mod = new URL(
    fromSource ? '../src/executors/local/launch.ts' : '../src/executors/local/launch.js',
    import.meta.url,
  ).href;
  const script = `
    import { launchInvocation } from ${JSON.stringify(mod)};
    import { readFileSync } from 'node:fs';
    const plan = JSON.parse(readFileSync(${JSON.stringify(planFile)}, 'utf8'));
    await launchInvocation(plan, { env: process.env, execDbPath: ${JSON.stringify(fx.dbPath)} });
    process.stdout.write('launched\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(
    process.execPath,
    [...(fromSource ? ['--import', 'tsx'] : []), '--input-type=module', '-e', script],
    {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve) =>
    child.stdout!.on('data', (d) => String(d).includes('launched') && resolve()),
  );
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  const inv = fx.plan.invocationId;
  assert.ok(
    await until(() => getJobStatuses(ExecDb.open(fx.dbPath), [inv])[0]!.status === 'success', 20_000),
  );
  assert.equal(readFileSync(join(fx.plan.jobs[0]!.taskDir, 'artifacts', 'progress'), 'utf8').trim(), '8');
});
