/**
 * nemo-evaluator-launcher-ts as a library: what the `nel` commands do, as functions (docs/api.md).
 *
 * - `runEval` plans an invocation from a config (dry run: writes the scripts only) or launches it
 *   detached; `waitForInvocation` waits for its jobs to end.
 * - `getStatus`, `killJobOrInvocation`, `resumeInvocation`, `logs` (an async iterator of log lines),
 *   `exportResults`, `listRuns`, `listTasks`: the job commands, on the same execution database.
 * - `evaluate` runs one evaluation in this process with the engine (`nemo-evaluator run_eval`).
 *
 * Every function throws NelError for bad input (a one-line `message` and a `hint`).
 */
import { streamLogs } from './api/jobs.js';
import type { LogLine, StreamLogsOptions } from './api/jobs.js';
import { loadTaskCatalogue } from './tasks/catalogue.js';
import { taskListEntries, type TaskListEntry } from './tasks/format.js';

export { NelError } from './common/errors.js';

// ---- run ------------------------------------------------------------------------------------
export { runEval, type RunOptions, type RunResult } from './api/run.js';
// compare runs sample by sample (what `nel compare` prints)
export {
  compareRuns,
  formatComparison,
  type CompareRunsOptions,
  type PairComparison,
  type TaskComparison,
  type MetricComparison,
} from './api/compare.js';
// HTML reports: per job, per invocation (what `nel report` builds), and of a comparison
export {
  buildJobReportData,
  buildReports,
  compareRunsWithReport,
  jobSamples,
  renderJobReport,
  writeJobReport,
  type BuiltReports,
  type CompareReportData,
  type JobReportData,
  type ReportBuildOptions,
} from './results/report/index.js';
export { waitForInvocation, type WaitOptions } from './launcher/wait.js';
export type { InvocationPlan, JobPlan } from './launcher/types.js';
export type { LaunchResult, StatusEntry, JobState, ReportedState } from './executors/types.js';

// ---- configuration --------------------------------------------------------------------------
export { loadConfig, launcherConfig, type LoadConfigOptions, type LoadedConfig } from './config/index.js';
export type {
  ApiEndpointConfig,
  DeploymentConfig,
  EvaluationConfig,
  ExecutionConfig,
  LauncherConfig,
  MountsConfig,
  TargetConfig,
  TaskConfig,
} from './config/schema.js';

// ---- jobs -----------------------------------------------------------------------------------
export {
  exportResults,
  getStatus,
  killJobOrInvocation,
  listRuns,
  resumeInvocation,
  type DbOptions,
  type ListRunsOptions,
} from './api/jobs.js';
export type { InvocationSummary } from './launcher/exec-db.js';
export type { KillOptions, KillOutcome, ResumeOptions, ResumeResult } from './api/jobs.js';
export type { ExportOptions, ExportResult } from './exporters/index.js';
export type { LogLine } from './api/jobs.js';
export type { TaskListEntry } from './tasks/format.js';

// ---- the engine, in process -----------------------------------------------------------------
export {
  runEngineEval as evaluate,
  type EvaluationOptions,
  type EvaluationOutcome,
} from './engine/evaluate.js';

/** Options of `logs`: those of `nel logs` (the lines come from the iterator). */
export type LogsOptions = Omit<StreamLogsOptions, 'onLine'>;

/**
 * The log lines of invocations or jobs (`nel logs`), as they are written: the last lines of each
 * job's log first, then new lines, ending once every job has ended and its log is read (unless
 * `noExit`). Leaving the loop early (break, return, throw) stops following.
 */
export async function* logs(ids: string[], opts: LogsOptions = {}): AsyncGenerator<LogLine, void, undefined> {
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const queue: LogLine[] = [];
  let wake: (() => void) | undefined;
  let finished = false;
  let failure: { error: unknown } | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const following = streamLogs(ids, {
    ...opts,
    signal: stop.signal,
    onLine: (l) => {
      queue.push(l);
      notify();
    },
  }).then(
    () => {
      finished = true;
      notify();
    },
    (error: unknown) => {
      failure = { error };
      finished = true;
      notify();
    },
  );
  try {
    for (;;) {
      while (queue.length > 0) yield queue.shift()!;
      if (finished) break;
      await new Promise<void>((resolve) => (wake = resolve));
    }
    if (failure) throw failure.error;
  } finally {
    stop.abort();
    opts.signal?.removeEventListener('abort', onOuterAbort);
    await following;
  }
}

/** Options of `listTasks`. */
export interface ListTasksOptions {
  /** A task list file (IRS YAML), as `nel ls tasks --tasks-file`; default: the built-in catalogue. */
  tasksFile?: string;
  env?: NodeJS.ProcessEnv;
}

/** The tasks `nel run` can run (`nel ls tasks --json`). */
export function listTasks(opts: ListTasksOptions = {}): TaskListEntry[] {
  return taskListEntries(loadTaskCatalogue({ tasksFile: opts.tasksFile, env: opts.env }));
}
