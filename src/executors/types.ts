/** Types shared by executors and the job-management commands (status, kill, logs, resume). */
import type { InvocationPlan } from '../launcher/types.js';

/** Upstream ExecutionState values. */
export type JobState = 'pending' | 'running' | 'success' | 'failed' | 'killed';
/** Extra states the API reports for ids it could not read. */
export type ReportedState = JobState | 'not_found' | 'error' | 'unknown';

export const TERMINAL_STATES: ReadonlySet<ReportedState> = new Set(['success', 'failed', 'killed']);
export const isTerminal = (s: ReportedState): boolean => TERMINAL_STATES.has(s);

export interface JobProgress {
  /** Requests answered so far (`artifacts/progress`), or null. */
  progress: number | null;
  /** Requests this run will make (`artifacts/progress_total`), or null. */
  total: number | null;
  /** 0..100 with one decimal, when both are known. */
  percent: number | null;
}

/** The state of one job read from its files and DB record. */
export interface JobStatus {
  state: JobState | 'unknown';
  progress: JobProgress | null;
  /** Exit code from logs/stage.exit, when parseable. */
  exitCode: number | null;
}

/** One row of `nel status --json` (upstream shape plus `progress.total/percent`). */
export interface StatusEntry {
  invocation: string | null;
  job_id: string | null;
  status: ReportedState;
  progress?: JobProgress | 'unknown';
  data: Record<string, unknown>;
  /** FAILED jobs: why, in one line, from the job's logs (an addition to upstream's shape). */
  cause?: string;
  /** FAILED jobs: what to do about it. */
  hint?: string;
  /** FAILED jobs: the log the cause was read from. */
  log?: string;
}

/** One row of `nel kill --json` (upstream shape). */
export interface KillResult {
  invocation: string | null;
  job_id: string | null;
  status: 'killed' | 'error' | 'not_found';
  data: { result: string } | { error: string };
}

export interface LaunchedScript {
  /** argv of the supervisor process (`bash <script>` or `bash -c <cmd>`). */
  argv: string[];
  cwd: string;
  pid: number;
  /** Where the supervisor's own stdout/stderr go. */
  log: string;
  startedAt: string;
}

export interface LaunchResult {
  invocationId: string;
  invocationDir: string;
  jobIds: string[];
  scripts: LaunchedScript[];
}

/** What an executor offers the commands. Only `local` exists today. */
export interface Executor {
  readonly name: string;
  launch(plan: InvocationPlan, opts: { env: NodeJS.ProcessEnv; execDbPath?: string }): Promise<LaunchResult>;
}
