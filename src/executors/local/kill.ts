/**
 * Killing a job or a whole invocation: only what belongs to it. Containers are found by the label
 * `nel.job=<job_id>`, the host-mode engine by logs/stage.pid (checked against its start time), and the
 * supervisor scripts by <inv_dir>/.nel-launch.json (a recorded PID counts only while /proc/<pid>/cmdline
 * is the recorded argv and the process started no later than recorded). Nothing is ever found by
 * pattern-matching over all processes.
 */
import { appendFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { openExecDb, type ExecDb, type JobRecord } from '../../launcher/exec-db.js';
import { resolveId, type ResolvedId } from '../../launcher/id-resolve.js';
import { containersWithLabel, stopAndRemoveContainers } from '../../runtime/docker.js';
import type { KillOptions, KillOutcome, LaunchedScript } from '../types.js';
import { readLaunchRecord } from './procs.js';
import { LOCAL, readLocalJobStatus as readJobStatus } from './status.js';
import { groupAlive, hostEnginePid, isZombieOrGone, supervisorStillRunning } from './procs.js';
import { NelError } from '../../common/errors.js';

export type { KillOptions, KillOutcome } from '../types.js';

// ---- process helpers (procs.ts; re-exported for callers of this module) ----------------------

export { processArgv, processStartMs, groupAlive, supervisorStillRunning, hostEnginePid } from './procs.js';

function signal(target: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(target, sig);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM the groups and pids, wait up to graceMs, SIGKILL what is left, wait for them to go. */
export async function terminate(groups: number[], pids: number[], graceMs: number): Promise<void> {
  for (const g of groups) signal(-g, 'SIGTERM');
  for (const p of pids) if (!signal(-p, 'SIGTERM')) signal(p, 'SIGTERM');
  const alive = () => [...groups.filter(groupAlive), ...pids.filter((p) => !isZombieOrGone(p))].length > 0;
  const deadline = Date.now() + graceMs;
  while (alive() && Date.now() < deadline) await sleep(100);
  if (!alive()) return;
  for (const g of groups) signal(-g, 'SIGKILL');
  for (const p of pids) if (!signal(-p, 'SIGKILL')) signal(p, 'SIGKILL');
  const hard = Date.now() + 3000;
  while (alive() && Date.now() < hard) await sleep(100);
}

// ---- kill ------------------------------------------------------------------------------------

const invocationDirOf = (rec: JobRecord): string | null =>
  typeof rec.data.output_dir === 'string' ? dirname(rec.data.output_dir) : null;

function finishedMessage(rec: JobRecord, state: string): string {
  const suffix =
    state === 'success'
      ? 'job already completed successfully'
      : state === 'failed'
        ? 'job already failed'
        : 'job was already killed';
  return `Could not kill job ${rec.job_id} (container: ${String(rec.data.container || '-')}) - ${suffix}`;
}

/** Record a job as killed: DB record with data.killed, and its id in <inv_dir>/killed_jobs.txt. */
export function markKilled(db: ExecDb, rec: JobRecord, now = Date.now()): void {
  const invDir = invocationDirOf(rec);
  if (invDir) {
    try {
      appendFileSync(join(invDir, 'killed_jobs.txt'), rec.job_id + '\n');
    } catch {
      /* the invocation dir is gone: the DB flag is enough */
    }
  }
  db.append({ ...rec, data: { ...rec.data, killed: true, killed_at: now / 1000 } });
}

/** Supervisors that belong to the target: all of an invocation, or the job's own run.sh (parallel mode). */
function supervisorsFor(resolved: ResolvedId, recs: JobRecord[]): LaunchedScript[] {
  const invDir = recs.map(invocationDirOf).find((d): d is string => d !== null);
  if (!invDir) return [];
  const launched = readLaunchRecord(invDir)?.scripts ?? [];
  const own =
    resolved.kind === 'invocation'
      ? launched
      : launched.filter((s) =>
          recs.some(
            (r) =>
              typeof r.data.output_dir === 'string' &&
              resolve(s.cwd) === resolve(r.data.output_dir) &&
              s.argv.length === 2 &&
              s.argv[0] === 'bash',
          ),
        );
  return own.filter(supervisorStillRunning);
}

/** Stop and remove the containers labelled `nel.job=<one of jobIds>`; returns an error per job, if any. */
async function removeContainers(jobIds: string[]): Promise<Map<string, string>> {
  const errors = new Map<string, string>();
  if (jobIds.length === 0) return errors;
  const wanted = new Set(jobIds);
  const found = await containersWithLabel('nel.job');
  if (found.error) {
    for (const j of jobIds) errors.set(j, found.error);
    return errors;
  }
  const ours = found.containers.filter((c) => wanted.has(c.value));
  const r = await stopAndRemoveContainers(
    ours.map((c) => c.id),
    { graceSeconds: 5 },
  );
  if (!r.ok && r.error) for (const c of ours) errors.set(c.value, r.error);
  return errors;
}

/**
 * Kill a job or every job of an invocation. Finished jobs are reported (status "error", alreadyFinished)
 * and left alone. Throws only for an ambiguous id.
 */
export async function killJobOrInvocation(id: string, opts: KillOptions = {}): Promise<KillOutcome[]> {
  const db = openExecDb({ dbPath: opts.dbPath, env: opts.env });
  let resolved: ResolvedId;
  try {
    resolved = resolveId(db, id);
  } catch (e) {
    if (e instanceof NelError && e.code === 'JOB_NOT_FOUND') {
      const isJob = id.includes('.');
      return [
        {
          invocation: isJob ? null : id,
          job_id: isJob ? id : null,
          status: 'not_found',
          data: { error: e.message },
        },
      ];
    }
    throw e;
  }
  const results: KillOutcome[] = [];
  const targets: JobRecord[] = [];
  const stateBefore = new Map<string, string>();
  for (const jobId of resolved.jobIds) {
    const rec = db.getJob(jobId);
    if (!rec) continue;
    if (rec.executor !== LOCAL) {
      results.push({
        invocation: rec.invocation_id,
        job_id: jobId,
        status: 'error',
        data: { error: `Job ${jobId} is not a local job` },
      });
      continue;
    }
    const st = readJobStatus(rec);
    if (st.state === 'success' || st.state === 'failed' || st.state === 'killed') {
      results.push({
        invocation: rec.invocation_id,
        job_id: jobId,
        status: 'error',
        data: { error: finishedMessage(rec, st.state) },
        alreadyFinished: true,
      });
    } else {
      targets.push(rec);
      stateBefore.set(jobId, st.state);
    }
  }
  // Finished Docker jobs whose containers were left behind (their script died first): removed now.
  const finishedDocker = results
    .filter((r) => r.alreadyFinished && r.job_id && db.getJob(r.job_id)?.data.use_docker !== false)
    .map((r) => r.job_id!);
  if (finishedDocker.length > 0) await removeContainers(finishedDocker);
  if (targets.length === 0) return results;

  // 1. Mark first, so that a sequential script skips these tasks from now on.
  const now = Date.now();
  for (const rec of targets) markKilled(db, rec, now);

  // 2. Stop the supervisors and host-mode engines, and the containers by label.
  const groups = supervisorsFor(resolved, targets).map((s) => s.pid);
  const pids = targets
    .filter((r) => typeof r.data.output_dir === 'string')
    .map((r) => hostEnginePid(r.data.output_dir as string))
    .filter((p): p is number => p !== null);
  const dockerJobs = targets.filter((r) => r.data.use_docker !== false).map((r) => r.job_id);
  const [, dockerErrors] = await Promise.all([
    terminate(groups, pids, opts.graceMs ?? 5000),
    removeContainers(dockerJobs),
  ]);
  // A `docker run` that was starting while we looked may have created its container since: look again.
  if (dockerJobs.length > 0) await removeContainers(dockerJobs.filter((j) => !dockerErrors.has(j)));

  for (const rec of targets) {
    const err = dockerErrors.get(rec.job_id);
    // Docker trouble only matters when the job was running (a pending job had no container yet).
    const hadContainerTrouble = err !== undefined && stateBefore.get(rec.job_id) === 'running';
    results.push({
      invocation: rec.invocation_id,
      job_id: rec.job_id,
      status: 'killed',
      data: {
        result: hadContainerTrouble
          ? `Marked job killed; its container could not be checked: ${err}`
          : 'Successfully killed job',
      },
    });
  }
  const order = new Map(resolved.jobIds.map((j, i) => [j, i]));
  return results.sort((a, b) => (order.get(a.job_id ?? '') ?? 0) - (order.get(b.job_id ?? '') ?? 0));
}
