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

/** One job of an invocation, as planned (and as recorded in the exec DB). */
export interface JobPlan {
  index: number;
  jobId: string; // `<inv>.<index>`
  taskName: string; // as written in the config
  uniqueName: string; // `<task name>.<index>`: the task directory name
  taskDir: string; // absolute
  task: TaskDefinition;
  evalImage: string;
  /** Base name of the client container; the script appends a run suffix so reruns never conflict. */
  containerName: string;
  serverContainerName?: string;
  env: EnvVarSpec[];
  /** The config_ef.yaml object for this job. */
  engineConfig: Obj;
}

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
  /** The main script to launch: run_all.sequential.sh (sequential) or each run.sh (parallel). */
  entryScripts: string[];
  warnings: string[];
  /** Host variables referenced by the config but unset now (an error for a real run). */
  missingHostVars: { name: string; declaredAt: string }[];
  unlistedTasks: string[];
  hasPrePostCmd: boolean;
}
