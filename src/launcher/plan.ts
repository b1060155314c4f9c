/**
 * The invocation plan of the local executor: from a loaded config to every job, its scripts and files.
 * buildInvocationPlan is pure (writes nothing, throws NelError for every config problem);
 * writeInvocationPlan writes all files or nothing; formatDryRun renders what `--dry-run` prints.
 */
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { LoadedConfig } from '../config/index.js';
import { NelError, errorMessage } from '../common/errors.js';
import { mkdirp } from '../common/fs.js';
import { localStampMicros, newInvocationId } from '../common/ids.js';
import { deepClone, isPlainObject, type Obj } from '../common/objects.js';
import { packageRoot, packageVersion } from '../common/version.js';
import { dumpYaml } from '../common/yaml.js';
import {
  renderParallelScript,
  renderSequentialScript,
  renderTaskScript,
  type ScriptContext,
  type ScriptJob,
} from '../executors/local/render-script.js';
import { dockerArgWords } from '../executors/local/shell-words.js';
import { loadTaskCatalogue, resolveTask } from '../tasks/catalogue.js';
import type { TaskCatalogue } from '../tasks/types.js';
import { buildEngineConfig, dumpEngineConfig, taskCommands } from './engine-config.js';
import {
  apiKeyName,
  deploymentEnvVars,
  describeEnvSource,
  evaluationEnvVars,
  findMissingHostVars,
} from './env-vars.js';
import { containerNamePart, filterTasks, invocationDirPath, taskDirName } from './invocation-dir.js';
import type { EnvVarSpec, InvocationPlan, JobPlan } from './types.js';

export interface BuildPlanOptions {
  taskFilter?: string[];
  dryRun: boolean;
  env: NodeJS.ProcessEnv;
  now?: Date;
  invocationId?: string;
  launcherCommand: string;
  noDocker?: boolean;
  catalogue?: TaskCatalogue;
  /** Directory relative output/dataset paths are resolved against (default: process.cwd()). */
  cwd?: string;
  /** Absolute paths of the compiled entry points (default: under packageRoot()/dist/src/bin). */
  toolPaths?: { nelJs: string; engineJs: string };
  /** Version written into scripts and metadata (default: packageVersion()). */
  version?: string;
}

const obj = (v: unknown): Obj => (isPlainObject(v) ? v : {});
const invalid = (message: string, hint: string): NelError =>
  new NelError('CONFIG_INVALID', message, { hint });

function defaultToolPaths(): { nelJs: string; engineJs: string } {
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

interface DeploymentFacts {
  type: string;
  image: string;
  command: string;
  port: number;
  endpoints: Obj;
  healthUrl: string;
  servedModelName: string | undefined;
  volumes: string[];
  env: EnvVarSpec[];
}

function readDeployment(resolved: Obj, execution: Obj, cwd: string): DeploymentFacts | undefined {
  const d = obj(resolved.deployment);
  const type = typeof d.type === 'string' ? d.type : 'none';
  if (type === 'none') return undefined;
  const need = (k: string): string => {
    const v = d[k];
    if (typeof v !== 'string' || v === '') {
      throw invalid(
        `deployment.${k} must be set for deployment type '${type}'`,
        `set deployment.${k} in the config or with -o deployment.${k}=...`,
      );
    }
    return v;
  };
  const image = need('image');
  const command = need('command');
  const port = Number(d.port ?? 8000);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw invalid(
      `deployment.port must be a port number, got ${JSON.stringify(d.port)}`,
      'for example deployment.port: 8000',
    );
  }
  const endpoints = obj(d.endpoints);
  const health = typeof endpoints.health === 'string' ? endpoints.health : '/health';
  const volumes: string[] = [];
  if (typeof d.checkpoint_path === 'string' && d.checkpoint_path)
    volumes.push(`${resolve(cwd, d.checkpoint_path)}:/checkpoint:ro`);
  if (typeof d.cache_path === 'string' && d.cache_path) volumes.push(`${resolve(cwd, d.cache_path)}:/cache`);
  for (const [h, c] of mountPairs(obj(execution.mounts).deployment, 'execution.mounts.deployment', cwd))
    volumes.push(`${h}:${c}`);
  return {
    type,
    image,
    command,
    port,
    endpoints,
    healthUrl: `http://127.0.0.1:${port}${health}`,
    servedModelName: typeof d.served_model_name === 'string' ? d.served_model_name : undefined,
    volumes,
    env: deploymentEnvVars(resolved),
  };
}

function mountPairs(v: unknown, where: string, cwd: string): [string, string][] {
  if (v === undefined || v === null) return [];
  if (!isPlainObject(v))
    throw invalid(
      `${where} must be a map of host path: container path`,
      `for example ${where}: {/data: /data}`,
    );
  return Object.entries(v).map(([h, c]) => {
    if (typeof c !== 'string' || c === '')
      throw invalid(`${where}.${h} must be a container path`, 'for example /data');
    return [resolve(cwd, h), c];
  });
}

function readMode(execution: Obj, deployment?: DeploymentFacts): 'sequential' | 'parallel' {
  const mode = execution.mode ?? 'sequential';
  if (mode !== 'sequential' && mode !== 'parallel') {
    throw invalid(
      `unknown execution mode: '${String(mode)}'. Choose one of ['parallel', 'sequential']`,
      'set execution.mode',
    );
  }
  if (mode === 'parallel' && deployment) {
    throw invalid(
      `Execution mode 'parallel' is not supported with deployment type: ${deployment.type}. Use 'sequential' instead.`,
      'set execution.mode=sequential',
    );
  }
  return mode;
}

function readMaxParallel(execution: Obj): number | null {
  const v = execution.max_parallel_tasks;
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw invalid(
      `execution.max_parallel_tasks must be a positive integer or null, got ${JSON.stringify(v)}`,
      'for example 2',
    );
  }
  return v;
}

function readTimeout(execution: Obj): number {
  const v = execution.endpoint_readiness_timeout ?? 600;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw invalid(
      `execution.endpoint_readiness_timeout must be a whole number of seconds, got ${JSON.stringify(v)}`,
      'for example 600',
    );
  }
  return v;
}

function readDestinations(execution: Obj): string[] {
  const v = obj(execution.auto_export).destinations;
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((d) => typeof d === 'string' && d !== '')) {
    throw invalid(
      'execution.auto_export.destinations must be a list of exporter names',
      'for example ["local"]',
    );
  }
  return v as string[];
}

const isLocalImage = (image: string): boolean => image.endsWith('.sqsh') || image.startsWith('/');

export function buildInvocationPlan(loaded: LoadedConfig, opts: BuildPlanOptions): InvocationPlan {
  const cwd = opts.cwd ?? process.cwd();
  const resolved = loaded.resolved as Obj;
  const execution = obj(resolved.execution);
  const evaluation = obj(resolved.evaluation);
  const deployment = readDeployment(resolved, execution, cwd);
  const mode = readMode(execution, deployment);
  const useDocker = !opts.noDocker && execution.use_docker !== false;
  if (!useDocker && deployment) {
    throw invalid(
      `deployment type '${deployment.type}' needs Docker; it cannot run with execution.use_docker=false (--no-docker)`,
      'use deployment: none with an existing endpoint, or run with Docker',
    );
  }
  const maxParallelTasks = readMaxParallel(execution);
  const readinessTimeout = readTimeout(execution);
  const destinations = readDestinations(execution);
  const extraDockerArgs = dockerArgWords(execution.extra_docker_args);
  if (typeof execution.output_dir !== 'string' || execution.output_dir === '') {
    throw invalid(
      'execution.output_dir must be set',
      'set execution.output_dir or pass -o execution.output_dir=DIR',
    );
  }
  const outputDir = resolve(cwd, execution.output_dir);
  // Docker's `-v SRC:DST` splits at ':'; the task directories are mounted that way.
  if (useDocker && outputDir.includes(':')) {
    throw invalid(
      `execution.output_dir contains ':', which Docker cannot mount: ${outputDir}`,
      "choose a path without ':', or run on the host with --no-docker",
    );
  }

  const allTasks = evaluation.tasks;
  if (allTasks !== undefined && !Array.isArray(allTasks))
    throw invalid('evaluation.tasks must be a list', 'a list of {name: ...}');
  const tasks = filterTasks((allTasks ?? []) as Obj[], opts.taskFilter);
  if (tasks.length === 0)
    throw invalid('no tasks to run: evaluation.tasks is empty', 'add tasks under evaluation.tasks');

  const catalogue = opts.catalogue ?? loadTaskCatalogue({ env: opts.env });
  const invocationId = opts.invocationId ?? newInvocationId();
  const now = opts.now ?? new Date();
  const invocationDir = invocationDirPath(outputDir, invocationId, now, cwd);
  const version = opts.version ?? packageVersion();
  const tools = opts.toolPaths ?? defaultToolPaths();
  const stamp = localStampMicros(now);

  const resolvedConfig = deepClone(resolved);
  resolvedConfig.evaluation = { ...obj(resolvedConfig.evaluation), tasks: deepClone(tasks) };

  const target = obj(obj(resolved.target).api_endpoint);
  const keyName = apiKeyName(resolved);
  const evalMounts = mountPairs(obj(execution.mounts).evaluation, 'execution.mounts.evaluation', cwd);

  const jobs: JobPlan[] = [];
  const scriptJobs: ScriptJob[] = [];
  const files: InvocationPlan['files'] = [];
  const unlistedTasks: string[] = [];
  let hasPrePostCmd = false;
  const allSpecs: EnvVarSpec[] = [...(deployment?.env ?? [])];

  tasks.forEach((entry, index) => {
    if (!isPlainObject(entry) || typeof entry.name !== 'string' || entry.name === '') {
      throw invalid(
        `evaluation.tasks[${index}] needs a name`,
        'each task is {name: <task or harness.task>, ...}',
      );
    }
    const taskName = entry.name;
    const task = resolveTask(catalogue, {
      name: taskName,
      container: typeof entry.container === 'string' ? entry.container : null,
      endpoint_type: typeof entry.endpoint_type === 'string' ? entry.endpoint_type : null,
    });
    if (task.isUnlisted && !isLocalImage(task.container)) unlistedTasks.push(taskName);
    const env = evaluationEnvVars(resolved, entry, index);
    allSpecs.push(...env);
    const uniqueName = taskDirName(taskName, index);
    const taskDir = join(invocationDir, uniqueName);
    let endpointUrl = typeof target.url === 'string' ? target.url : undefined;
    let modelId = typeof target.model_id === 'string' ? target.model_id : undefined;
    if (deployment) {
      const path = deployment.endpoints[task.endpointType];
      if (typeof path !== 'string') {
        throw invalid(
          `deployment.endpoints has no '${task.endpointType}' endpoint (needed by task ${taskName})`,
          `add deployment.endpoints.${task.endpointType}, or set endpoint_type on the task`,
        );
      }
      endpointUrl = `http://127.0.0.1:${deployment.port}${path}`;
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
      outputDir: useDocker ? '/results' : join(taskDir, 'artifacts'),
      launcherCommand: opts.launcherCommand,
      version,
    });
    const part = containerNamePart(taskName);
    const jobId = `${invocationId}.${index}`;
    const job: JobPlan = {
      index,
      jobId,
      taskName,
      uniqueName,
      taskDir,
      task,
      evalImage: task.container,
      containerName: useDocker ? `client-${part}-${index}-${stamp}` : '',
      serverContainerName: deployment ? `server-${part}-${index}-${stamp}` : undefined,
      env,
      engineConfig,
    };
    jobs.push(job);
    const datasetDir =
      typeof entry.dataset_dir === 'string' && entry.dataset_dir
        ? resolve(cwd, entry.dataset_dir)
        : undefined;
    const mountPath =
      typeof entry.dataset_mount_path === 'string' && entry.dataset_mount_path
        ? entry.dataset_mount_path
        : '/datasets';
    const engineConfigYaml = dumpEngineConfig(engineConfig);
    scriptJobs.push({
      jobId,
      taskName,
      taskDir,
      evalImage: task.container,
      containerName: job.containerName,
      env,
      engineConfigYaml,
      preCmd,
      postCmd,
      unresolvedConfigText: loaded.sourceText,
      datasetDir,
      datasetMountPath: mountPath,
      evaluationMounts: evalMounts,
      deployment: deployment
        ? {
            image: deployment.image,
            command: deployment.command,
            port: deployment.port,
            healthUrl: deployment.healthUrl,
            readinessTimeoutSec: readinessTimeout,
            env: deployment.env,
            volumes: deployment.volumes,
            serverContainerName: job.serverContainerName!,
          }
        : undefined,
    });
    if (!useDocker) {
      files.push({ path: join(taskDir, 'config_ef.yaml'), text: engineConfigYaml });
      if (preCmd)
        files.push({
          path: join(taskDir, 'pre_cmd.sh'),
          text: preCmd.endsWith('\n') ? preCmd : preCmd + '\n',
        });
      if (postCmd)
        files.push({
          path: join(taskDir, 'post_cmd.sh'),
          text: postCmd.endsWith('\n') ? postCmd : postCmd + '\n',
        });
    }
  });

  const ctx: ScriptContext = {
    invocationId,
    invocationDir,
    useDocker,
    extraDockerArgs,
    autoExportDestinations: destinations,
    nelJs: tools.nelJs,
    engineJs: tools.engineJs,
    version,
  };
  for (const sj of scriptJobs)
    files.push({ path: join(sj.taskDir, 'run.sh'), text: renderTaskScript(sj, ctx), mode: 0o755 });
  const entry =
    mode === 'sequential'
      ? {
          path: join(invocationDir, 'run_all.sequential.sh'),
          text: renderSequentialScript(scriptJobs, ctx),
          mode: 0o755,
        }
      : {
          path: join(invocationDir, 'run_all.parallel.sh'),
          text: renderParallelScript(scriptJobs, ctx, maxParallelTasks),
          mode: 0o755,
        };
  files.push(entry);

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
    mode,
    maxParallelTasks,
    useDocker,
    jobs,
    resolvedConfig,
    files,
    entryScripts: [entry.path],
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

function envLine(s: EnvVarSpec): string {
  return `${s.target} <- ${describeEnvSource(s)}`;
}

/** What `nel run --dry-run` prints: config, invocation dir, jobs, variables (names only), scripts, warnings. */
export function formatDryRun(plan: InvocationPlan, loaded: LoadedConfig): string {
  const out: string[] = [];
  out.push('# Configuration (as composed, before interpolation)', dumpYaml(loaded.raw).trimEnd(), '');
  out.push(`Invocation: ${plan.invocationId}`);
  out.push(`Directory:  ${plan.invocationDir}`);
  out.push(
    `Mode:       ${plan.mode}${plan.mode === 'parallel' ? ` (max ${plan.maxParallelTasks ?? plan.jobs.length} at once)` : ''}`,
  );
  out.push(`Runs in:    ${plan.useDocker ? 'Docker' : 'host (no Docker)'}`);
  out.push('', 'Jobs:');
  for (const j of plan.jobs) {
    out.push(`  ${j.jobId}  ${j.taskName}`);
    out.push(`    harness: ${j.task.harness || '(unknown)'}${j.task.isUnlisted ? ' (unlisted)' : ''}`);
    out.push(`    image: ${j.evalImage}`);
    out.push(`    endpoint type: ${j.task.endpointType}`);
    out.push(`    dir: ${j.taskDir}`);
    if (j.env.length > 0) {
      out.push('    environment (names only; values are read when the script runs):');
      for (const s of j.env) out.push(`      ${envLine(s)}`);
    }
  }
  for (const path of plan.entryScripts) {
    const f = plan.files.find((x) => x.path === path);
    out.push('', `# ${path}`, f ? f.text.trimEnd() : '');
  }
  if (plan.mode === 'parallel') {
    for (const j of plan.jobs) {
      const f = plan.files.find((x) => x.path === join(j.taskDir, 'run.sh'));
      if (f) out.push('', `# ${f.path}`, f.text.trimEnd());
    }
  }
  out.push(
    '',
    `DRY RUN: Scripts prepared and saved to ${plan.invocationDir}`,
    'To execute, run without --dry-run',
  );
  for (const w of plan.warnings) out.push(`warning: ${w}`);
  return out.join('\n') + '\n';
}
