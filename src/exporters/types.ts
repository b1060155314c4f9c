/** The exporter seam: an exporter declares its own settings and exports jobs whose data is prepared once. */
import type { Obj } from '../common/objects.js';
import type { JobRecord } from '../launcher/exec-db.js';
import type { Metrics } from './metrics.js';

/** Settings every exporter takes (upstream's ExportConfig). */
export interface BaseExportConfig {
  job_dirs: string[];
  /** Copy each job's top-level log files beside its export. */
  copy_logs: boolean;
  /** Copy each job's artifacts beside its export. */
  copy_artifacts: boolean;
  /** With copy_artifacts: only results.yml, eval_factory_metrics.json and omni-info.json; else all. */
  only_required: boolean;
  log_metrics: string[];
}

/** One job's data, read once from its artifacts (what every exporter exports). */
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

export interface PreparedJob {
  record: JobRecord;
  entry: ExportEntry;
  artifactsDir: string;
  logsDir: string;
}

export interface ExportFailure {
  jobId: string;
  error: string;
}

export interface ExporterOutcome {
  files: string[];
  failures: ExportFailure[];
}

export interface Exporter<C extends Obj = Obj> {
  /** The `--dest` name. */
  readonly name: string;
  /** Its own settings and their defaults (beside BaseExportConfig's). */
  readonly defaults: C;
  /** Check its own settings; throw a NelError naming the key. */
  validate(cfg: BaseExportConfig & C, where: string): void;
  exportJobs(
    jobs: PreparedJob[],
    cfg: BaseExportConfig & C,
    ctx: { cwd: string; now?: Date },
  ): ExporterOutcome;
}
