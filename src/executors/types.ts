/**
 * The executor seam: what an executor offers the commands (Executor, loaded on demand) and how the
 * status of its jobs is read (ExecutorStatus, synchronous so that `nel status` stays fast), plus the
 * types the job-management commands share. Executors are registered in ./registry.ts.
 */
import type { LoadedConfig } from '../config/index.js';
import type { JobRecord } from '../launcher/exec-db.js';
import type { BuildPlanOptions } from '../launcher/plan.js';
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
  /** Where the jobs run, for `nel run`'s "Launched N job(s) <where>" line (default: in Docker / on the host). */
  where?: string;
}

export interface LaunchOptions {
  env: NodeJS.ProcessEnv;
  execDbPath?: string;
  now?: Date;
  /** How long to wait before checking for early failures (default 300 ms). */
  startupCheckMs?: number;
  /** Skip the check that the docker daemon answers (Docker plans only). */
  skipDockerCheck?: boolean;
}

export interface KillOptions {
  env?: NodeJS.ProcessEnv;
  dbPath?: string;
  /** Time between SIGTERM and SIGKILL (default 5000 ms). */
  graceMs?: number;
}

/** A kill result, with a flag telling "it had already finished" apart from real failures. */
export type KillOutcome = KillResult & { alreadyFinished?: boolean };

export interface ResumeOptions {
  all?: boolean;
  env?: NodeJS.ProcessEnv;
  dbPath?: string;
  now?: Date;
  /** How long to watch the new supervisor before reporting (default 1000 ms). */
  startupCheckMs?: number;
  /** Where ./.env is looked for, as `nel run` does (default the current directory). */
  cwd?: string;
  /** Skip the check that the docker daemon answers. */
  skipDockerCheck?: boolean;
  /** Do not probe the endpoints first (`nel resume --skip-preflight`; also NEMO_EVALUATOR_SKIP_PREFLIGHT=1). */
  skipPreflight?: boolean;
}

export interface ResumeResult {
  invocationId: string;
  invocationDir: string;
  /** Jobs started again. */
  rerun: { jobId: string; taskName: string }[];
  /** Jobs left alone because they succeeded. */
  skipped: { jobId: string; taskName: string }[];
  supervisor: LaunchedScript | null;
  /** Jobs that already failed again when the startup check ended, with their causes. */
  failedAtOnce: { jobId: string; taskName: string; cause: string; hint?: string }[];
  /** Non-fatal notes (inconclusive preflight answers). */
  warnings: string[];
}

export interface LogLine {
  jobId: string;
  /** `<inv[:6]>.<n>` */
  prefix: string;
  taskName: string;
  line: string;
}

export interface StreamLogsOptions {
  env?: NodeJS.ProcessEnv;
  dbPath?: string;
  /** Keep following after every job finished. */
  noExit?: boolean;
  intervalMs?: number;
  /** Lines of an existing file printed first (default 15). */
  tailLines?: number;
  signal?: AbortSignal;
  onLine: (l: LogLine) => void;
}

export interface InfoOptions {
  env?: NodeJS.ProcessEnv;
  dbPath?: string;
  config?: boolean;
  artifacts?: boolean;
  logs?: boolean;
  copyLogs?: string;
  copyArtifacts?: string;
}

/** Why a FAILED job failed, read from its logs. */
export interface JobCause {
  cause: string;
  hint?: string;
  /** The log the cause was read from. */
  log?: string;
}

/** A job whose files claim RUNNING or PENDING, with the entry `nel status` will show for it. */
export interface Claim {
  rec: JobRecord;
  entry: StatusEntry;
}

/** How the state of an executor's jobs is read from their DB records (and whatever the executor keeps). */
export interface ExecutorStatus {
  /** The state of one job, cheaply (no process or container probes). */
  readJobStatus(rec: JobRecord): JobStatus;
  /** Correct the claims whose processes are gone (mutates the entries; may record the outcome). */
  reconcile(claims: Claim[]): void;
  /** Why a FAILED job failed. */
  cause(rec: JobRecord, exitCode: number | null): JobCause;
  /**
   * Optional, for executors whose jobs' files may be on another machine: the folder on this machine
   * holding a copy of the job's task directory (at least `artifacts/results.yml`), or null when there
   * is none yet. Jobs whose record has `output_dir` never need it.
   */
  localCopy?(rec: JobRecord): string | null;
}

export interface FetchArtifactsOptions {
  env?: NodeJS.ProcessEnv;
}

/** Job id -> the folder on this machine now holding the job's `artifacts/` and `logs/`, or why not. */
export type FetchedArtifacts = Map<string, { dir: string } | { error: string }>;

/**
 * What an executor offers the commands, chosen by `execution.type` for a new run and by the job
 * records' `executor` afterwards. Ids are invocation or job ids (unique prefixes work) of its jobs.
 */
export interface Executor {
  readonly name: string;
  /** The invocation plan: the neutral plan (launcher/plan.ts) plus this executor's files. Pure. */
  plan(loaded: LoadedConfig, opts: BuildPlanOptions): InvocationPlan;
  /** What `nel run --dry-run` prints for a plan. */
  formatDryRun(plan: InvocationPlan, loaded: LoadedConfig): string;
  /** Refuse a real run whose runtime is missing (for local: Docker and the engine image), writing nothing. */
  checkRuntime(plan: InvocationPlan): Promise<void>;
  /** Record the jobs in the exec DB and start them; the plan's files are written already. */
  launch(plan: InvocationPlan, opts: LaunchOptions): Promise<LaunchResult>;
  kill(id: string, opts?: KillOptions): Promise<KillOutcome[]>;
  resume(id: string, opts?: ResumeOptions): Promise<ResumeResult>;
  streamLogs(ids: string[], opts: StreamLogsOptions): Promise<void>;
  /** Where the jobs' artifacts and logs are (the text `nel info` prints; copies made when asked). */
  info(ids: string[], opts?: InfoOptions): Promise<string>;
  /**
   * Optional, for executors whose jobs' files may be on another machine (records without
   * `output_dir`): copy each job's `artifacts/` and `logs/` to this machine (`nel export` reads them
   * there). Executors whose jobs are always local leave it out.
   */
  fetchArtifacts?(recs: JobRecord[], opts?: FetchArtifactsOptions): Promise<FetchedArtifacts>;
  /**
   * Optional: where the endpoints of a plan must be probed from, when not from this machine (a login
   * node, for jobs submitted there); undefined: this machine. Used by the preflight of `nel run`.
   */
  endpointProber?(plan: InvocationPlan, env: NodeJS.ProcessEnv): EndpointProber | undefined;
}

/** One HTTP request of the preflight, as the prober must send it. */
export interface ProbeRequest {
  url: string;
  method: 'GET' | 'POST';
  /** JSON body (POST). */
  body?: string;
  /** NAME of the variable holding the API key, sent as `Authorization: Bearer` (never in a command line). */
  keyName?: string | null;
  /** Its value, for the prober to hand over by stdin/environment only. */
  keyValue?: string;
}

/** What one probe request gave (the preflight's own outcome shape). */
export type ProbeOutcome =
  | { ok: true; status: number; body: string; json: unknown }
  | { ok: false; code: string; connected: boolean; message: string };

/** Sends the preflight's requests from somewhere else (e.g. a login node), all in one go. */
export interface EndpointProber {
  /** Where the requests are sent from, for messages (`root@login.example`). */
  readonly where: string;
  send(requests: ProbeRequest[], timeoutMs: number): Promise<ProbeOutcome[]>;
}
