/**
 * `nel export`: find the jobs (exec DB, or --job-dirs rebuilt from artifacts/metadata.yaml), prepare each
 * job's data once from its artifacts, and hand them to the exporter `--dest` names (registry.ts). Every
 * failed job is reported.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { NelError, errorMessage } from '../common/errors.js';
import { isPlainObject, getPath, setPath, type Obj } from '../common/objects.js';
import { parseYaml, readYamlFile } from '../common/yaml.js';
import { openExecDb, taskNameOf, type JobRecord } from '../launcher/exec-db.js';
import { resolveId } from '../launcher/id-resolve.js';
import { localExporter, type LocalExportConfig } from './local.js';
import { extractAccuracyMetrics, filterMetrics } from './metrics.js';
import { getExporter } from './registry.js';
import type { BaseExportConfig, ExportEntry, Exporter, ExportFailure, PreparedJob } from './types.js';
import { DEFAULT_EXECUTOR, executorNames, getExecutor } from '../executors/registry.js';

export type { LocalExportConfig } from './local.js';

export interface ExportOptions {
  dest?: string;
  format?: string;
  outputDir?: string;
  outputFilename?: string;
  /** A YAML file: its `export.<dest>` section, or the whole file when it has no `export` key. */
  configFile?: string;
  /** `export.<dest>.key=value` (or `~export.<dest>.key` to delete). */
  overrides?: string[];
  jobDirs?: string[];
  logMetrics?: string[];
  copyLogs?: boolean;
  copyArtifacts?: boolean;
  onlyRequired?: boolean;
  env?: NodeJS.ProcessEnv;
  dbPath?: string;
  cwd?: string;
  now?: Date;
}

export interface ExportResult {
  success: boolean;
  metadata: { successful_jobs: number; failed_jobs: number; skipped_jobs: number };
  failures: ExportFailure[];
  /** Files written. */
  files: string[];
}

const BASE_DEFAULTS: BaseExportConfig = {
  job_dirs: [],
  copy_logs: false,
  copy_artifacts: true,
  only_required: true,
  log_metrics: [],
};
const DEPRECATED: Record<string, keyof BaseExportConfig> = {
  log_logs: 'copy_logs',
  log_artifacts: 'copy_artifacts',
};

/** The `export.<dest>` section: --config, then flags, then -o overrides. */
function rawExportSection(dest: string, opts: ExportOptions): Obj {
  let section: Obj = {};
  if (opts.configFile) {
    const doc = readYamlFile(opts.configFile);
    if (isPlainObject(doc) && 'export' in doc) {
      const s = getPath(doc, ['export', dest]);
      if (!isPlainObject(s)) {
        throw new NelError('CONFIG_INVALID', `${opts.configFile} has no export.${dest} section`, {
          hint: `add an export.${dest} block, or pass a file that holds only the exporter's keys`,
        });
      }
      section = { ...s };
    } else if (isPlainObject(doc)) section = { ...doc };
    else if (doc !== null)
      throw new NelError('CONFIG_INVALID', `${opts.configFile} must hold a mapping`, {
        hint: `put the export.${dest} keys at the top of the file`,
      });
  }
  const flags: Obj = {};
  if (opts.format !== undefined) flags.format = opts.format;
  if (opts.outputDir !== undefined) flags.output_dir = opts.outputDir;
  if (opts.outputFilename !== undefined) flags.output_filename = opts.outputFilename;
  if (opts.jobDirs && opts.jobDirs.length > 0) flags.job_dirs = opts.jobDirs;
  if (opts.logMetrics && opts.logMetrics.length > 0) flags.log_metrics = opts.logMetrics;
  if (opts.copyLogs !== undefined) flags.copy_logs = opts.copyLogs;
  if (opts.copyArtifacts !== undefined) flags.copy_artifacts = opts.copyArtifacts;
  if (opts.onlyRequired !== undefined) flags.only_required = opts.onlyRequired;
  const wrapper: Obj = { export: { [dest]: { ...section, ...flags } } };
  for (const o of opts.overrides ?? []) {
    const del = o.startsWith('~');
    const body = del ? o.slice(1) : o;
    const eq = body.indexOf('=');
    const key = eq < 0 ? body : body.slice(0, eq);
    if (!key.startsWith(`export.${dest}.`)) {
      throw new NelError('CONFIG_OVERRIDE', `override '${o}' must start with export.${dest}.`, {
        hint: `e.g. -o export.${dest}.format=csv`,
      });
    }
    const path = key.split('.');
    if (del) {
      const parent = getPath(wrapper, path.slice(0, -1));
      if (isPlainObject(parent)) delete parent[path[path.length - 1]!];
    } else {
      if (eq < 0)
        throw new NelError('CONFIG_OVERRIDE', `override '${o}' has no '='`, { hint: 'use key=value' });
      setPath(wrapper, path, parseYaml(body.slice(eq + 1), `override ${key}`));
    }
  }
  return getPath(wrapper, ['export', dest]) as Obj;
}

/** Merge --config, flags and -o overrides into a validated config of `exporter`. */
export function buildExportConfig<C extends Obj>(
  exporter: Exporter<C>,
  opts: ExportOptions,
): BaseExportConfig & C {
  const dest = exporter.name;
  const where = `export.${dest}`;
  const defaults: Obj = { ...BASE_DEFAULTS, ...exporter.defaults };
  const badConfig = (msg: string): NelError =>
    new NelError('CONFIG_INVALID', msg, { hint: `valid keys: ${Object.keys(defaults).join(', ')}` });
  const cfg: Obj = { ...defaults };
  for (const [k, v] of Object.entries(rawExportSection(dest, opts))) {
    const key = DEPRECATED[k] ?? k;
    if (!(key in defaults)) throw badConfig(`unknown ${where} key '${k}'`);
    cfg[key] = v;
  }
  for (const k of ['job_dirs', 'log_metrics'] as const) {
    if (typeof cfg[k] === 'string') cfg[k] = [cfg[k]];
    if (!Array.isArray(cfg[k]) || !(cfg[k] as unknown[]).every((x) => typeof x === 'string'))
      throw badConfig(`${where}.${k} must be a list of strings`);
  }
  for (const k of ['copy_logs', 'copy_artifacts', 'only_required'] as const) {
    if (typeof cfg[k] !== 'boolean') throw badConfig(`${where}.${k} must be true or false`);
  }
  const typed = cfg as BaseExportConfig & C;
  exporter.validate(typed, where);
  return typed;
}

/** The local exporter's config (see buildExportConfig). */
export function buildLocalExportConfig(opts: ExportOptions): LocalExportConfig {
  return buildExportConfig(localExporter, { ...opts, dest: 'local' });
}

/** Rebuild the jobs of an invocation from a directory tree (artifacts/metadata.yaml of each task dir). */
export function jobsFromDirs(id: string, jobDirs: string[]): JobRecord[] {
  const inv = id.includes('.') ? id.slice(0, id.lastIndexOf('.')) : id;
  const matches: string[] = [];
  for (const d of jobDirs) {
    let names: string[] = [];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names)
      if (n.includes(inv) && statSync(join(d, n)).isDirectory()) matches.push(resolve(d, n));
  }
  if (matches.length === 0) return [];
  if (matches.length > 1) {
    throw new NelError('ID_AMBIGUOUS', `several directories match '${inv}': ${matches.join(', ')}`, {
      hint: 'pass a longer id or a narrower --job-dirs',
    });
  }
  const invDir = matches[0]!;
  const fullInv = basename(invDir).replace(/^\d{8}_\d{6}-/, '');
  const jobs: JobRecord[] = [];
  for (const sub of readdirSync(invDir).sort()) {
    const taskDir = join(invDir, sub);
    const meta = join(taskDir, 'artifacts', 'metadata.yaml');
    if (!existsSync(meta)) continue;
    const m = readYamlFile(meta);
    const config =
      isPlainObject(m) && isPlainObject(m.launcher_resolved_config) ? m.launcher_resolved_config : {};
    const tasks = getPath(config, ['evaluation', 'tasks']);
    let index = /\.(\d+)$/.exec(sub)?.[1];
    if (index === undefined && Array.isArray(tasks)) {
      const i = tasks.findIndex((t) => isPlainObject(t) && t.name === sub);
      if (i >= 0) index = String(i);
    }
    if (index === undefined) continue;
    const jobId = `${fullInv}.${index}`;
    if (id.includes('.') && !jobId.startsWith(inv)) continue;
    jobs.push({
      invocation_id: fullInv,
      job_id: jobId,
      timestamp: statSync(taskDir).mtimeMs / 1000,
      // The executor the job's saved config names (its directory layout is that executor's).
      executor:
        typeof getPath(config, ['execution', 'type']) === 'string'
          ? (getPath(config, ['execution', 'type']) as string)
          : DEFAULT_EXECUTOR,
      data: { output_dir: taskDir, container: '', eval_image: '' },
      config,
    });
  }
  if (id.includes('.')) {
    const suffix = id.slice(id.lastIndexOf('.') + 1);
    return jobs.filter((j) => j.job_id.endsWith(`.${suffix}`));
  }
  return jobs;
}

/** The export entry of one job, read from its artifacts. Throws with a one-line reason. */
export function buildExportEntry(rec: JobRecord, logMetrics: string[]): ExportEntry {
  const taskDir = rec.data.output_dir;
  if (typeof taskDir !== 'string') throw new Error('the job has no output_dir');
  const artifacts = join(taskDir, 'artifacts');
  const resultsPath = join(artifacts, 'results.yml');
  if (!existsSync(resultsPath)) throw new Error(`no results.yml in ${artifacts} (did the job succeed?)`);
  const scores = filterMetrics(extractAccuracyMetrics(readYamlFile(resultsPath), resultsPath), logMetrics);
  const runConfigPath = join(artifacts, 'run_config.yml');
  const runConfig = existsSync(runConfigPath) ? readYamlFile(runConfigPath) : {};
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    task: str(getPath(runConfig, 'config.type')) ?? taskNameOf(rec) ?? 'unknown',
    model:
      str(getPath(runConfig, 'target.api_endpoint.model_id')) ??
      str(getPath(rec.config, 'target.api_endpoint.model_id')) ??
      'unknown',
    invocation_id: rec.invocation_id,
    job_id: rec.job_id,
    harness: str(getPath(runConfig, 'framework_name')) ?? 'unknown',
    container: str(rec.data.eval_image) ?? '',
    scores,
    timestamp: new Date(rec.timestamp * 1000).toISOString(),
    executor: rec.executor,
    results_dir: taskDir,
  };
}

function findJobs(
  ids: string[],
  cfg: BaseExportConfig,
  opts: ExportOptions,
): { jobs: JobRecord[]; failures: ExportFailure[] } {
  const db = openExecDb({ dbPath: opts.dbPath, env: opts.env });
  const jobs: JobRecord[] = [];
  const failures: ExportFailure[] = [];
  const seen = new Set<string>();
  for (const id of ids) {
    let recs: JobRecord[] = [];
    try {
      recs = resolveId(db, id)
        .jobIds.map((j) => db.getJob(j))
        .filter((r): r is JobRecord => !!r);
    } catch (e) {
      if (!(e instanceof NelError && e.code === 'JOB_NOT_FOUND')) throw e;
      recs = cfg.job_dirs.length > 0 ? jobsFromDirs(id, cfg.job_dirs) : [];
      if (recs.length === 0)
        failures.push({
          jobId: id,
          error: `${id} not found in the exec DB${cfg.job_dirs.length ? ' or --job-dirs' : ''}`,
        });
    }
    for (const r of recs) {
      if (seen.has(r.job_id)) continue;
      seen.add(r.job_id);
      jobs.push(r);
    }
  }
  return { jobs, failures };
}

/**
 * Jobs whose files are not on this machine (no `output_dir` in the record): their executor copies the
 * artifacts here (Executor.fetchArtifacts) and the job is exported from that copy. Returns the records
 * to export (with `output_dir` pointing at the copy) and the jobs that could not be fetched.
 */
async function withLocalArtifacts(
  jobs: JobRecord[],
  env: NodeJS.ProcessEnv | undefined,
): Promise<{ jobs: JobRecord[]; failures: ExportFailure[] }> {
  const byExecutor = new Map<string, JobRecord[]>();
  for (const r of jobs)
    if (typeof r.data.output_dir !== 'string' && executorNames().includes(r.executor))
      byExecutor.set(r.executor, [...(byExecutor.get(r.executor) ?? []), r]);
  if (byExecutor.size === 0) return { jobs, failures: [] };
  const dirs = new Map<string, string>();
  const failures: ExportFailure[] = [];
  for (const [name, recs] of byExecutor) {
    const ex = await getExecutor(name);
    if (!ex.fetchArtifacts) continue;
    for (const [jobId, got] of await ex.fetchArtifacts(recs, { env })) {
      if ('dir' in got) dirs.set(jobId, got.dir);
      else failures.push({ jobId, error: got.error });
    }
  }
  const failed = new Set(failures.map((f) => f.jobId));
  return {
    jobs: jobs
      .filter((r) => !failed.has(r.job_id))
      .map((r) => (dirs.has(r.job_id) ? { ...r, data: { ...r.data, output_dir: dirs.get(r.job_id)! } } : r)),
    failures,
  };
}

/** Export the results of jobs/invocations. `success` is false when any job failed. */
export async function exportResults(ids: string[], opts: ExportOptions = {}): Promise<ExportResult> {
  const exporter = getExporter(opts.dest ?? 'local');
  if (ids.length === 0)
    throw new NelError('USAGE', 'at least one id is required', {
      hint: `nel export <id> --dest ${exporter.name}`,
    });
  const cfg = buildExportConfig(exporter, opts);
  const found = findJobs(ids, cfg, opts);
  const fetched = await withLocalArtifacts(found.jobs, opts.env);
  const jobs = fetched.jobs;
  const failures = [...found.failures, ...fetched.failures];
  const prepared: PreparedJob[] = [];
  for (const rec of jobs) {
    try {
      const entry = buildExportEntry(rec, cfg.log_metrics);
      prepared.push({
        record: rec,
        entry,
        artifactsDir: join(entry.results_dir, 'artifacts'),
        logsDir: join(entry.results_dir, 'logs'),
      });
    } catch (e) {
      failures.push({ jobId: rec.job_id, error: errorMessage(e) });
    }
  }
  const out = exporter.exportJobs(prepared, cfg, { cwd: opts.cwd ?? process.cwd(), now: opts.now });
  failures.push(...out.failures);
  return {
    success: failures.length === 0,
    metadata: {
      successful_jobs: prepared.length - out.failures.length,
      failed_jobs: failures.length,
      skipped_jobs: 0,
    },
    failures,
    files: out.files,
  };
}
