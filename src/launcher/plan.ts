/**
 * The executor-neutral plan of an invocation: from a loaded config to its ids, directories, resolved
 * tasks, variables (names and sources) and each job's config_ef.yaml object. planInvocation is pure
 * (writes nothing, throws NelError for every config problem); an executor renders the plan into its
 * scripts (src/executors/<name>/). writeInvocationPlan writes an executor's plan: all files or nothing.
 */
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { launcherConfig, type LoadedConfig } from '../config/index.js';
import type { LauncherConfig, TaskConfig } from '../config/schema.js';
import { NelError, errorMessage } from '../common/errors.js';
import { mkdirp } from '../common/fs.js';
import { newInvocationId } from '../common/ids.js';
import { deepClone, isPlainObject, type Obj } from '../common/objects.js';
import { packageRoot, packageVersion } from '../common/version.js';
import { loadTaskCatalogue, resolveTask } from '../tasks/catalogue.js';
import {
  builtinAlternativeHint,
  builtinEquivalentOf,
  noEquivalentError,
} from '../tasks/builtin-equivalent.js';
import type { TaskCatalogue } from '../tasks/types.js';
import { buildEngineConfig, taskCommands } from './engine-config.js';
import { apiKeyName, deploymentEnvVars, evaluationEnvVars, findMissingHostVars } from './env-vars.js';
import { filterTasks, invocationDirPath, taskDirName } from './invocation-dir.js';
import type { DeploymentPlan, EnvVarSpec, InvocationPlan, NeutralJob, NeutralPlan } from './types.js';

export interface BuildPlanOptions {
  taskFilter?: string[];
  dryRun: boolean;
  env: NodeJS.ProcessEnv;
  now?: Date;
  invocationId?: string;
  launcherCommand: string;
  /** Run on the host rather than in containers (`nel run --no-docker`; executors that can). */
  noDocker?: boolean;
  catalogue?: TaskCatalogue;
  /** Directory relative output/dataset paths are resolved against (default: process.cwd()). */
  cwd?: string;
  /** Absolute paths of the compiled entry points (default: under packageRoot()/dist/src/bin). */
  toolPaths?: { nelJs: string; engineJs: string };
  /** Version written into scripts and metadata (default: packageVersion()). */
  version?: string;
}

/** The compiled entry points of this installation (BuildPlanOptions.toolPaths' default). */
export function defaultToolPaths(): { nelJs: string; engineJs: string } {
  let root: string;
  try {
    root = packageRoot();
  } catch (e) {
    throw new NelError('INTERNAL', `cannot locate the installed package: ${errorMessage(e)}`);
  }
  return {
    nelJs: join(root, 'dist', 'src', 'bin', 'nel.js'),
    engineJs: join(root, 'dist', 'src', 'bin', 'nemo-evaluator.js'),
  };
}

/** What the executor decides for the neutral plan. */
export interface PlanLayout {
  /** config_ef.yaml's output_dir: the job's artifacts directory as the job's engine sees it. */
  engineOutputDir(taskDir: string): string;
  /** The port the jobs reach the deployment on (default its own port; e.g. a load balancer's). */
  endpointPort?(deploymentPort: number): number;
}

const HOST_LAYOUT: PlanLayout = { engineOutputDir: (taskDir) => join(taskDir, 'artifacts') };

const obj = (v: unknown): Obj => (isPlainObject(v) ? v : {});
/** A config problem: NelError CONFIG_INVALID with a hint. */
export const invalidConfig = (message: string, hint: string): NelError =>
  new NelError('CONFIG_INVALID', message, { hint });
const invalid = invalidConfig;

/** The model server of a validated config (schema.ts has checked types and required keys). */
function readDeployment(config: LauncherConfig, resolved: Obj): DeploymentPlan | undefined {
  const d = config.deployment;
  if (!d || d.type === undefined || d.type === 'none') return undefined;
  const port = d.port ?? 8000;
  const endpoints = d.endpoints ?? {};
  return {
    type: d.type,
    image: d.image ?? '',
    command: d.command ?? '',
    port,
    endpoints,
    healthUrl: `http://127.0.0.1:${port}${endpoints.health ?? '/health'}`,
    servedModelName: d.served_model_name ?? undefined,
    env: deploymentEnvVars(resolved),
  };
}

const isLocalImage = (image: string): boolean => image.endsWith('.sqsh') || image.startsWith('/');

/** The neutral plan of an invocation; `layout` is the executor's say in it. */
export function planInvocation(
  loaded: LoadedConfig,
  opts: BuildPlanOptions,
  layout: PlanLayout = HOST_LAYOUT,
): NeutralPlan {
  const cwd = opts.cwd ?? process.cwd();
  const resolved = loaded.resolved as Obj;
  // Validated by the one launcher schema; typed from here on.
  const config = launcherConfig(loaded);
  const execution = config.execution ?? {};
  const deployment = readDeployment(config, resolved);
  if (!execution.output_dir) {
    throw invalid(
      'execution.output_dir must be set',
      'set execution.output_dir or pass -o execution.output_dir=DIR',
    );
  }
  const outputDir = resolve(cwd, execution.output_dir);

  const tasks = filterTasks((config.evaluation.tasks ?? []) as Obj[], opts.taskFilter) as TaskConfig[];
  if (tasks.length === 0)
    throw invalid('no tasks to run: evaluation.tasks is empty', 'add tasks under evaluation.tasks');

  const catalogue = opts.catalogue ?? loadTaskCatalogue({ env: opts.env });
  const invocationId = opts.invocationId ?? newInvocationId();
  const now = opts.now ?? new Date();
  const invocationDir = invocationDirPath(outputDir, invocationId, now, cwd);
  const version = opts.version ?? packageVersion();

  const resolvedConfig = deepClone(resolved);
  resolvedConfig.evaluation = { ...obj(resolvedConfig.evaluation), tasks: deepClone(tasks) };

  const target = config.target?.api_endpoint ?? {};
  const keyName = apiKeyName(resolved);

  const jobs: NeutralJob[] = [];
  const unlistedTasks: string[] = [];
  let hasPrePostCmd = false;
  const allSpecs: EnvVarSpec[] = [...(deployment?.env ?? [])];

  // With the built-in engine chosen, every task runs as its built-in equivalent (all or none: the
  // tasks without one are refused together, before anything is planned further).
  const resolvedTasks = tasks.map((typed) =>
    resolveTask(catalogue, {
      name: typed.name,
      container: typed.container ?? null,
      endpoint_type: typed.endpoint_type ?? null,
    }),
  );
  if (execution.builtin_engine === true) {
    const missing = resolvedTasks.filter((t) => !builtinEquivalentOf(t, catalogue));
    if (missing.length > 0) throw noEquivalentError(missing);
    resolvedTasks.forEach((t, i) => (resolvedTasks[i] = builtinEquivalentOf(t, catalogue)!));
  }

  tasks.forEach((typed, index) => {
    const entry = typed as Obj;
    const taskName = typed.name;
    const task = resolvedTasks[index]!;
    if (task.isUnlisted && !isLocalImage(task.container)) unlistedTasks.push(taskName);
    const env = evaluationEnvVars(resolved, entry, index);
    allSpecs.push(...env);
    const uniqueName = taskDirName(taskName, index);
    const taskDir = join(invocationDir, uniqueName);
    let endpointUrl = target.url ?? undefined;
    let modelId = target.model_id ?? undefined;
    if (deployment) {
      const path = deployment.endpoints[task.endpointType];
      if (typeof path !== 'string') {
        throw invalid(
          `deployment.endpoints has no '${task.endpointType}' endpoint (needed by task ${taskName})`,
          `add deployment.endpoints.${task.endpointType}, or set endpoint_type on the task`,
        );
      }
      endpointUrl = `http://127.0.0.1:${layout.endpointPort?.(deployment.port) ?? deployment.port}${path}`;
      modelId = deployment.servedModelName ?? modelId;
    }
    const { preCmd, postCmd } = taskCommands(resolved, entry);
    if (preCmd || postCmd) hasPrePostCmd = true;
    const engineConfig = buildEngineConfig({
      resolved: resolvedConfig,
      taskEntry: entry,
      task,
      endpointUrl,
      modelId,
      apiKeyName: keyName,
      outputDir: layout.engineOutputDir(taskDir),
      launcherCommand: opts.launcherCommand,
      version,
    });
    jobs.push({
      index,
      jobId: `${invocationId}.${index}`,
      taskName,
      uniqueName,
      taskDir,
      task,
      evalImage: task.container,
      builtinAlternative: builtinAlternativeHint(taskName),
      env,
      engineConfig,
      entry,
      preCmd,
      postCmd,
    });
  });

  const missingHostVars = findMissingHostVars(allSpecs, opts.env);
  const warnings: string[] = [...loaded.warnings];
  for (const m of missingHostVars) {
    warnings.push(
      `environment variable ${m.name} is not set (needed by ${m.declaredAt}); a real run needs it`,
    );
  }
  if (unlistedTasks.length > 0) {
    warnings.push(
      `Unlisted tasks found: ${unlistedTasks.join(', ')}. A real run needs NEMO_EVALUATOR_TRUST_UNLISTED_TASKS=1.`,
    );
  }
  if (hasPrePostCmd) {
    warnings.push(
      'The config has pre_cmd/post_cmd commands; a real run needs NEMO_EVALUATOR_TRUST_PRE_CMD=1.',
    );
  }

  return {
    invocationId,
    invocationDir,
    outputDir,
    jobs,
    deployment,
    resolvedConfig,
    sourceText: loaded.sourceText,
    now,
    version,
    warnings,
    missingHostVars,
    unlistedTasks,
    hasPrePostCmd,
  };
}

/** Create `execution.output_dir` (not the invocation directory), or say in one line why it cannot be. */
export function ensureOutputDir(plan: InvocationPlan): void {
  try {
    mkdirp(plan.outputDir);
  } catch (e) {
    throw outputDirError(plan.outputDir, e);
  }
}

/** Create the invocation directory and every file of the plan; on any failure remove the directory again. */
export function writeInvocationPlan(plan: InvocationPlan): void {
  ensureOutputDir(plan);
  if (existsSync(plan.invocationDir)) {
    throw new NelError('OUTPUT_DIR', `the invocation directory ${plan.invocationDir} already exists`, {
      hint: 'use a new invocation id',
    });
  }
  try {
    mkdirSync(plan.invocationDir);
  } catch (e) {
    throw outputDirError(plan.outputDir, e);
  }
  try {
    for (const job of plan.jobs) {
      mkdirSync(join(job.taskDir, 'logs'), { recursive: true });
      mkdirSync(join(job.taskDir, 'artifacts'), { recursive: true });
    }
    for (const f of plan.files) {
      if (!isAbsolute(f.path) || !f.path.startsWith(plan.invocationDir + '/')) {
        throw new NelError('INTERNAL', `refusing to write outside the invocation directory: ${f.path}`);
      }
      mkdirSync(dirname(f.path), { recursive: true });
      writeFileSync(f.path, f.text, { mode: f.mode ?? 0o644 });
      if (f.mode !== undefined) chmodSync(f.path, f.mode);
    }
  } catch (e) {
    rmSync(plan.invocationDir, { recursive: true, force: true });
    if (e instanceof NelError) throw e;
    throw outputDirError(plan.invocationDir, e);
  }
}

function outputDirError(dir: string, e: unknown): NelError {
  if ((e as NodeJS.ErrnoException)?.code === 'ENOSPC') {
    return new NelError('OUTPUT_DIR', `no space left on device: ${dir}`, {
      hint: 'free some space there, or choose another execution.output_dir (-o execution.output_dir=DIR)',
    });
  }
  const code = (e as NodeJS.ErrnoException)?.code ?? errorMessage(e);
  return new NelError('OUTPUT_DIR', `cannot write to the output directory ${dir} (${code})`, {
    hint: 'choose a writable execution.output_dir (-o execution.output_dir=DIR)',
  });
}
