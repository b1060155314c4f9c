/**
 * The local exporter: upstream's processed_results JSON and CSV (launcher-spec 9.3), written as upserts
 * keyed by job id, so exporting a job again replaces its entry instead of adding a second one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { NelError } from '../common/errors.js';
import { writeFileAtomic } from '../common/fs.js';
import { isPlainObject } from '../common/objects.js';
import type { Metrics } from './metrics.js';

/** One exported job (the JSON entry, plus the task and model it is filed under). */
export interface ExportEntry {
  task: string;
  model: string;
  invocation_id: string;
  job_id: string;
  harness: string;
  container: string;
  scores: Metrics;
  timestamp: string;
  executor: string;
  results_dir: string;
}

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

function csvCell(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** Parse RFC 4180 CSV text into rows of cells. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

function formatMetric(v: number): string {
  return Number.isInteger(v) ? v.toFixed(1) : String(v);
}

/** Insert or replace rows (by Job ID) in a processed_results CSV file. */
export function upsertCsv(path: string, entries: ExportEntry[]): void {
  const rows = new Map<string, Record<string, string>>();
  const metricCols = new Set<string>();
  if (existsSync(path)) {
    const [header, ...body] = parseCsv(readFileSync(path, 'utf8'));
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
  const lines = [header.map(csvCell).join(',')];
  for (const r of rows.values()) lines.push(header.map((h) => csvCell(r[h] ?? '')).join(','));
  writeFileAtomic(path, lines.join('\n') + '\n');
}
