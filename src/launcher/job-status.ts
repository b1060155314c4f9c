/**
 * Job state as a pure function of the job's files and its exec DB record (launcher-spec 7.2):
 * killed flag, stage.exit (interrupted marker -> killed), stage.running, else pending. Unlike upstream,
 * a killed job whose directories were never created reads killed (not pending).
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { JobRecord, ExecDb } from './exec-db.js';
import { resolveId, latestInvocation } from './id-resolve.js';
import { NelError, errorMessage } from '../common/errors.js';
import type { JobProgress, JobStatus, StatusEntry } from '../executors/types.js';
import { jobCause, LOST_FILE } from '../executors/local/cause.js';
import { reconcileLiveness } from '../executors/local/liveness.js';

const readText = (p: string): string | null => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return null;
  }
};
const mtimeMs = (p: string): number | null => {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return null;
  }
};
const isDir = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

function readIntFile(p: string): number | null {
  const t = readText(p);
  if (t === null) return null;
  const n = Number(t.trim());
  return t.trim() !== '' && Number.isInteger(n) && n >= 0 ? n : null;
}

/** Progress from artifacts/progress and artifacts/progress_total. */
export function readJobProgress(taskDir: string): JobProgress {
  const progress = readIntFile(join(taskDir, 'artifacts', 'progress'));
  const total = readIntFile(join(taskDir, 'artifacts', 'progress_total'));
  const percent =
    progress !== null && total !== null && total > 0
      ? Math.round((Math.min(progress, total) / total) * 1000) / 10
      : null;
  return { progress, total, percent };
}

/** Parse `<UTC ts> <code>`: split on the last space. Null when malformed. */
export function parseStageExit(text: string): number | null {
  const t = text.trim();
  const sp = t.lastIndexOf(' ');
  if (sp < 0) return null;
  const code = t.slice(sp + 1);
  return /^-?\d+$/.test(code) ? Number(code) : null;
}

/**
 * The state of a job. `killed` in the DB wins, unless the task was started again after the kill
 * (a rerun by hand writes a newer stage.pre-start).
 */
export function readJobStatus(rec: JobRecord | undefined): JobStatus {
  if (!rec || rec.executor !== 'local') return { state: 'unknown', progress: null, exitCode: null };
  const taskDir = rec.data.output_dir;
  const hasDir = typeof taskDir === 'string' && isDir(taskDir);
  const logs = hasDir ? join(taskDir, 'logs') : '';
  const killed = rec.data.killed === true && !(hasDir && restartedAfterKill(logs, rec));
  if (!hasDir) return { state: killed ? 'killed' : 'pending', progress: null, exitCode: null };
  const progress = readJobProgress(taskDir);
  if (!isDir(logs)) return { state: killed ? 'killed' : 'pending', progress, exitCode: null };
  const exitText = readText(join(logs, 'stage.exit'));
  const exitCode = exitText === null ? null : parseStageExit(exitText);
  if (killed) return { state: 'killed', progress, exitCode };
  if (exitText === null && readText(join(logs, LOST_FILE)) !== null)
    return { state: 'failed', progress, exitCode: null };
  if (exitText !== null) {
    if (exitCode === null) return { state: 'failed', progress, exitCode };
    if (readText(join(taskDir, 'artifacts', '.nemo_evaluator_interrupted')) !== null)
      return { state: 'killed', progress, exitCode };
    return { state: exitCode === 0 ? 'success' : 'failed', progress, exitCode };
  }
  if (readText(join(logs, 'stage.running')) !== null) return { state: 'running', progress, exitCode };
  return { state: 'pending', progress, exitCode };
}

function restartedAfterKill(logs: string, rec: JobRecord): boolean {
  const killedAt = rec.data.killed_at;
  if (typeof killedAt !== 'number') return false;
  const started = mtimeMs(join(logs, 'stage.pre-start'));
  return started !== null && started > killedAt * 1000 + 1000;
}

/** Add the cause and hint of a FAILED entry, read from the job's logs. */
export function addCause(rec: JobRecord, entry: StatusEntry, exitCode: number | null): StatusEntry {
  if (entry.status !== 'failed' || entry.cause !== undefined) return entry;
  try {
    const c = jobCause(rec, exitCode);
    entry.cause = c.cause;
    if (c.hint !== undefined) entry.hint = c.hint;
    if (c.log !== undefined) entry.log = c.log;
  } catch {
    /* a cause is a courtesy: never fail the status for it */
  }
  return entry;
}

/** One `status --json` entry for a job record (FAILED ones with their cause). */
export function statusEntryFor(rec: JobRecord): StatusEntry {
  try {
    const st = readJobStatus(rec);
    const entry: StatusEntry = {
      invocation: rec.invocation_id,
      job_id: rec.job_id,
      status: st.state,
      progress: st.progress ?? 'unknown',
      data: rec.data,
    };
    return addCause(rec, entry, st.exitCode);
  } catch (e) {
    return {
      invocation: rec.invocation_id,
      job_id: rec.job_id,
      status: 'error',
      data: { ...rec.data, error: errorMessage(e) },
    };
  }
}

/**
 * Status entries for ids (invocations, jobs or prefixes); no ids -> the most recent invocation.
 * Unknown ids give `not_found` entries; an ambiguous prefix throws.
 */
export function getJobStatuses(db: ExecDb, ids: string[]): StatusEntry[] {
  const claims: { rec: JobRecord; entry: StatusEntry }[] = [];
  const entryOf = (rec: JobRecord): StatusEntry => {
    const entry = statusEntryFor(rec);
    if (entry.status === 'running' || entry.status === 'pending') claims.push({ rec, entry });
    return entry;
  };
  const out = collectEntries(db, ids, entryOf);
  if (claims.length > 0) {
    // jobs whose files say RUNNING/PENDING: are their processes still there?
    reconcileLiveness(claims);
    for (const c of claims) addCause(c.rec, c.entry, null);
  }
  return out;
}

function collectEntries(
  db: ExecDb,
  ids: string[],
  statusEntryFor: (rec: JobRecord) => StatusEntry,
): StatusEntry[] {
  if (ids.length === 0) {
    const inv = latestInvocation(db);
    return inv ? db.jobsOf(inv).map(statusEntryFor) : [];
  }
  const out: StatusEntry[] = [];
  for (const id of ids) {
    try {
      const r = resolveId(db, id);
      for (const j of r.jobIds) {
        const rec = db.getJob(j);
        if (rec) out.push(statusEntryFor(rec));
      }
    } catch (e) {
      if (e instanceof NelError && e.code === 'JOB_NOT_FOUND') {
        const isJob = id.includes('.');
        out.push({
          invocation: isJob ? null : id,
          job_id: isJob ? id : null,
          status: 'not_found',
          data: {},
        });
      } else throw e;
    }
  }
  return out;
}
