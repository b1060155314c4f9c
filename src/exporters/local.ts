/**
 * The local exporter: upstream's processed_results JSON and CSV (launcher-spec 9.3), written as upserts
 * keyed by job id, so exporting a job again replaces its entry instead of adding a second one. With
 * copy_artifacts / copy_logs each job's files are copied into `<output_dir>/<inv>/<job_id>/`.
 * `format: jsonl` writes one row per sample across the jobs instead (`<output_dir>/processed_samples.jsonl`,
 * from each job's artifacts/samples.jsonl), also upserted by job id.
 */
import { cpSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseCsvText } from 'csv-parse/sync';
import { stringify as stringifyCsv } from 'csv-stringify/sync';
import { NelError, errorMessage } from '../common/errors.js';
import { writeFileAtomic, mkdirp } from '../common/fs.js';
import { isPlainObject } from '../common/objects.js';
import { readSampleRows, type SampleRow } from '../results/samples.js';
import type { BaseExportConfig, ExportEntry, Exporter, ExportFailure, PreparedJob } from './types.js';

export type { ExportEntry } from './types.js';

export interface LocalSettings {
  output_dir: string;
  format: 'json' | 'csv' | 'jsonl';
  output_filename: string | null;
}
export type LocalExportConfig = BaseExportConfig & LocalSettings;

/** The artifacts `only_required` keeps (upstream's required and optional ones). */
export const REQUIRED_ARTIFACTS = ['results.yml', 'eval_factory_metrics.json', 'omni-info.json'];

export interface ProcessedResultsJson {
  benchmarks: Record<string, { models: Record<string, Omit<ExportEntry, 'task' | 'model'>[]> }>;
  export_timestamp: string;
}

function readJsonFile(path: string): ProcessedResultsJson {
  if (!existsSync(path)) return { benchmarks: {}, export_timestamp: '' };
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new NelError('EXPORT_FAILED', `${path} exists but is not valid JSON`, {
      hint: 'move it away or choose another --output-filename',
    });
  }
  if (!isPlainObject(v) || !isPlainObject(v.benchmarks)) {
    throw new NelError('EXPORT_FAILED', `${path} is not a processed_results file`, {
      hint: 'move it away or choose another --output-filename',
    });
  }
  return v as unknown as ProcessedResultsJson;
}

/** Insert or replace entries (by job id) in a processed_results JSON file. */
export function upsertJson(path: string, entries: ExportEntry[], now = new Date()): void {
  const doc = readJsonFile(path);
  const ids = new Set(entries.map((e) => e.job_id));
  for (const [task, b] of Object.entries(doc.benchmarks)) {
    for (const [model, list] of Object.entries(b.models ?? {})) {
      const kept = list.filter((e) => !ids.has(e.job_id));
      if (kept.length > 0) b.models[model] = kept;
      else delete b.models[model];
    }
    if (Object.keys(b.models ?? {}).length === 0) delete doc.benchmarks[task];
  }
  for (const e of entries) {
    const { task, model, ...entry } = e;
    const bench = (doc.benchmarks[task] ??= { models: {} });
    (bench.models[model] ??= []).push(entry);
  }
  doc.export_timestamp = now.toISOString();
  writeFileAtomic(path, JSON.stringify(doc, null, 2) + '\n');
}

export const CSV_FIXED_COLUMNS = [
  'Model Name',
  'Harness',
  'Task Name',
  'Executor',
  'Container',
  'Invocation ID',
  'Job ID',
  'Results Dir',
] as const;

function formatMetric(v: number): string {
  return Number.isInteger(v) ? v.toFixed(1) : String(v);
}

/** Insert or replace rows (by Job ID) in a processed_results CSV file. */
export function upsertCsv(path: string, entries: ExportEntry[]): void {
  const rows = new Map<string, Record<string, string>>();
  const metricCols = new Set<string>();
  if (existsSync(path)) {
    const [header, ...body] = parseCsvText(readFileSync(path, 'utf8'), {
      relax_column_count: true,
    }) as string[][];
    if (!header || !header.includes('Job ID')) {
      throw new NelError('EXPORT_FAILED', `${path} is not a processed_results CSV (no 'Job ID' column)`, {
        hint: 'move it away or choose another --output-filename',
      });
    }
    for (const h of header) if (!(CSV_FIXED_COLUMNS as readonly string[]).includes(h)) metricCols.add(h);
    for (const cells of body) {
      if (cells.length === 1 && cells[0] === '') continue;
      const r: Record<string, string> = {};
      header.forEach((h, i) => (r[h] = cells[i] ?? ''));
      rows.set(r['Job ID']!, r);
    }
  }
  for (const e of entries) {
    const r: Record<string, string> = {
      'Model Name': e.model,
      Harness: e.harness,
      'Task Name': e.task,
      Executor: e.executor,
      Container: e.container,
      'Invocation ID': e.invocation_id,
      'Job ID': e.job_id,
      'Results Dir': e.results_dir,
    };
    for (const [k, v] of Object.entries(e.scores)) {
      r[k] = formatMetric(v);
      metricCols.add(k);
    }
    rows.delete(e.job_id);
    rows.set(e.job_id, r);
  }
  const header = [...CSV_FIXED_COLUMNS, ...[...metricCols].sort()];
  const records = [header, ...[...rows.values()].map((r) => header.map((h) => r[h] ?? ''))];
  writeFileAtomic(path, stringifyCsv(records));
}

/**
 * Insert or replace rows (by job id) in a per-sample JSONL file: rows of the exported jobs already in
 * the file are dropped, the new ones appended in job order.
 */
export function upsertJsonl(path: string, rows: SampleRow[]): void {
  const ids = new Set(rows.map((r) => r.job_id));
  const kept: string[] = [];
  if (existsSync(path)) {
    const lines = readFileSync(path, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch {
        v = undefined;
      }
      if (!isPlainObject(v) || typeof v.job_id !== 'string') {
        throw new NelError('EXPORT_FAILED', `${path} line ${i + 1} is not a sample row`, {
          hint: 'move it away or choose another --output-filename',
        });
      }
      if (!ids.has(v.job_id)) kept.push(line);
    });
  }
  const text = [...kept, ...rows.map((r) => JSON.stringify(r))].join('\n');
  writeFileAtomic(path, text === '' ? '' : text + '\n');
}

/** The jsonl format: every job's samples in one file at the top of output_dir. */
function exportSampleRows(
  jobs: PreparedJob[],
  cfg: BaseExportConfig & LocalSettings,
  outDir: string,
): { files: string[]; failures: ExportFailure[] } {
  const files: string[] = [];
  const failures: ExportFailure[] = [];
  const rows: SampleRow[] = [];
  for (const job of jobs) {
    const e = job.entry;
    try {
      const mine = readSampleRows(job.artifactsDir, {
        model: e.model,
        task: e.task,
        invocation_id: e.invocation_id,
        job_id: e.job_id,
      });
      files.push(...copyJobFiles(job, cfg, join(outDir, e.invocation_id, e.job_id)));
      rows.push(...mine);
    } catch (err) {
      if (err instanceof NelError) throw err;
      failures.push({ jobId: e.job_id, error: errorMessage(err) });
    }
  }
  if (jobs.length > failures.length) {
    const p = join(outDir, cfg.output_filename ?? 'processed_samples.jsonl');
    mkdirp(outDir);
    upsertJsonl(p, rows);
    files.push(p);
  }
  return { files, failures };
}

/** Copy a job's artifacts (all, or the required ones) and top-level log files into `dest`. */
function copyJobFiles(job: PreparedJob, cfg: BaseExportConfig, dest: string): string[] {
  const files: string[] = [];
  if (cfg.copy_artifacts) {
    const to = join(dest, 'artifacts');
    mkdirp(to);
    const names = cfg.only_required
      ? REQUIRED_ARTIFACTS.filter((n) => existsSync(join(job.artifactsDir, n)))
      : readdirSync(job.artifactsDir);
    for (const n of names) {
      cpSync(join(job.artifactsDir, n), join(to, n), { recursive: true });
      files.push(join(to, n));
    }
  }
  if (cfg.copy_logs) {
    if (!existsSync(job.logsDir)) throw new Error(`no logs directory ${job.logsDir}`);
    const to = join(dest, 'logs');
    mkdirp(to);
    for (const n of readdirSync(job.logsDir)) {
      if (!statSync(join(job.logsDir, n)).isFile()) continue;
      cpSync(join(job.logsDir, n), join(to, n));
      files.push(join(to, n));
    }
  }
  return files;
}

export const localExporter: Exporter<LocalSettings & Record<string, unknown>> = {
  name: 'local',
  defaults: { output_dir: './nemo-evaluator-launcher-results', format: 'json', output_filename: null },
  validate(cfg, where) {
    const bad = (msg: string): NelError =>
      new NelError('CONFIG_INVALID', msg, { hint: `see the ${where} keys in docs` });
    if (cfg.format !== 'json' && cfg.format !== 'csv' && cfg.format !== 'jsonl')
      throw bad(`${where}.format must be json, csv or jsonl, not '${String(cfg.format)}'`);
    if (typeof cfg.output_dir !== 'string' || cfg.output_dir === '')
      throw bad(`${where}.output_dir must be a path`);
    if (cfg.output_filename !== null && typeof cfg.output_filename !== 'string')
      throw bad(`${where}.output_filename must be a file name`);
  },
  exportJobs(jobs, cfg, ctx) {
    const outDir = resolve(ctx.cwd, cfg.output_dir);
    if (cfg.format === 'jsonl') return exportSampleRows(jobs, cfg, outDir);
    const fname = cfg.output_filename ?? `processed_results.${cfg.format}`;
    const write = (path: string, list: ExportEntry[]) =>
      cfg.format === 'json' ? upsertJson(path, list, ctx.now) : upsertCsv(path, list);
    const files: string[] = [];
    const failures: ExportFailure[] = [];
    const done: ExportEntry[] = [];
    for (const job of jobs) {
      const e = job.entry;
      const dir = join(outDir, e.invocation_id, e.job_id);
      try {
        files.push(...copyJobFiles(job, cfg, dir));
        const p = join(dir, fname);
        write(p, [e]);
        files.push(p);
        done.push(e);
      } catch (err) {
        if (err instanceof NelError) throw err;
        failures.push({ jobId: e.job_id, error: errorMessage(err) });
      }
    }
    if (done.length > 1) {
      const p = join(outDir, fname);
      write(p, done);
      files.push(p);
    }
    return { files, failures };
  },
};
