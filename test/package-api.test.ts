/**
 * The package as a user gets it: `npm pack` of the build, installed into a fresh project, imported by
 * name from TypeScript (tsc type-checks a consumer file) and from JavaScript (node runs a dry run, a
 * real host-mode run waited for, its logs, status and run list, and the engine in process, against the
 * reference endpoint).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './support/paths.js';
import { gsm8kDir, requestUrl, scoreOf, startEndpoint, taskDirs, writeE2eConfig } from './support/e2e.js';

const PKG = 'nemo-evaluator-launcher-ts';

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }) {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    encoding: 'utf8',
    timeout: opts.timeout ?? 60_000,
  });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

/** Like run, without blocking this process (which serves the reference endpoint). */
function runAsync(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeout: number },
): Promise<ReturnType<typeof run>> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeout);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, error: undefined });
    });
  });
}

function must(r: ReturnType<typeof run>, what: string): string {
  assert.equal(
    r.code,
    0,
    `${what} failed (${r.code}${r.error ? `, ${r.error.message}` : ''}):\n${r.stdout}\n${r.stderr}`,
  );
  return r.stdout;
}

/** Pack the build and install it (and its dependencies) into a new project; returns the project dir. */
function installPackedPackage(root: string, work: string): string {
  const packed = must(
    run('npm', ['pack', '--silent', '--pack-destination', work], { cwd: root }),
    'npm pack',
  );
  const tarball = join(work, packed.trim().split('\n').pop()!);
  const project = join(work, 'consumer');
  mkdirSync(project);
  // better-sqlite3 is a native module: the project asks for the version built in this repository and
  // reuses its compiled binary (its install script would download or compile the same file).
  const sqliteDir = join(root, 'node_modules', 'better-sqlite3');
  const sqliteVersion = (
    JSON.parse(readFileSync(join(sqliteDir, 'package.json'), 'utf8')) as { version: string }
  ).version;
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({
      name: 'consumer',
      version: '1.0.0',
      private: true,
      type: 'module',
      dependencies: { [PKG]: `file:${tarball}`, 'better-sqlite3': sqliteVersion },
    }),
  );
  const args = ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'];
  let r = run('npm', [...args, '--offline'], { cwd: project, timeout: 120_000 });
  if (r.code !== 0 && /ENOTCACHED/.test(r.stderr)) {
    r = run('npm', [...args, '--prefer-offline'], { cwd: project, timeout: 300_000 });
  }
  must(r, 'npm install of the packed package');
  const release = join('build', 'Release', 'better_sqlite3.node');
  mkdirSync(join(project, 'node_modules', 'better-sqlite3', 'build', 'Release'), { recursive: true });
  copyFileSync(join(sqliteDir, release), join(project, 'node_modules', 'better-sqlite3', release));
  return project;
}

const CONSUMER_TS = `
import {
  evaluate,
  exportResults,
  getStatus,
  killJobOrInvocation,
  launcherConfig,
  listRuns,
  listTasks,
  loadConfig,
  logs,
  NelError,
  resumeInvocation,
  runEval,
  waitForInvocation,
  type EvaluationOutcome,
  type ExecutionConfig,
  type LauncherConfig,
  type LogLine,
  type RunResult,
  type StatusEntry,
  type TaskListEntry,
} from '${PKG}';

export async function use(): Promise<void> {
  const dry: RunResult = await runEval({ config: 'run.yaml', dryRun: true, noDocker: true });
  const id: string = dry.plan.invocationId;
  const done: StatusEntry[] = await waitForInvocation(id, { intervalMs: 500 });
  const first: string | undefined = getStatus([id]).statuses[0]?.status;
  for await (const l of logs([id])) {
    const line: LogLine = l;
    console.log(line.prefix, line.line);
  }
  const config: LauncherConfig = launcherConfig(loadConfig({ config: 'run.yaml' }));
  const timeout: number | null | undefined = (config.execution as ExecutionConfig | undefined)?.endpoint_readiness_timeout;
  const tasks: TaskListEntry[] = listTasks();
  const runs: string[] = listRuns({ limit: 5 }).runs.map((r) => r.invocation_id);
  const outcome: EvaluationOutcome = await evaluate({ flags: { eval_type: 'gsm8k', model_id: 'm' } });
  await killJobOrInvocation(id);
  await resumeInvocation(id);
  await exportResults([id]);
  console.log(done, first, timeout, tasks, runs, outcome.status, new NelError('USAGE', 'x') instanceof Error);
  // @ts-expect-error dryRun is a boolean
  await runEval({ config: 'run.yaml', dryRun: 'yes' });
}
`;

const CONSUMER_JS = `
import * as nel from '${PKG}';
const [config, cwd, modelUrl, dataset, engineOut] = process.argv.slice(2);
const env = process.env;
const dry = await nel.runEval({ config, cwd, env, dryRun: true, noDocker: true });
const real = await nel.runEval({ config, cwd, env, noDocker: true });
const id = real.plan.invocationId;
const statuses = await nel.waitForInvocation(id, { env, intervalMs: 200 });
const lines = [];
for await (const l of nel.logs([id], { env, intervalMs: 100 })) lines.push(l.line);
const direct = await nel.evaluate(
  {
    flags: { eval_type: 'gsm8k', model_id: 'reference-model', model_url: modelUrl, output_dir: engineOut },
    overrides: 'config.params.limit_samples=3,config.params.extra.dataset_path=' + dataset,
  },
  { progressStream: null },
);
console.log(JSON.stringify({
  exports: Object.keys(nel).sort(),
  dry: { text: dry.dryRunText, jobs: dry.plan.jobs.length, dir: dry.plan.invocationDir },
  real: { id, dir: real.plan.invocationDir },
  statuses: statuses.map((s) => s.status),
  status: nel.getStatus([id], { env }).statuses.map((s) => s.status),
  lines,
  runs: nel.listRuns({ env }).runs.map((r) => r.invocation_id),
  tasks: nel.listTasks({ env }).map((t) => t.harness + '.' + t.task),
  direct: { status: direct.status, scored: direct.samplesScored, outputDir: direct.outputDir },
}));
`;

test('the packed package installs, type-checks and runs by name from TypeScript and JavaScript', async () => {
  const root = repoRoot();
  const work = mkdtempSync(join(tmpdir(), 'nel-package-'));
  const endpoint = await startEndpoint('gsm8k');
  try {
    const project = installPackedPackage(root, work);

    writeFileSync(join(project, 'consumer.ts'), CONSUMER_TS);
    const tsc = run(
      join(root, 'node_modules', '.bin', 'tsc'),
      [
        '--noEmit',
        '--strict',
        '--target',
        'es2022',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--types',
        'node',
        '--typeRoots',
        join(root, 'node_modules', '@types'),
        'consumer.ts',
      ],
      { cwd: project },
    );
    must(tsc, 'tsc on a file importing the package by name');

    const home = join(work, 'home');
    mkdirSync(home);
    const config = writeE2eConfig(join(project, 'run.yaml'), {
      outputDir: join(work, 'results'),
      useDocker: false,
      tasks: [{ benchmark: 'gsm8k', endpoint, limit: 5 }],
    });
    writeFileSync(join(project, 'consumer.mjs'), CONSUMER_JS);
    const engineOut = join(work, 'engine-out');
    const out = await runAsync(
      process.execPath,
      [
        'consumer.mjs',
        config,
        project,
        requestUrl('gsm8k', endpoint),
        join(gsm8kDir(), 'test.jsonl'),
        engineOut,
      ],
      { cwd: project, env: { ...process.env, HOME: home }, timeout: 90_000 },
    );
    must(out, 'node consumer.mjs');
    const r = JSON.parse(out.stdout.trim().split('\n').pop()!) as {
      exports: string[];
      dry: { text: string; jobs: number; dir: string };
      real: { id: string; dir: string };
      statuses: string[];
      status: string[];
      lines: string[];
      runs: string[];
      tasks: string[];
      direct: { status: string; scored: number; outputDir: string };
    };
    for (const name of [
      'evaluate',
      'exportResults',
      'getStatus',
      'killJobOrInvocation',
      'listRuns',
      'listTasks',
      'loadConfig',
      'logs',
      'resumeInvocation',
      'runEval',
      'waitForInvocation',
    ])
      assert.ok(r.exports.includes(name), `the package exports ${name}`);

    assert.equal(r.dry.jobs, 1);
    assert.match(r.dry.text, /builtin\.gsm8k/);
    assert.ok(existsSync(join(r.dry.dir, 'run_all.sequential.sh')), 'the dry run wrote the scripts');

    // the real run went through the installed copy's engine and scored every sample
    assert.deepEqual(r.statuses, ['success']);
    assert.deepEqual(r.status, ['success']);
    const [taskDir] = taskDirs(r.real.dir);
    assert.equal(scoreOf(taskDir!, 'gsm8k'), 1);
    const runSh = readFileSync(join(taskDir!, 'run.sh'), 'utf8');
    assert.ok(runSh.includes(join(project, 'node_modules', PKG)), 'run.sh calls the installed package');
    assert.ok(r.lines.length > 0, 'logs yielded the job log');
    assert.ok(r.runs.includes(r.real.id), 'listRuns lists the run');
    assert.ok(r.tasks.includes('builtin.gsm8k'), 'listTasks lists builtin.gsm8k');

    assert.equal(r.direct.status, 'success');
    assert.equal(r.direct.scored, 3);
    assert.ok(existsSync(join(engineOut, 'results.yml')), 'evaluate wrote results.yml');
  } finally {
    await endpoint.close();
    rmSync(work, { recursive: true, force: true });
  }
});
