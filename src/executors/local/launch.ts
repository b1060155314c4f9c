/**
 * Launching an invocation: exec DB records first, then each entry script detached in its own session,
 * its output going to a file (never a pipe), so the CLI may exit (or be killed) while the scripts run.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { NelError } from '../../common/errors.js';
import { writeFileAtomic } from '../../common/fs.js';
import {
  appendJobRecords,
  execDbPath as defaultDbPath,
  taskNameOf,
  type JobRecord,
} from '../../launcher/exec-db.js';
import { jobCause } from './cause.js';
import type { InvocationPlan } from '../../launcher/types.js';
import { dockerAvailable } from '../../runtime/docker.js';
import type { LaunchedScript, LaunchOptions, LaunchResult } from '../types.js';
import { LOCAL, readLocalJobStatus as readJobStatus } from './status.js';

export { LAUNCH_RECORD, readLaunchRecord, type LaunchRecordFile } from './procs.js';
import { readLaunchRecord, type LaunchRecordFile } from './procs.js';
import { LAUNCH_RECORD } from './procs.js';

/** Add supervisors to the launch record (kept: earlier ones, so kill can still check them). */
export function addToLaunchRecord(
  invocationDir: string,
  invocationId: string,
  scripts: LaunchedScript[],
): void {
  const prev = readLaunchRecord(invocationDir);
  const rec: LaunchRecordFile = {
    invocation_id: invocationId,
    scripts: [...(prev?.scripts ?? []), ...scripts],
  };
  writeFileAtomic(join(invocationDir, LAUNCH_RECORD), JSON.stringify(rec, null, 2) + '\n');
}

export interface StartedProcess {
  script: LaunchedScript;
  /** Resolves with the exit code once the process ends (only meaningful shortly after start). */
  exited: { code: number | null; signal: NodeJS.Signals | null } | null;
  detach(): void;
}

/**
 * Start `argv` detached: a new session and process group, stdin ignored, stdout and stderr appended
 * to `logPath`. The returned handle is unref'ed by detach().
 */
export function spawnDetached(
  argv: string[],
  cwd: string,
  logPath: string,
  env: NodeJS.ProcessEnv,
): StartedProcess {
  const fd = openSync(logPath, 'a');
  let child;
  try {
    child = spawn(argv[0]!, argv.slice(1), { cwd, env, detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) {
    throw new NelError('LAUNCH_FAILED', `could not start ${argv.join(' ')} in ${cwd}`, {
      hint: 'check that bash is installed and the directory exists',
    });
  }
  const handle: StartedProcess = {
    script: { argv, cwd, pid: child.pid, log: logPath, startedAt: new Date().toISOString() },
    exited: null,
    detach: () => child.unref(),
  };
  child.on('exit', (code, signal) => {
    handle.exited = { code, signal };
  });
  child.on('error', () => {
    handle.exited = { code: 127, signal: null };
  });
  return handle;
}

/** Where a launched script's own output goes: `launch.<script name>.log` beside it. */
export const launchLogPath = (script: string): string =>
  join(dirname(script), `launch.${basename(script).replace(/\.sh$/, '')}.log`);

/** The DB record of a planned job. */
export function jobRecordFor(plan: InvocationPlan, index: number, now: Date): JobRecord {
  const job = plan.jobs[index]!;
  return {
    invocation_id: plan.invocationId,
    job_id: job.jobId,
    timestamp: now.getTime() / 1000,
    executor: LOCAL,
    data: {
      output_dir: job.taskDir,
      container: plan.useDocker ? job.containerName : '',
      eval_image: job.evalImage,
      use_docker: plan.useDocker,
      // read by the cause of a failed image pull (cause.ts), which does not load the benchmarks
      builtin_alternative: job.builtinAlternative,
    },
    config: plan.resolvedConfig,
  };
}

/**
 * Wait until every process has been running for `ms`, then fail on any early non-zero exit. The
 * message has a line per failed job with its cause (from the job's logs) when `jobs` are given.
 */
export async function checkEarlyExit(
  started: StartedProcess[],
  ms = 300,
  jobs: JobRecord[] = [],
): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
  for (const p of started) {
    const ex = p.exited;
    if (ex && (ex.code !== 0 || ex.signal)) {
      const name =
        p.script.argv[0] === 'bash' && p.script.argv[1] !== '-c'
          ? `Script ${p.script.argv[1]}`
          : 'The supervisor';
      const failed = jobs
        .map((rec) => ({ rec, st: readJobStatus(rec) }))
        .filter((j) => j.st.state === 'failed')
        .map((j) => ({ rec: j.rec, ...jobCause(j.rec, j.st.exitCode) }));
      // A line per failed job, each followed by its own hint.
      const lines = failed.flatMap((f) => [
        `  ${f.rec.job_id} ${taskNameOf(f.rec) ?? ''}: ${f.cause}`.replace(/ {2,}:/, ':'),
        ...(f.hint ? [`    hint: ${f.hint}`] : []),
      ]);
      const head = `Job startup failed | ${name} exited with code ${ex.code ?? ex.signal}`;
      throw new NelError(
        'LAUNCH_FAILED',
        failed.length > 0 ? `${head}; ${failed.length} job(s) failed at once:\n${lines.join('\n')}` : head,
        { hint: `see ${p.script.log}` },
      );
    }
  }
}

export type { LaunchOptions } from '../types.js';

/** Fail before anything is recorded or started when a Docker plan cannot reach a docker daemon. */
export async function assertDockerUsable(): Promise<void> {
  const d = await dockerAvailable();
  if (!d.ok) {
    throw new NelError('DOCKER_UNAVAILABLE', `Docker is not usable: ${d.reason}`, {
      hint: 'start the docker daemon, or run on the host with nel run --no-docker (execution.use_docker=false)',
    });
  }
}

/**
 * Check docker (Docker plans), record every job in the exec DB, then start each entry script
 * (`bash <script>`, cwd = its dir) detached, record the supervisors in <inv_dir>/.nel-launch.json,
 * and fail if one exits non-zero at once.
 */
export async function launchInvocation(plan: InvocationPlan, opts: LaunchOptions): Promise<LaunchResult> {
  if (plan.entryScripts.length === 0) {
    throw new NelError('LAUNCH_FAILED', `nothing to launch for invocation ${plan.invocationId}`, {
      hint: 'the plan has no entry scripts; check evaluation.tasks',
    });
  }
  const dbPath = opts.execDbPath ?? defaultDbPath(opts.env);
  const now = opts.now ?? new Date();
  try {
    if (plan.useDocker && !opts.skipDockerCheck) await assertDockerUsable();
    // every job's record in one append: all of them are recorded, or (undone) none
    appendJobRecords(
      dbPath,
      plan.jobs.map((_j, i) => jobRecordFor(plan, i, now)),
    );
  } catch (e) {
    // a refused run leaves nothing behind: the invocation dir written for it goes too
    rmSync(plan.invocationDir, { recursive: true, force: true });
    throw e;
  }
  const started: StartedProcess[] = [];
  try {
    for (const script of plan.entryScripts) {
      started.push(spawnDetached(['bash', script], dirname(script), launchLogPath(script), opts.env));
    }
  } finally {
    if (started.length > 0)
      addToLaunchRecord(
        plan.invocationDir,
        plan.invocationId,
        started.map((s) => s.script),
      );
  }
  try {
    await checkEarlyExit(
      started,
      opts.startupCheckMs ?? 300,
      plan.jobs.map((_j, i) => jobRecordFor(plan, i, now)),
    );
  } finally {
    for (const s of started) s.detach();
  }
  return {
    invocationId: plan.invocationId,
    invocationDir: plan.invocationDir,
    jobIds: plan.jobs.map((j) => j.jobId),
    scripts: started.map((s) => s.script),
  };
}
