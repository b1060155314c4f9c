/**
 * The status reader of Slurm jobs (loaded with `nel status`, so it stays small: no config, planning
 * or launch code).
 *
 * readJobStatus is cheap: a killed record reads killed, and on a cluster whose files are on this
 * machine a job whose stage.exit says 0 reads success; every other job is a claim (pending or
 * running) that reconcile() settles. reconcile() looks at all claimed jobs of one cluster with ONE
 * probe (probe.ts: one local bash or one ssh call, in which one squeue call covers every job id and at
 * most one sacct call covers the ids squeue forgot), so `nel status` costs the same for one job or a
 * hundred.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import type { JobRecord } from '../../launcher/exec-db.js';
import type { Claim, ExecutorStatus, JobCause, JobProgress, JobStatus } from '../types.js';
import { ClusterShell, unreachable, type ClusterAddress } from './host.js';
import { decide, parseProbe, parseStageExit, probeScript, type ProbeTarget } from './probe.js';

/** The name the Slurm executor's jobs carry in the exec DB (`executor`) and in `execution.type`. */
export const SLURM = 'slurm';

/** How the job was submitted: `local` (sbatch on this machine) or `ssh` (on the login node). */
export const SUBMISSION_KEY = 'submission';

/** The cluster a record's job runs on. */
export function addressOf(rec: JobRecord): ClusterAddress | null {
  const host = rec.data.hostname;
  if (typeof host !== 'string' || host === '') return null;
  const user = rec.data.username;
  return {
    hostname: host,
    username: typeof user === 'string' && user !== '' ? user : null,
    local: rec.data[SUBMISSION_KEY] === 'local',
  };
}

/** The task directory on the cluster (upstream's `remote_rundir_path`). */
export const taskDirOf = (rec: JobRecord): string | null =>
  typeof rec.data.remote_rundir_path === 'string' && rec.data.remote_rundir_path !== ''
    ? rec.data.remote_rundir_path
    : null;

/**
 * Where this machine keeps a copy of the files of a job on a cluster reached over ssh: the job's staged
 * task directory (`staged_dir`: the copy nel submitted, so the copy's artifacts/ and logs/ sit beside
 * its run.sub), else `~/.nemo-evaluator/slurm-artifacts/<invocation>/<task dir>`. Null for jobs whose
 * files are on this machine.
 */
export function localCopyDirOf(rec: JobRecord, env: NodeJS.ProcessEnv = process.env): string | null {
  if (rec.data[SUBMISSION_KEY] === 'local' || typeof rec.data.output_dir === 'string') return null;
  const staged = rec.data.staged_dir;
  if (typeof staged === 'string' && staged !== '') return staged;
  const dir = taskDirOf(rec);
  if (!dir) return null;
  return join(env.HOME || homedir(), '.nemo-evaluator', 'slurm-artifacts', rec.invocation_id, basename(dir));
}

/** The local copy of a remote job's task directory, when it holds results.yml. */
function slurmLocalCopy(rec: JobRecord): string | null {
  const dir = localCopyDirOf(rec);
  return dir !== null && existsSync(join(dir, 'artifacts', 'results.yml')) ? dir : null;
}

/** The Slurm ids submitted for a job by nel (first submission, then each resume), oldest first. */
export function slurmIdsOf(rec: JobRecord): string[] {
  const chain = rec.data.slurm_job_ids;
  const ids = Array.isArray(chain) ? chain.map(String) : [];
  const last = rec.data.slurm_job_id;
  if ((typeof last === 'string' || typeof last === 'number') && !ids.includes(String(last)))
    ids.push(String(last));
  return ids.filter((i) => /^\d+(?:[_+]\d+)?$/.test(i));
}

const readText = (p: string): string | null => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return null;
  }
};
const isFile = (p: string): boolean => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
};

function readCount(p: string): number | null {
  const t = readText(p)?.trim();
  return t !== undefined && /^\d+$/.test(t) ? Number(t) : null;
}

/** Progress from the task directory, when it is on this machine. */
function localProgress(taskDir: string): JobProgress {
  const progress = readCount(join(taskDir, 'artifacts', 'progress'));
  const total = readCount(join(taskDir, 'artifacts', 'progress_total'));
  const percent =
    progress !== null && total !== null && total > 0
      ? Math.round((Math.min(progress, total) / total) * 1000) / 10
      : null;
  return { progress, total, percent };
}

function readSlurmJobStatus(rec: JobRecord): JobStatus {
  const addr = addressOf(rec);
  const dir = taskDirOf(rec);
  const local = addr?.local === true && dir !== null;
  const progress = local ? localProgress(dir) : null;
  if (rec.data.killed === true) return { state: 'killed', progress, exitCode: null };
  if (!addr || !dir || slurmIdsOf(rec).length === 0) return { state: 'failed', progress, exitCode: null };
  if (!local) return { state: 'pending', progress: null, exitCode: null };
  const exitCode = parseStageExit(readText(join(dir, 'logs', 'stage.exit')));
  if (exitCode === 0) return { state: 'success', progress, exitCode };
  // Anything else may be a job that Slurm resumes (TIMEOUT with a successor): reconcile decides.
  return { state: isFile(join(dir, 'logs', 'stage.running')) ? 'running' : 'pending', progress, exitCode };
}

const keyOf = (a: ClusterAddress): string =>
  `${a.local ? 'local' : 'ssh'}\u0000${a.username ?? ''}\u0000${a.hostname}`;

/** Write results.yml into the local copy of a job's task directory (best effort: only scores read it). */
function saveCopy(dir: string, yml: string): void {
  try {
    const artifacts = join(dir, 'artifacts');
    mkdirSync(artifacts, { recursive: true });
    const tmp = join(artifacts, `.results.yml.${process.pid}.tmp`);
    writeFileSync(tmp, yml);
    renameSync(tmp, join(artifacts, 'results.yml'));
  } catch {
    /* the status stands without the copy */
  }
}

/** Settle the claims of one cluster with one probe. */
function reconcileCluster(addr: ClusterAddress, claims: Claim[]): void {
  // a job on a cluster elsewhere: results.yml comes along (once) for the copy here that the scores read
  const copies = claims.map((c) => (addr.local ? null : localCopyDirOf(c.rec)));
  const targets: ProbeTarget[] = claims.map((c, i) => ({
    taskDir: taskDirOf(c.rec)!,
    ids: slurmIdsOf(c.rec),
    wantResults: copies[i] !== null && !existsSync(join(copies[i]!, 'artifacts', 'results.yml')),
  }));
  const shell = new ClusterShell(addr, process.env);
  const r = shell.runSync(probeScript(targets), { timeoutMs: 90_000 });
  if (!addr.local && r.code === 255) {
    const e = unreachable(addr, r.stderr);
    for (const c of claims) {
      c.entry.status = 'unknown';
      c.entry.cause = e.message;
      if (e.hint) c.entry.hint = e.hint;
    }
    return;
  }
  const probe = parseProbe(r.stdout, targets.length);
  if (r.code !== 0 && probe.slurmError === null)
    probe.slurmError = (r.stderr.trim().split('\n').pop() ?? '') || `the probe exited with code ${r.code}`;
  claims.forEach((c, i) => {
    const v = decide(targets[i]!, probe.jobs[i]!, probe);
    c.entry.status = v.state;
    c.entry.progress = v.progress;
    c.entry.data = {
      ...c.entry.data,
      ...(v.slurmJobId ? { current_slurm_job_id: v.slurmJobId } : {}),
      ...(v.slurmState ? { slurm_state: v.slurmState } : {}),
      ...(v.nodes ? { slurm_nodes: v.nodes } : {}),
    };
    const yml = probe.jobs[i]!.resultsYml;
    if (v.state === 'success' && yml !== null && copies[i] !== null) saveCopy(copies[i]!, yml);
    if (v.cause && (v.state === 'failed' || v.state === 'unknown')) {
      c.entry.cause = v.cause.cause;
      if (v.cause.hint !== undefined) c.entry.hint = v.cause.hint;
      if (v.cause.log !== undefined) c.entry.log = v.cause.log;
    }
  });
}

/** Settle every claim: one probe per cluster. */
export function reconcileSlurm(claims: Claim[]): void {
  const groups = new Map<string, { addr: ClusterAddress; claims: Claim[] }>();
  for (const c of claims) {
    const addr = addressOf(c.rec);
    if (!addr || !taskDirOf(c.rec)) continue;
    const k = keyOf(addr);
    const g = groups.get(k) ?? { addr, claims: [] };
    g.claims.push(c);
    groups.set(k, g);
  }
  for (const g of groups.values()) reconcileCluster(g.addr, g.claims);
}

function slurmCause(rec: JobRecord, exitCode: number | null): JobCause {
  if (!addressOf(rec) || !taskDirOf(rec) || slurmIdsOf(rec).length === 0)
    return {
      cause: 'the exec DB record has no Slurm job id, cluster or job directory',
      hint: 'the job was never submitted; run it again with nel run',
    };
  const dir = taskDirOf(rec)!;
  return {
    cause: `the job ended${exitCode === null ? '' : ` with exit code ${exitCode}`}`,
    hint: `see ${dir}/logs on ${rec.data.hostname}`,
  };
}

/** The Slurm executor's status reader (registered in ../registry.ts). */
export const slurmStatus: ExecutorStatus = {
  readJobStatus: readSlurmJobStatus,
  reconcile: reconcileSlurm,
  cause: slurmCause,
  localCopy: slurmLocalCopy,
};
