import type { TaskDefinition } from '../tasks/types.js';

export type Obj = Record<string, unknown>;

/** Where a variable's value comes from, after parsing an `env_vars` entry. */
export type EnvSource =
  | { kind: 'host'; name: string } // value read from the launcher's environment (by name only)
  | { kind: 'lit'; value: string } // literal value from the config
  | { kind: 'runtime'; name: string }; // late-bound: read from the script's environment when it runs

export interface EnvVarSpec {
  /** Name inside the container. */
  target: string;
  source: EnvSource;
  /** Dotted config path that declared it, for error messages. */
  declaredAt: string;
}

/** One job as the executor-neutral planner (launcher/plan.ts) sees it. */
export interface PlannedJob {
  index: number;
  jobId: string; // `<inv>.<index>`
  taskName: string; // as written in the config
  uniqueName: string; // `<task name>.<index>`: the task directory name
  taskDir: string; // absolute
  task: TaskDefinition;
  evalImage: string;
  /** What to suggest when the task's image cannot be pulled: its built-in version, if any. */
  builtinAlternative: string;
  env: EnvVarSpec[];
  /** The config_ef.yaml object for this job. */
  engineConfig: Obj;
}

/** A planned job with what the executor needs to render it: its config entry and commands. */
export interface NeutralJob extends PlannedJob {
  /** The task's entry from `evaluation.tasks`. */
  entry: Obj;
  preCmd: string;
  postCmd: string;
}

/** The model server nel starts for the jobs (`deployment.type` other than `none`). */
export interface DeploymentPlan {
  type: string;
  image: string;
  command: string;
  port: number;
  /** Endpoint type (chat, completions, health, ...) to its path on the server. */
  endpoints: Record<string, string>;
  healthUrl: string;
  servedModelName: string | undefined;
  env: EnvVarSpec[];
}

/**
 * The executor-neutral plan of an invocation: ids, directories, resolved tasks, variables and each
 * job's config_ef.yaml object. An executor turns it into an InvocationPlan (its scripts and names).
 */
export interface NeutralPlan {
  invocationId: string;
  invocationDir: string; // absolute
  outputDir: string; // absolute execution.output_dir
  jobs: NeutralJob[];
  deployment: DeploymentPlan | undefined;
  /** The fully resolved launcher config (stored in the exec DB and metadata). */
  resolvedConfig: Obj;
  /** The user's YAML as written, if known. */
  sourceText: string | null;
  /** When the plan was made (directory and container names). */
  now: Date;
  /** Version written into scripts and metadata. */
  version: string;
  warnings: string[];
  /** Host variables referenced by the config but unset now (an error for a real run). */
  missingHostVars: { name: string; declaredAt: string }[];
  unlistedTasks: string[];
  hasPrePostCmd: boolean;
}

/** One job of an invocation as its executor planned it (and as recorded in the exec DB). */
export interface JobPlan extends PlannedJob {
  /** Base name of the client container ('' when none); the local scripts append a run suffix. */
  containerName: string;
  serverContainerName?: string;
}

/** An invocation as its executor planned it: the neutral plan's facts plus the files to write and launch. */
export interface InvocationPlan {
  invocationId: string;
  invocationDir: string; // absolute
  outputDir: string; // absolute execution.output_dir
  mode: 'sequential' | 'parallel';
  maxParallelTasks: number | null;
  useDocker: boolean;
  jobs: JobPlan[];
  /** The fully resolved launcher config (stored in the exec DB and metadata). */
  resolvedConfig: Obj;
  /** Generated files: path (absolute) -> text. */
  files: { path: string; text: string; mode?: number }[];
  /** The scripts to launch (local: run_all.sequential.sh or run_all.parallel.sh). */
  entryScripts: string[];
  warnings: string[];
  /** Host variables referenced by the config but unset now (an error for a real run). */
  missingHostVars: { name: string; declaredAt: string }[];
  unlistedTasks: string[];
  hasPrePostCmd: boolean;
}
