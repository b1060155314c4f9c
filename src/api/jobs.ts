/** Programmatic API for job management: status, kill, logs, resume, info, export, and listing runs. */
import { existsSync } from 'node:fs';
import { NelError } from '../common/errors.js';
import { openExecDb, type InvocationSummary } from '../launcher/exec-db.js';
import { resolveId } from '../launcher/id-resolve.js';
import { getJobStatuses } from '../launcher/job-status.js';
// executors load their kill, logs, resume and info code when called, so `nel status` starts fast
import { DEFAULT_EXECUTOR, executorNames, executorStatus, getExecutor } from '../executors/registry.js';
import type {
  InfoOptions,
  KillOptions,
  KillOutcome,
  ResumeOptions,
  ResumeResult,
  StatusEntry,
  StreamLogsOptions,
} from '../executors/types.js';
import type { ExportOptions, ExportResult } from '../exporters/index.js';
import type { JobRecord } from '../launcher/exec-db.js';
import type { Headline, HeadlineLookup, JobScores } from '../results/scores.js';

export type {
  InfoOptions,
  KillOptions,
  KillOutcome,
  LogLine,
  ResumeOptions,
  ResumeResult,
  StatusEntry,
  StreamLogsOptions,
} from '../executors/types.js';

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

/**
 * The folder on this machine with a job's artifacts/results.yml: its `output_dir`, else the local copy
 * its executor keeps of a job whose files are elsewhere (a cluster reached over ssh), or undefined.
 */
function resultsDirOf(rec: JobRecord | undefined): string | undefined {
  if (!rec) return undefined;
  if (typeof rec.data.output_dir === 'string') return rec.data.output_dir;
  return executorStatus(rec.executor)?.localCopy?.(rec) ?? undefined;
}

/** For each job id, the folder on this machine with its artifacts/results.yml (see resultsDirOf). */
export function jobResultsDirs(jobIds: string[], opts: DbOptions = {}): Map<string, string | undefined> {
  const db = openExecDb(opts);
  return new Map(jobIds.map((id) => [id, resultsDirOf(db.getJob(id))]));
}

/** A status entry of a finished job, with its scores from artifacts/results.yml. */
export type ScoredStatusEntry = StatusEntry & {
  /** Flat `<metric>.<score>` -> value (see src/results/scores.ts); success only. */
  metrics?: Record<string, number>;
  /** The headline score; null when results.yml has none. */
  headline?: Headline | null;
  /** Why results.yml could not be read. */
  scores_error?: string;
};

/**
 * getStatus plus the scores of each successful job. results.yml is read for finished jobs only, and
 * the benchmark registry (for the headline definitions) is loaded only when there is one.
 */
export async function getStatusWithScores(
  ids: string[],
  opts: DbOptions = {},
): Promise<{ statuses: ScoredStatusEntry[]; warnings: string[] }> {
  const { statuses, warnings } = getStatus(ids, opts);
  const success = statuses.filter((s) => s.status === 'success' && s.job_id !== null);
  if (success.length === 0) return { statuses, warnings };
  const db = success.some((s) => typeof s.data.output_dir !== 'string') ? openExecDb(opts) : undefined;
  const finished = success
    .map((s) => ({
      s: s as ScoredStatusEntry,
      dir: typeof s.data.output_dir === 'string' ? s.data.output_dir : resultsDirOf(db?.getJob(s.job_id!)),
    }))
    .filter((x): x is { s: ScoredStatusEntry; dir: string } => x.dir !== undefined);
  if (finished.length === 0) return { statuses, warnings };
  const { loadBuiltinHeadlines, readJobScores, resultsPathOf } = await import('../results/scores.js');
  // the benchmark registry (for the headlines) is loaded only once a job has results to read
  let headlines: HeadlineLookup | undefined;
  for (const { s, dir } of finished) {
    if (!existsSync(resultsPathOf(dir))) continue;
    headlines ??= await loadBuiltinHeadlines();
    const r = await readJobScores(dir, headlines);
    if (r === null) continue;
    if ('error' in r) s.scores_error = r.error;
    else {
      s.metrics = r.metrics;
      s.headline = r.headline;
    }
  }
  return { statuses, warnings };
}

/** One finished job's scores by job id (for `nel info`); jobs without results.yml are left out. */
export async function getJobScores(
  ids: string[],
  opts: DbOptions = {},
): Promise<
  { job_id: string; task: string | undefined; dir: string; scores: JobScores | { error: string } }[]
> {
  const db = openExecDb(opts);
  const { taskNameOf } = await import('../launcher/exec-db.js');
  const { loadBuiltinHeadlines, readJobScores, resultsPathOf } = await import('../results/scores.js');
  let headlines: HeadlineLookup | undefined;
  const out = [];
  for (const id of ids) {
    for (const jobId of resolveId(db, id).jobIds) {
      const rec = db.getJob(jobId);
      const dir = resultsDirOf(rec);
      if (!rec || dir === undefined || !existsSync(resultsPathOf(dir))) continue;
      headlines ??= await loadBuiltinHeadlines();
      const scores = await readJobScores(dir, headlines);
      if (scores) out.push({ job_id: jobId, task: taskNameOf(rec), dir, scores });
    }
  }
  return out;
}

/**
 * The ids grouped by the executor that recorded their jobs, in first-seen order. An id that matches
 * nothing (or several things), or whose jobs were recorded by an executor this build does not have,
 * goes to the default executor, which reports it as it always has.
 */
function idsByExecutor(ids: string[], opts: DbOptions): Map<string, string[]> {
  const db = openExecDb(opts);
  const groups = new Map<string, string[]>();
  for (const id of ids) {
    let name = DEFAULT_EXECUTOR;
    try {
      const first = resolveId(db, id).jobIds[0];
      const rec = first === undefined ? undefined : db.getJob(first);
      if (rec && executorNames().includes(rec.executor)) name = rec.executor;
    } catch {
      /* unknown or ambiguous: reported by the executor */
    }
    groups.set(name, [...(groups.get(name) ?? []), id]);
  }
  return groups;
}

const executorOf = async (id: string, opts: DbOptions) =>
  getExecutor([...idsByExecutor([id], opts).keys()][0]);

export async function killJobOrInvocation(id: string, opts: KillOptions = {}): Promise<KillOutcome[]> {
  return (await executorOf(id, opts)).kill(id, opts);
}

export async function streamLogs(ids: string[], opts: StreamLogsOptions): Promise<void> {
  const groups = [...idsByExecutor(ids, opts)];
  if (groups.length === 0) return (await getExecutor()).streamLogs(ids, opts);
  await Promise.all(groups.map(async ([name, mine]) => (await getExecutor(name)).streamLogs(mine, opts)));
}

export async function resumeInvocation(id: string, opts: ResumeOptions = {}): Promise<ResumeResult> {
  return (await executorOf(id, opts)).resume(id, opts);
}

/** What `nel info` prints: where each job's artifacts and logs are (copies made when asked). */
export async function describeJobs(ids: string[], opts: InfoOptions = {}): Promise<string> {
  const groups = [...idsByExecutor(ids, opts)];
  if (groups.length === 0) return (await getExecutor()).info(ids, opts);
  let out = '';
  for (const [name, mine] of groups) out += await (await getExecutor(name)).info(mine, opts);
  return out;
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

/** What `ls runs` adds per invocation: the model and each job's headline score. */
export interface RunDetails {
  /** target.api_endpoint.model_id of its jobs (several: joined with `,`); `unknown` when unset. */
  model: string;
  jobs: { job_id: string; task: string; headline: { metric: string; score: string; value: number } | null }[];
}

/** The model and headline scores of each run (reads results.yml of the jobs that have one). */
export async function runDetails(
  runs: InvocationSummary[],
  opts: DbOptions = {},
): Promise<Map<string, RunDetails>> {
  const db = openExecDb(opts);
  const { taskNameOf } = await import('../launcher/exec-db.js');
  const { loadBuiltinHeadlines, readJobScores, resultsPathOf } = await import('../results/scores.js');
  let headlines: HeadlineLookup | undefined;
  const out = new Map<string, RunDetails>();
  for (const run of runs) {
    const models = new Set<string>();
    const jobs: RunDetails['jobs'] = [];
    for (const rec of db.jobsOf(run.invocation_id)) {
      const jobId = rec.job_id;
      const api = (rec.config.target as { api_endpoint?: { model_id?: unknown } } | undefined)?.api_endpoint;
      if (typeof api?.model_id === 'string' && api.model_id !== '') models.add(api.model_id);
      const dir = resultsDirOf(rec);
      let headline: RunDetails['jobs'][number]['headline'] = null;
      if (dir !== undefined && existsSync(resultsPathOf(dir))) {
        headlines ??= await loadBuiltinHeadlines();
        const r = await readJobScores(dir, headlines);
        if (r && !('error' in r) && r.headline) {
          const { metric, score, value } = r.headline;
          headline = { metric, score, value };
        }
      }
      jobs.push({ job_id: jobId, task: taskNameOf(rec) ?? 'unknown', headline });
    }
    out.set(run.invocation_id, { model: models.size > 0 ? [...models].join(',') : 'unknown', jobs });
  }
  return out;
}

/** `task=0.7500` per job (`task=-` while it has no score), space-separated. */
function scoresCell(d: RunDetails | undefined): string {
  if (!d || d.jobs.length === 0) return '-';
  return d.jobs.map((j) => `${j.task}=${j.headline ? formatHeadlineValue(j.headline.value) : '-'}`).join(' ');
}

const formatHeadlineValue = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(4));

/** Local ISO time without microseconds, like Python's datetime.fromtimestamp(ts).isoformat(timespec='seconds'). */
export function localIsoSeconds(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/**
 * The `ls runs` output: a space-aligned table, or JSON. With `details` (runDetails), each run also shows
 * its model and headline scores (JSON: `model` and `jobs`).
 */
export function formatRuns(
  runs: InvocationSummary[],
  opts: { json?: boolean; details?: Map<string, RunDetails> } = {},
): string {
  const details = opts.details;
  if (opts.json) {
    return (
      JSON.stringify(
        runs.map((r) => ({
          ...r,
          earliest_job_ts: localIsoSeconds(r.earliest_job_ts),
          ...(details ? (details.get(r.invocation_id) ?? { model: 'unknown', jobs: [] }) : {}),
        })),
        null,
        2,
      ) + '\n'
    );
  }
  if (runs.length === 0) return 'No runs found.\n';
  const headers = ['invocation_id', 'earliest_job_ts', 'num_jobs', 'executor', 'benchmarks'];
  if (details) headers.push('model', 'scores');
  const rows = runs.map((r) => [
    r.invocation_id,
    localIsoSeconds(r.earliest_job_ts),
    String(r.num_jobs),
    r.executor,
    r.benchmarks.length > 0 ? r.benchmarks.join(',') : 'unknown',
    ...(details
      ? [details.get(r.invocation_id)?.model ?? 'unknown', scoresCell(details.get(r.invocation_id))]
      : []),
  ]);
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}
