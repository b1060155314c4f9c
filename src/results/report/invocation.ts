/**
 * `nel report <invocation-or-job>`: (re)build the reports from the artifacts of jobs found in the exec DB.
 * A job id rebuilds that job's report; an invocation id rebuilds each job's report and writes the
 * invocation's report (report.html in the invocation dir), a table of the jobs' scores linking them.
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { NelError } from '../../common/errors.js';
import { writeFileAtomic } from '../../common/fs.js';
import { isPlainObject } from '../../common/objects.js';
import { openExecDb, taskNameOf, type JobRecord } from '../../launcher/exec-db.js';
import { resolveId } from '../../launcher/id-resolve.js';
import { loadBuiltinHeadlines, type HeadlineLookup } from '../scores.js';
import { renderReportPage } from './html.js';
import { hasReportableArtifacts, writeJobReport } from './job.js';
import { jobSamples, readReportJson, type RawPair, type ReportScore } from './model.js';

export interface InvocationJobRow {
  jobId: string;
  task: string;
  model: string | null;
  /** Link to the job's report, relative to the invocation report; null when none could be built. */
  href: string | null;
  reportNote?: string;
  state?: string;
  headline: ReportScore | null;
  /** The job's own (not per-group) scores. */
  scores: ReportScore[];
  samples: number | null;
  notRight: number | null;
}

export interface InvocationReportData {
  kind: 'invocation';
  title: string;
  generatedAt: string;
  invocationId: string;
  jobs: InvocationJobRow[];
  notes: string[];
}

export interface BuiltReports {
  kind: 'invocation' | 'job';
  invocationId: string;
  /** The report that stands for the id: the invocation's, or the one job's. */
  path: string;
  jobs: { jobId: string; path: string | null; problem?: string }[];
}

export interface ReportBuildOptions {
  env?: NodeJS.ProcessEnv;
  dbPath?: string;
  /** Where to write the report of the id (default: the invocation dir's or the job's report.html). */
  output?: string;
  now?: () => Date;
}

/** The request/response pairs of a job without report.json: read from its cache, as the engine does. */
async function pairsFromCache(artifactsDir: string, runConfigSize: number | null): Promise<RawPair[]> {
  const cache = join(artifactsDir, 'cache');
  if (!existsSync(cache)) return [];
  const { collectReportEntries } = await import('../../engine/output/report.js');
  return collectReportEntries(cache, '', runConfigSize).map((e) => ({
    cache_key: e.cache_key,
    endpoint: e.endpoint,
    request: e.display_request,
    response: e.response,
  }));
}

function modelOf(rec: JobRecord): string | null {
  const target = isPlainObject(rec.config.target) ? rec.config.target : {};
  const api = isPlainObject(target.api_endpoint) ? target.api_endpoint : {};
  return typeof api.model_id === 'string' ? api.model_id : null;
}

async function buildOne(
  rec: JobRecord,
  headlines: HeadlineLookup,
  output: string | undefined,
  now: (() => Date) | undefined,
): Promise<{ row: InvocationJobRow; path: string | null; problem?: string }> {
  const task = taskNameOf(rec) ?? rec.job_id;
  const dir = rec.data.output_dir;
  const row: InvocationJobRow = {
    jobId: rec.job_id,
    task,
    model: modelOf(rec),
    href: null,
    headline: null,
    scores: [],
    samples: null,
    notRight: null,
  };
  const artifacts = typeof dir === 'string' ? join(dir, 'artifacts') : null;
  if (!artifacts || !hasReportableArtifacts(artifacts)) {
    const problem = !artifacts
      ? 'no local output dir in the execution database'
      : `no artifacts in ${artifacts} (not started, or remote: nel info --copy-artifacts)`;
    return { row: { ...row, reportNote: 'no artifacts', state: 'no artifacts' }, path: null, problem };
  }
  const pairs = readReportJson(artifacts) ?? (await pairsFromCache(artifacts, 5));
  const { path, data } = writeJobReport(artifacts, {
    jobId: rec.job_id,
    invocationId: rec.invocation_id,
    headlines,
    pairs,
    output,
    now,
  });
  row.model = data.job.model ?? row.model;
  row.headline = data.scores.find((s) => s.headline) ?? null;
  row.scores = data.scores.filter((s) => s.group === null);
  const { samples } = jobSamples(data);
  row.samples = samples.length > 0 ? samples.length : null;
  row.notRight = samples.length > 0 ? samples.filter((s) => s.verdict !== 'right').length : null;
  if (!row.headline) row.state = 'no results.yml';
  return { row, path };
}

/** A relative link from the page at `from` to the file `to`, with forward slashes. */
export function relativeHref(from: string, to: string): string {
  return relative(dirname(from), to).split(sep).map(encodeURIComponent).join('/');
}

/** Build the reports of an invocation or job id (unique prefixes work). */
export async function buildReports(id: string, opts: ReportBuildOptions = {}): Promise<BuiltReports> {
  const output = opts.output === undefined ? undefined : resolve(opts.output);
  if (output !== undefined && !existsSync(dirname(output)))
    throw new NelError('USAGE', `cannot write ${output}: ${dirname(output)} does not exist`, {
      hint: 'create the directory first, or give --output a path in an existing one',
      exitCode: 2,
    });
  const db = openExecDb(opts);
  const resolved = resolveId(db, id);
  const recs = resolved.jobIds.map((j) => db.getJob(j)).filter((r): r is JobRecord => r !== undefined);
  const headlines = await loadBuiltinHeadlines();
  if (resolved.kind === 'job') {
    const built = await buildOne(recs[0]!, headlines, output, opts.now);
    if (!built.path)
      throw new NelError('USAGE', `job ${recs[0]!.job_id} has ${built.problem}`, {
        hint: 'a report is built from a job that has run; see nel status and nel info',
      });
    return {
      kind: 'job',
      invocationId: resolved.invocationId,
      path: built.path,
      jobs: [{ jobId: recs[0]!.job_id, path: built.path }],
    };
  }
  const dirs = recs.map((r) => r.data.output_dir).filter((d): d is string => typeof d === 'string');
  const invocationDir = dirs.length > 0 ? dirname(dirs[0]!) : undefined;
  const path =
    output ?? (invocationDir && existsSync(invocationDir) ? join(invocationDir, 'report.html') : undefined);
  if (!path)
    throw new NelError('USAGE', `invocation ${resolved.invocationId} has no local output dir`, {
      hint: 'give --output FILE, or copy remote results first (nel info --copy-artifacts)',
    });
  const rows: InvocationJobRow[] = [];
  const jobs: BuiltReports['jobs'] = [];
  const notes: string[] = [];
  for (const rec of recs) {
    const built = await buildOne(rec, headlines, undefined, opts.now);
    if (built.path) built.row.href = relativeHref(path, built.path);
    else notes.push(`${rec.job_id}: ${built.problem}`);
    rows.push(built.row);
    jobs.push({ jobId: rec.job_id, path: built.path, ...(built.problem ? { problem: built.problem } : {}) });
  }
  const models = [...new Set(rows.map((r) => r.model).filter(Boolean))];
  const data: InvocationReportData = {
    kind: 'invocation',
    title: `Invocation ${resolved.invocationId}${models.length === 1 ? ` - ${models[0]}` : ''}`,
    generatedAt: (opts.now?.() ?? new Date()).toISOString(),
    invocationId: resolved.invocationId,
    jobs: rows,
    notes,
  };
  writeFileAtomic(path, renderReportPage(data));
  return { kind: 'invocation', invocationId: resolved.invocationId, path, jobs };
}
