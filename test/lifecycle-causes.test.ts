/**
 * Run-time errors reach the user: `nel run --wait` and `nel status` (text and --json) give each FAILED
 * job a one-line cause and a hint from its logs (Docker's own error for an image that is not there and
 * cannot be pulled; the engine's last error line); the launch log holds the error; `nel resume` applies
 * run's variable gate and never claims success when the jobs fail again at once; a manual rerun of
 * run.sh without its variables leaves a finished job as it was; `nel logs` adds no listener per poll.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nel, nelAsync, scratch } from './support/cli.js';
import { requireDocker } from './support/docker.js';
import {
  containersOf,
  invocationIdOfDir,
  launchedDir,
  removeContainers,
  startEndpoint,
  statusJson,
  taskDirs,
  writeE2eConfig,
} from './support/e2e.js';

const MISSING_IMAGE = '127.0.0.1:9/nel-missing/engine:none';

test('docker: an image that is not there and cannot be pulled is named, with hints, by run --wait, status and the launch log; resume says it failed again', async (t) => {
  if (!requireDocker(t)) return;
  const s = scratch('nel-lc-img-');
  const ep = await startEndpoint('humaneval', { accuracy: 1 });
  let inv: string | undefined;
  try {
    const cfgPath = writeE2eConfig(join(s.dir, 'run.yaml'), {
      outputDir: join(s.dir, 'out'),
      tasks: [{ benchmark: 'humaneval', endpoint: ep, limit: 2 }],
    });
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as {
      evaluation: { tasks: Record<string, unknown>[] };
    };
    cfg.evaluation.tasks[0]!.container = MISSING_IMAGE;
    writeFileSync(cfgPath, JSON.stringify(cfg, null, 2));
    const env = { ...s.env, NEMO_EVALUATOR_TRUST_UNLISTED_TASKS: '1' };
    const r = await nelAsync(['run', '--config', cfgPath, '--wait'], { cwd: s.dir, env, timeoutMs: 120_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const out = r.stdout + r.stderr;
    const invocationDir = /^Launched/m.test(r.stdout) ? launchedDir(r) : null;
    const cause = `image ${MISSING_IMAGE} is not present on this machine and could not be pulled`;
    assert.ok(out.includes(cause), out);
    assert.ok(out.includes(`docker login 127.0.0.1:9`), out);
    assert.ok(out.includes(`docker pull ${MISSING_IMAGE}`), out);
    assert.ok(out.includes('built-in engine'), out);
    // Stopped at launch: a line per job, each with its own hint, and the log to read.
    if (!invocationDir) {
      assert.match(out, new RegExp(`^ {2}\\S+\\.0 \\S*: ${cause.replace(/[.]/g, '\\.')}`, 'm'));
      assert.match(out, /^ {4}hint: log in to the registry/m);
      assert.match(out, /^hint: see .*launch\.run_all\.sequential\.log$/m);
    }

    // the run either stopped at launch (supervisor exited at once) or waited: either way the job is known
    const dir = invocationDir ?? join(s.dir, 'out', readdirSync(join(s.dir, 'out'))[0]!);
    inv = invocationIdOfDir(dir);
    const [st] = statusJson([inv], { cwd: s.dir, env });
    assert.equal(st!.status, 'failed');
    assert.ok(st!.cause!.startsWith(cause), st!.cause);
    assert.match(st!.hint!, /docker login 127\.0\.0\.1:9/);
    // the task's own built-in alternative, which nel run wrote into the job record at launch
    assert.match(st!.hint!, /drop the task's container: setting|task name builtin\.humaneval/);
    const text = nel(['status', inv], { cwd: s.dir, env });
    assert.ok(text.stdout.includes(`✗ ${inv}.0: ${cause}`), text.stdout);
    assert.match(text.stdout, /^ {2}hint: log in to the registry/m);

    const launchLog = readFileSync(join(dir, 'launch.run_all.sequential.log'), 'utf8');
    assert.match(
      launchLog,
      new RegExp(
        `error: job ${inv}\\.0: docker run of ${MISSING_IMAGE.replace(/[.]/g, '\\.')} failed \\(exit code 125\\): docker: `,
      ),
    );
    const [taskDir] = taskDirs(dir) as [string];
    assert.match(readFileSync(join(taskDir, 'logs', 'client_stdout.log'), 'utf8'), /^docker: /m);
    assert.deepEqual(containersOf(inv), []);

    // resume: the same image, the same failure, reported as such (never "✓ Resumed")
    const res = await nelAsync(['resume', inv], { cwd: s.dir, env, timeoutMs: 60_000 });
    assert.equal(res.code, 1, res.stdout + res.stderr);
    assert.doesNotMatch(res.stdout, /✓/);
    assert.ok((res.stdout + res.stderr).includes(cause), res.stdout + res.stderr);
  } finally {
    if (inv) removeContainers(inv);
    await ep.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('host mode: the engine error is the cause; resume refuses without the key variable and touches nothing', async () => {
  const s = scratch('nel-lc-eng-');
  const ep = await startEndpoint('humaneval', { accuracy: 1 });
  try {
    const cfgPath = writeE2eConfig(join(s.dir, 'run.yaml'), {
      outputDir: join(s.dir, 'out'),
      useDocker: false,
      apiKeyName: 'NEL_LC_KEY',
      tasks: [{ benchmark: 'humaneval', endpoint: ep, limit: 2 }],
    });
    const cfg = readFileSync(cfgPath, 'utf8').replaceAll(
      `${ep.url}/v1/completions`,
      `${ep.url}/v1/no-such-path`,
    );
    writeFileSync(cfgPath, cfg);
    const env = { ...s.env, NEL_LC_KEY: 'k' };
    const r = await nelAsync(['run', '--config', cfgPath, '--wait', '--skip-preflight'], {
      cwd: s.dir,
      env,
      timeoutMs: 120_000,
    });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    // The engine fails at its first request: either within the launch check (nel run reports the job's
    // cause itself, before "Launched") or while --wait watches (the status table shows it).
    const atLaunch = !/^Launched/m.test(r.stdout);
    const dir = atLaunch ? join(s.dir, 'out', readdirSync(join(s.dir, 'out'))[0]!) : launchedDir(r);
    const inv = invocationIdOfDir(dir);
    const [taskDir] = taskDirs(dir) as [string];
    const engineErr = readFileSync(join(taskDir, 'logs', 'client_stdout.log'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('error: '))
      .pop();
    assert.ok(engineErr, 'the engine printed an error line');
    const [st] = statusJson([inv], { cwd: s.dir, env });
    assert.equal(st!.status, 'failed');
    assert.ok(engineErr.startsWith(`error: ${st!.cause}`), `${st!.cause} vs ${engineErr}`);
    if (atLaunch) assert.ok(r.stderr.includes(`  ${inv}.0 builtin.humaneval: ${st!.cause}`), r.stderr);
    else assert.ok(r.stdout.includes(`✗ ${inv}.0: ${st!.cause}`), r.stdout);
    assert.doesNotMatch(r.stdout, /see nel logs/);

    // resume without the key: refused with run's message, nothing touched
    const dbBefore = readFileSync(s.dbPath, 'utf8');
    const exitBefore = statSync(join(taskDir, 'logs', 'stage.exit')).mtimeMs;
    const { NEL_LC_KEY: _k, ...noKey } = env;
    const res = nel(['resume', inv], { cwd: s.dir, env: noKey });
    assert.equal(res.code, 1, res.stdout + res.stderr);
    assert.match(
      res.stderr,
      /^error: environment variable NEL_LC_KEY is not set \(referenced by target\.api_endpoint\.api_key_name\)$/m,
    );
    assert.equal(readFileSync(s.dbPath, 'utf8'), dbBefore, 'no DB record');
    assert.equal(
      statSync(join(taskDir, 'logs', 'stage.exit')).mtimeMs,
      exitBefore,
      'the job state is untouched',
    );
  } finally {
    await ep.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('host mode: nel logs follows without listener warnings; a manual rerun without the key keeps SUCCESS', async () => {
  const s = scratch('nel-lc-rerun-');
  const ep = await startEndpoint('humaneval', { accuracy: 1, latencyMs: 300 });
  try {
    const cfgPath = writeE2eConfig(join(s.dir, 'run.yaml'), {
      outputDir: join(s.dir, 'out'),
      useDocker: false,
      apiKeyName: 'NEL_LC_KEY',
      tasks: [{ benchmark: 'humaneval', endpoint: ep, limit: 8, parallelism: 1 }],
    });
    const env = { ...s.env, NEL_LC_KEY: 'k' };
    const r = nel(['run', '--config', cfgPath], { cwd: s.dir, env });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const dir = launchedDir(r);
    const inv = invocationIdOfDir(dir);
    const logs = await nelAsync(['logs', inv], { cwd: s.dir, env, timeoutMs: 120_000 });
    assert.equal(logs.code, 0, logs.stderr);
    assert.doesNotMatch(logs.stderr, /MaxListenersExceededWarning|Warning/);
    assert.deepEqual(
      statusJson([inv], { cwd: s.dir, env }).map((e) => e.status),
      ['success'],
    );
    const [taskDir] = taskDirs(dir) as [string];
    const exitText = readFileSync(join(taskDir, 'logs', 'stage.exit'), 'utf8');

    const { NEL_LC_KEY: _k, ...noKey } = env;
    const rerun = spawnSync('bash', ['run.sh'], {
      cwd: taskDir,
      env: noKey,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(rerun.status, 1, rerun.stdout + rerun.stderr);
    assert.match(rerun.stderr, /error: environment variable NEL_LC_KEY is not set/);
    assert.match(rerun.stderr, /its earlier outcome \(logs\/stage\.exit\) is kept/);
    assert.equal(readFileSync(join(taskDir, 'logs', 'stage.exit'), 'utf8'), exitText);
    assert.ok(statSync(join(taskDir, 'artifacts', 'results.yml')).isFile());
    assert.deepEqual(
      statusJson([inv], { cwd: s.dir, env }).map((e) => e.status),
      ['success'],
    );
  } finally {
    await ep.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
});
