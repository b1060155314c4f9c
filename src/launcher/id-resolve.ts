/**
 * Resolving user-typed ids against the exec DB: a case-insensitive unique prefix of an invocation id,
 * or `<prefix>.<n>` for a job. Any id containing a dot is a job id.
 */
import { NelError } from '../common/errors.js';
import type { ExecDb } from './exec-db.js';

export interface ResolvedId {
  kind: 'invocation' | 'job';
  invocationId: string;
  /** The job ids: every job of the invocation, or the one job. */
  jobIds: string[];
}

const notFound = (what: string, id: string) =>
  new NelError('JOB_NOT_FOUND', `${what} '${id}' not found in the execution database`, {
    hint: "run 'nel ls runs' to see available invocations",
  });

/** The full invocation id for a prefix; throws NelError when none or several match. */
export function resolveInvocationPrefix(db: ExecDb, prefix: string): string {
  const p = prefix.trim().toLowerCase();
  if (p === '') throw notFound('Invocation', prefix);
  const matches = db.invocationsWithPrefix(p);
  const exact = matches.find((i) => i.toLowerCase() === p);
  if (exact) return exact;
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw notFound('Invocation', prefix);
  const shown =
    matches.slice(0, 10).join(', ') + (matches.length > 10 ? `, ... (${matches.length} in all)` : '');
  throw new NelError('ID_AMBIGUOUS', `Ambiguous invocation ID '${prefix}': matches [${shown}]`, {
    hint: 'type more characters of the id',
  });
}

/** Resolve an invocation id, a job id, or a prefix of either. */
export function resolveId(db: ExecDb, id: string): ResolvedId {
  const dot = id.lastIndexOf('.');
  if (dot < 0) {
    const inv = resolveInvocationPrefix(db, id);
    return { kind: 'invocation', invocationId: inv, jobIds: db.jobIdsOf(inv) };
  }
  if (db.hasJob(id)) {
    const rec = db.getJob(id)!;
    return { kind: 'job', invocationId: rec.invocation_id, jobIds: [id] };
  }
  const prefix = id.slice(0, dot);
  const suffix = id.slice(dot + 1);
  let inv: string;
  try {
    inv = resolveInvocationPrefix(db, prefix);
  } catch (e) {
    if (e instanceof NelError && e.code === 'JOB_NOT_FOUND') throw notFound('Job', id);
    throw e;
  }
  const full = `${inv}.${suffix}`;
  if (!db.hasJob(full)) throw notFound('Job', id);
  return { kind: 'job', invocationId: inv, jobIds: [full] };
}

/** The most recently created invocation, or undefined for an empty DB. */
export function latestInvocation(db: ExecDb): string | undefined {
  let best: { id: string; ts: number } | undefined;
  for (const s of db.invocationTimes()) {
    if (!best || s.earliest_job_ts >= best.ts) best = { id: s.invocation_id, ts: s.earliest_job_ts };
  }
  return best?.id;
}
