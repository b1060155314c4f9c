/** Programmatic API for job management: status, kill, logs, resume, export, and listing runs. */
import { NelError } from '../common/errors.js';
import { openExecDb, type InvocationSummary } from '../launcher/exec-db.js';
import { getJobStatuses } from '../launcher/job-status.js';
// kill, logs, resume and export are loaded when called, so `nel status` and `nel ls runs` start fast
import type { KillOptions, KillOutcome } from '../executors/local/kill.js';
import type { StreamLogsOptions } from '../executors/local/logs.js';
import type { ResumeOptions, ResumeResult } from '../executors/local/resume.js';
import type { ExportOptions, ExportResult } from '../exporters/index.js';
import type { StatusEntry } from '../executors/types.js';

export interface DbOptions {
  env?: NodeJS.ProcessEnv;
  dbPath?: string;
}

/** Status entries for ids (no ids: the most recent invocation), plus warnings about the DB. */
export function getStatus(
  ids: string[],
  opts: DbOptions = {},
): { statuses: StatusEntry[]; warnings: string[] } {
  const db = openExecDb(opts);
  return { statuses: getJobStatuses(db, ids), warnings: [...db.warnings] };
}

export async function killJobOrInvocation(id: string, opts: KillOptions = {}): Promise<KillOutcome[]> {
  return (await import('../executors/local/kill.js')).killJobOrInvocation(id, opts);
}

export async function streamLogs(ids: string[], opts: StreamLogsOptions): Promise<void> {
  return (await import('../executors/local/logs.js')).streamLogs(ids, opts);
}

export async function resumeInvocation(id: string, opts: ResumeOptions = {}): Promise<ResumeResult> {
  return (await import('../executors/local/resume.js')).resumeInvocation(id, opts);
}

export async function exportResults(ids: string[], opts: ExportOptions = {}): Promise<ExportResult> {
  return (await import('../exporters/index.js')).exportResults(ids, opts);
}

// ---- ls runs ---------------------------------------------------------------------------------

export interface ListRunsOptions extends DbOptions {
  limit?: number;
  /** `Nd`, `Nh`, `YYYY-MM-DD` or an ISO datetime. */
  since?: string;
  executor?: string;
  now?: Date;
}

/** Parse a --since value into a Date; NelError (exit code 2) when it is none of the accepted forms. */
export function parseSince(value: string, now: Date = new Date()): Date {
  const v = value.trim();
  const rel = /^(\d+)\s*([dh])$/i.exec(v);
  if (rel) {
    const n = Number(rel[1]);
    const ms = rel[2]!.toLowerCase() === 'd' ? n * 86_400_000 : n * 3_600_000;
    return new Date(now.getTime() - ms);
  }
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  if (day) {
    const d = new Date(Number(day[1]), Number(day[2]) - 1, Number(day[3]));
    if (d.getMonth() === Number(day[2]) - 1) return d;
  } else if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(v)) {
    const d = new Date(v.replace(' ', 'T'));
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw new NelError('USAGE', `invalid --since value '${value}'`, {
    hint: 'use Nd, Nh, YYYY-MM-DD or an ISO datetime, e.g. --since 2d or --since 2026-05-01',
    exitCode: 2,
  });
}

/** Invocations newest first, filtered by --since/--executor, at most --limit. */
export function listRuns(opts: ListRunsOptions = {}): { runs: InvocationSummary[]; warnings: string[] } {
  if (opts.limit !== undefined && (!Number.isInteger(opts.limit) || opts.limit < 0)) {
    throw new NelError('USAGE', `invalid --limit '${opts.limit}'`, {
      hint: 'use a whole number',
      exitCode: 2,
    });
  }
  const since = opts.since !== undefined ? parseSince(opts.since, opts.now) : undefined;
  const db = openExecDb(opts);
  const sinceMs = since?.getTime();
  const times = db.newestInvocations(
    (r) =>
      (sinceMs === undefined || r.earliest_job_ts * 1000 >= sinceMs) &&
      (!opts.executor || r.executor === opts.executor),
    opts.limit,
  );
  const runs = times.map((t) => db.summaryOf(t.invocation_id)!);
  return { runs, warnings: [...db.warnings] };
}

/** Local ISO time without microseconds, like Python's datetime.fromtimestamp(ts).isoformat(timespec='seconds'). */
export function localIsoSeconds(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** The `ls runs` output: a space-aligned table, or JSON. */
export function formatRuns(runs: InvocationSummary[], opts: { json?: boolean } = {}): string {
  if (opts.json) {
    return (
      JSON.stringify(
        runs.map((r) => ({ ...r, earliest_job_ts: localIsoSeconds(r.earliest_job_ts) })),
        null,
        2,
      ) + '\n'
    );
  }
  if (runs.length === 0) return 'No runs found.\n';
  const headers = ['invocation_id', 'earliest_job_ts', 'num_jobs', 'executor', 'benchmarks'];
  const rows = runs.map((r) => [
    r.invocation_id,
    localIsoSeconds(r.earliest_job_ts),
    String(r.num_jobs),
    r.executor,
    r.benchmarks.length > 0 ? r.benchmarks.join(',') : 'unknown',
  ]);
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}
