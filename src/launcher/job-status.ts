/**
 * Job status for the commands: each job record is read by the status reader of the executor that
 * recorded it (executors/registry.ts); a record of an executor this build does not have reads `unknown`.
 */
import type { JobRecord, ExecDb } from './exec-db.js';
import { resolveId, latestInvocation } from './id-resolve.js';
import { NelError, errorMessage } from '../common/errors.js';
import { executorStatus } from '../executors/registry.js';
import type { Claim, JobStatus, StatusEntry } from '../executors/types.js';

/** The state of a job, read by its executor. */
export function readJobStatus(rec: JobRecord | undefined): JobStatus {
  const reader = rec ? executorStatus(rec.executor) : undefined;
  if (!rec || !reader) return { state: 'unknown', progress: null, exitCode: null };
  return reader.readJobStatus(rec);
}

/** Add the cause and hint of a FAILED entry, read from the job's logs. */
export function addCause(rec: JobRecord, entry: StatusEntry, exitCode: number | null): StatusEntry {
  if (entry.status !== 'failed' || entry.cause !== undefined) return entry;
  const reader = executorStatus(rec.executor);
  if (!reader) return entry;
  try {
    const c = reader.cause(rec, exitCode);
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
  const claims: Claim[] = [];
  const entryOf = (rec: JobRecord): StatusEntry => {
    const entry = statusEntryFor(rec);
    if (entry.status === 'running' || entry.status === 'pending') claims.push({ rec, entry });
    return entry;
  };
  const out = collectEntries(db, ids, entryOf);
  if (claims.length > 0) {
    // jobs whose files say RUNNING/PENDING: are their processes still there? (each executor its own)
    const byExecutor = new Map<string, Claim[]>();
    for (const c of claims) byExecutor.set(c.rec.executor, [...(byExecutor.get(c.rec.executor) ?? []), c]);
    for (const [name, mine] of byExecutor) executorStatus(name)?.reconcile(mine);
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
