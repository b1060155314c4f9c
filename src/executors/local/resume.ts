/**
 * `nel resume INV [--all]`: rerun the jobs that did not succeed (all with --all), detached, reusing
 * their artifacts/ so the engine's cache answers requests that were already made.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NelError } from '../../common/errors.js';
import { writeFileAtomic } from '../../common/fs.js';
import { shQuote } from '../../common/shell.js';
import { openExecDb, taskNameOf, type JobRecord } from '../../launcher/exec-db.js';
import { resolveInvocationPrefix } from '../../launcher/id-resolve.js';
import { preflightJobRecords } from '../../launcher/preflight.js';
import { loadEnvFile } from '../../config/env-file.js';
import { containersWithLabel, stopAndRemoveContainers } from '../../runtime/docker.js';
import type { ResumeOptions, ResumeResult } from '../types.js';
import { jobCause } from './cause.js';
import { LOCAL, readLocalJobStatus as readJobStatus } from './status.js';
import {
  assertDockerUsable,
  addToLaunchRecord,
  checkEarlyExit,
  readLaunchRecord,
  spawnDetached,
} from './launch.js';
import { supervisorStillRunning } from './procs.js';

export type { ResumeOptions, ResumeResult } from '../types.js';

const STAGE_FILES = [
  'stage.pre-start',
  'stage.running',
  'stage.exit',
  'stage.pid',
  'stage.lost',
  'stage.script.pid',
];

/** Host variables a job's run.sh checks (the names and where the config refers to them). */
export function variablesOfScript(runSh: string): { name: string; declaredAt: string }[] {
  const out: { name: string; declaredAt: string }[] = [];
  const seen = new Set<string>();
  for (const m of runSh.matchAll(
    /error: environment variable ([A-Za-z_][A-Za-z0-9_]*) is not set \(needed by ([^)']*)\)/g,
  )) {
    if (seen.has(m[1]!)) continue;
    seen.add(m[1]!);
    out.push({ name: m[1]!, declaredAt: m[2]! });
  }
  return out;
}

/** The gate `nel run` applies: every variable the jobs read must be set, else nothing is touched. */
export function checkResumeVariables(taskDirs: string[], env: NodeJS.ProcessEnv): void {
  const missing: { name: string; declaredAt: string }[] = [];
  const seen = new Set<string>();
  for (const d of taskDirs) {
    let text: string;
    try {
      text = readFileSync(join(d, 'run.sh'), 'utf8');
    } catch {
      continue; // reported by the caller
    }
    for (const v of variablesOfScript(text)) {
      if (env[v.name] === undefined && !seen.has(v.name)) {
        seen.add(v.name);
        missing.push(v);
      }
    }
  }
  const first = missing[0];
  if (first) {
    const more =
      missing.length > 1
        ? ` (and ${missing.length - 1} more: ${missing
            .slice(1)
            .map((m) => m.name)
            .join(', ')})`
        : '';
    throw new NelError(
      'ENV_UNSET',
      `environment variable ${first.name} is not set (referenced by ${first.declaredAt})${more}`,
      { hint: 'export it (or add it to ./.env) and resume again; nothing was started' },
    );
  }
}

/** Remove every container left by earlier attempts of these jobs (their scripts are gone). */
async function removeLeftoverContainers(jobIds: string[]): Promise<void> {
  const found = await containersWithLabel('nel.job');
  if (found.error) return;
  const wanted = new Set(jobIds);
  await stopAndRemoveContainers(
    found.containers.filter((c) => wanted.has(c.value)).map((c) => c.id),
    { graceSeconds: 2 },
  );
}

/** Remove a job's stage files and its interrupted marker, so status starts from pending. */
export function clearStageFiles(taskDir: string): void {
  for (const f of STAGE_FILES) rmSync(join(taskDir, 'logs', f), { force: true });
  rmSync(join(taskDir, 'artifacts', '.nemo_evaluator_interrupted'), { force: true });
}

/** Remove job ids from <inv_dir>/killed_jobs.txt (the file goes away when it becomes empty). */
export function unmarkKilled(invocationDir: string, jobIds: string[]): void {
  const file = join(invocationDir, 'killed_jobs.txt');
  if (!existsSync(file)) return;
  const drop = new Set(jobIds);
  const keep = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !drop.has(l));
  if (keep.length === 0) rmSync(file, { force: true });
  else writeFileAtomic(file, keep.join('\n') + '\n');
}

/**
 * The supervisor command: each job's run.sh in turn (cwd = its task dir), skipping a job whose id
 * is listed in <inv_dir>/killed_jobs.txt by the time it comes up (so `nel kill` still works).
 */
export function buildResumeCommand(
  invocationDir: string,
  jobs: { jobId: string; taskDir: string }[],
): string {
  const killed = join(invocationDir, 'killed_jobs.txt');
  return jobs
    .map(
      (j) =>
        `if grep -qxF ${shQuote(j.jobId)} ${shQuote(killed)} 2>/dev/null; then ` +
        `echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) Job ${j.jobId} was killed, skipping execution"; ` +
        `else (cd ${shQuote(j.taskDir)} && bash run.sh); fi`,
    )
    .join('\n');
}

export async function resumeInvocation(id: string, opts: ResumeOptions = {}): Promise<ResumeResult> {
  const env = opts.env ?? process.env;
  const db = openExecDb({ dbPath: opts.dbPath, env });
  let inv: string;
  try {
    inv = resolveInvocationPrefix(db, id);
  } catch (e) {
    if (e instanceof NelError && e.code === 'JOB_NOT_FOUND') {
      throw new NelError('JOB_NOT_FOUND', `Invocation '${id}' not found in execution database`, {
        hint: "use 'nel ls runs' to see available invocations",
      });
    }
    throw e;
  }
  const recs = db.jobsOf(inv).filter((r) => r.executor === LOCAL && typeof r.data.output_dir === 'string');
  if (recs.length === 0)
    throw new NelError('JOB_NOT_FOUND', `Invocation '${inv}' has no local jobs to resume`);
  const invDir = dirname(recs[0]!.data.output_dir as string);
  const running = (readLaunchRecord(invDir)?.scripts ?? []).filter(supervisorStillRunning);
  if (running.length > 0) {
    throw new NelError(
      'LAUNCH_FAILED',
      `Invocation ${inv} is still running (supervisor PID ${running[0]!.pid})`,
      {
        hint: `wait for it to finish, or stop it first with: nel kill ${inv}`,
      },
    );
  }
  const rerun: JobRecord[] = [];
  const skipped: JobRecord[] = [];
  for (const r of recs) {
    const st = readJobStatus(r);
    if (opts.all || st.state !== 'success') rerun.push(r);
    else skipped.push(r);
  }
  const named = (r: JobRecord) => ({ jobId: r.job_id, taskName: taskNameOf(r) ?? r.job_id });
  if (rerun.length === 0) {
    return {
      invocationId: inv,
      invocationDir: invDir,
      rerun: [],
      skipped: skipped.map(named),
      supervisor: null,
      failedAtOnce: [],
      warnings: [],
    };
  }
  for (const r of rerun) {
    const taskDir = r.data.output_dir as string;
    if (!existsSync(join(taskDir, 'run.sh'))) {
      throw new NelError('LAUNCH_FAILED', `run.sh not found in ${taskDir}`, {
        hint: 'the invocation directory was moved or deleted; rerun with nel run',
      });
    }
  }
  // The gates of `nel run`, before anything is touched: variables, Docker.
  loadEnvFile(undefined, { cwd: opts.cwd ?? process.cwd(), env });
  checkResumeVariables(
    rerun.map((r) => r.data.output_dir as string),
    env,
  );
  const dockerJobs = rerun.filter((r) => r.data.use_docker !== false).map((r) => r.job_id);
  if (dockerJobs.length > 0) {
    if (!opts.skipDockerCheck) await assertDockerUsable();
    await removeLeftoverContainers(dockerJobs);
  }
  const preflight = await preflightJobRecords(rerun, { env, skip: opts.skipPreflight });
  // Clear state, then record the resume (killed removed), then start.
  const now = opts.now ?? new Date();
  for (const r of rerun) clearStageFiles(r.data.output_dir as string);
  unmarkKilled(
    invDir,
    rerun.map((r) => r.job_id),
  );
  const resumedRecs: JobRecord[] = [];
  for (const r of rerun) {
    const { killed: _k, killed_at: _ka, ...data } = r.data;
    const rec = { ...r, data: { ...data, resumed_at: now.getTime() / 1000 } };
    db.append(rec);
    resumedRecs.push(rec);
  }
  const command = buildResumeCommand(
    invDir,
    rerun.map((r) => ({ jobId: r.job_id, taskDir: r.data.output_dir as string })),
  );
  const started = spawnDetached(['bash', '-c', command], invDir, join(invDir, 'launch.resume.log'), env);
  addToLaunchRecord(invDir, inv, [started.script]);
  try {
    await checkEarlyExit([started], opts.startupCheckMs ?? 1000, resumedRecs);
  } finally {
    started.detach();
  }
  const failedAtOnce = resumedRecs
    .map((r) => ({ r, st: readJobStatus(r) }))
    .filter((x) => x.st.state === 'failed')
    .map((x) => ({ ...named(x.r), ...jobCause(x.r, x.st.exitCode) }));
  return {
    invocationId: inv,
    invocationDir: invDir,
    rerun: rerun.map(named),
    skipped: skipped.map(named),
    supervisor: started.script,
    failedAtOnce: failedAtOnce.map(({ jobId, taskName, cause, hint }) => ({ jobId, taskName, cause, hint })),
    warnings: preflight.warnings,
  };
}
