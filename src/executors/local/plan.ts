/**
 * The local executor's plan: the neutral plan (launcher/plan.ts) rendered into `<task>/run.sh` and
 * `run_all.{sequential,parallel}.sh`, with container names and the `/results` mount of Docker mode.
 * buildInvocationPlan is pure (writes nothing, throws NelError for every config problem); formatDryRun
 * renders what `--dry-run` prints.
 */
import { join, resolve } from 'node:path';
import { launcherConfig, type LoadedConfig } from '../../config/index.js';
import type { DeploymentConfig, ExecutionConfig } from '../../config/schema.js';
import { localStampMicros } from '../../common/ids.js';
import { isPlainObject, type Obj } from '../../common/objects.js';
import { dumpYaml } from '../../common/yaml.js';
import { dumpEngineConfig } from '../../launcher/engine-config.js';
import { describeEnvSource } from '../../launcher/env-vars.js';
import {
  defaultToolPaths,
  invalidConfig as invalid,
  planInvocation,
  type BuildPlanOptions,
} from '../../launcher/plan.js';
import { dockerArgWords } from '../../launcher/shell-words.js';
import type { EnvVarSpec, InvocationPlan, JobPlan } from '../../launcher/types.js';
import {
  renderParallelScript,
  renderSequentialScript,
  renderTaskScript,
  type ScriptContext,
  type ScriptJob,
} from './render-script.js';

/** Where a job's artifacts directory is mounted in its container. */
export const CONTAINER_RESULTS_DIR = '/results';

const obj = (v: unknown): Obj => (isPlainObject(v) ? v : {});

/** A Docker-safe container name part: [A-Za-z0-9_.-], starting with an alphanumeric. */
export function containerNamePart(s: string): string {
  const cleaned = s.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return (cleaned || 'task').slice(0, 60);
}

/** `host: container` mounts as absolute host paths (the schema has checked their shape). */
function mountPairs(m: Record<string, string> | null | undefined, cwd: string): [string, string][] {
  return Object.entries(m ?? {}).map(([h, c]) => [resolve(cwd, h), c]);
}

/** The model server's volumes: checkpoint, cache and execution.mounts.deployment. */
function deploymentVolumes(d: DeploymentConfig, execution: ExecutionConfig, cwd: string): string[] {
  const volumes: string[] = [];
  if (d.checkpoint_path) volumes.push(`${resolve(cwd, d.checkpoint_path)}:/checkpoint:ro`);
  if (d.cache_path) volumes.push(`${resolve(cwd, d.cache_path)}:/cache`);
  for (const [h, c] of mountPairs(execution.mounts?.deployment, cwd)) volumes.push(`${h}:${c}`);
  return volumes;
}

/** Parallel mode cannot share one model server between tasks (the one rule the schema cannot state). */
function checkMode(mode: 'sequential' | 'parallel', deploymentType?: string): void {
  if (mode === 'parallel' && deploymentType) {
    throw invalid(
      `Execution mode 'parallel' is not supported with deployment type: ${deploymentType}. Use 'sequential' instead.`,
      'set execution.mode=sequential',
    );
  }
}

const withNewline = (s: string): string => (s.endsWith('\n') ? s : s + '\n');

/** The local executor's plan of an invocation: jobs, container names, scripts and files. */
export function buildInvocationPlan(loaded: LoadedConfig, opts: BuildPlanOptions): InvocationPlan {
  const cwd = opts.cwd ?? process.cwd();
  const resolved = loaded.resolved as Obj;
  // Validated by the one launcher schema (a no-op cost after loadConfig); typed from here on.
  const config = launcherConfig(loaded);
  const execution: ExecutionConfig = config.execution ?? {};
  const useDocker = !opts.noDocker && execution.use_docker !== false;
  const neutral = planInvocation(loaded, opts, {
    engineOutputDir: (taskDir) => (useDocker ? CONTAINER_RESULTS_DIR : join(taskDir, 'artifacts')),
  });
  const { deployment, invocationId, invocationDir, outputDir } = neutral;
  const mode = execution.mode ?? 'sequential';
  checkMode(mode, deployment?.type);
  // a deployment runs on the host only when its type says how (`host_command`, e.g. llamacpp)
  const deploymentExtra = obj(config.deployment);
  const hostCommand = typeof deploymentExtra.host_command === 'string' ? deploymentExtra.host_command : '';
  if (!useDocker && deployment && !hostCommand) {
    throw invalid(
      `deployment type '${deployment.type}' needs Docker; it cannot run with execution.use_docker=false (--no-docker)`,
      'use deployment: none with an existing endpoint, deployment: llamacpp (a GGUF model on the CPU), or run with Docker',
    );
  }
  // `gpus: null` (or false) starts the server container without `--gpus` (a CPU server such as llamacpp)
  const gpus =
    deploymentExtra.gpus === undefined
      ? 'all'
      : typeof deploymentExtra.gpus === 'string'
        ? deploymentExtra.gpus
        : '';
  const maxParallelTasks = execution.max_parallel_tasks ?? null;
  const readinessTimeout = execution.endpoint_readiness_timeout ?? 600;
  const destinations = execution.auto_export?.destinations ?? [];
  const extraDockerArgs = dockerArgWords(execution.extra_docker_args);
  // Docker's `-v SRC:DST` splits at ':'; the task directories are mounted that way.
  if (useDocker && outputDir.includes(':')) {
    throw invalid(
      `execution.output_dir contains ':', which Docker cannot mount: ${outputDir}`,
      "choose a path without ':', or run on the host with --no-docker",
    );
  }
  const volumes = deployment && config.deployment ? deploymentVolumes(config.deployment, execution, cwd) : [];
  const evalMounts = mountPairs(execution.mounts?.evaluation, cwd);
  const tools = opts.toolPaths ?? defaultToolPaths();
  const stamp = localStampMicros(neutral.now);

  const jobs: JobPlan[] = [];
  const scriptJobs: ScriptJob[] = [];
  const files: InvocationPlan['files'] = [];
  for (const nj of neutral.jobs) {
    const { entry, preCmd, postCmd, index, taskDir } = nj;
    const part = containerNamePart(nj.taskName);
    const job: JobPlan = {
      index,
      jobId: nj.jobId,
      taskName: nj.taskName,
      uniqueName: nj.uniqueName,
      taskDir,
      task: nj.task,
      evalImage: nj.evalImage,
      builtinAlternative: nj.builtinAlternative,
      containerName: useDocker ? `client-${part}-${index}-${stamp}` : '',
      serverContainerName: deployment ? `server-${part}-${index}-${stamp}` : undefined,
      env: nj.env,
      engineConfig: nj.engineConfig,
    };
    jobs.push(job);
    const engineConfigYaml = dumpEngineConfig(job.engineConfig);
    scriptJobs.push({
      jobId: job.jobId,
      taskName: job.taskName,
      taskDir,
      evalImage: job.evalImage,
      containerName: job.containerName,
      env: job.env,
      engineConfigYaml,
      preCmd,
      postCmd,
      unresolvedConfigText: neutral.sourceText,
      datasetDir:
        typeof entry.dataset_dir === 'string' && entry.dataset_dir
          ? resolve(cwd, entry.dataset_dir)
          : undefined,
      datasetMountPath:
        typeof entry.dataset_mount_path === 'string' && entry.dataset_mount_path
          ? entry.dataset_mount_path
          : '/datasets',
      evaluationMounts: evalMounts,
      deployment: deployment
        ? {
            image: deployment.image,
            command: deployment.command,
            port: deployment.port,
            healthUrl: deployment.healthUrl,
            readinessTimeoutSec: readinessTimeout,
            env: deployment.env,
            volumes,
            serverContainerName: job.serverContainerName!,
            gpus,
            hostCommand: useDocker ? undefined : hostCommand,
            checkpointPath: config.deployment?.checkpoint_path
              ? resolve(cwd, config.deployment.checkpoint_path)
              : '',
          }
        : undefined,
    });
    if (!useDocker) {
      files.push({ path: join(taskDir, 'config_ef.yaml'), text: engineConfigYaml });
      if (preCmd) files.push({ path: join(taskDir, 'pre_cmd.sh'), text: withNewline(preCmd) });
      if (postCmd) files.push({ path: join(taskDir, 'post_cmd.sh'), text: withNewline(postCmd) });
    }
  }

  const ctx: ScriptContext = {
    invocationId,
    invocationDir,
    useDocker,
    extraDockerArgs,
    autoExportDestinations: destinations,
    nelJs: tools.nelJs,
    engineJs: tools.engineJs,
    version: neutral.version,
  };
  for (const sj of scriptJobs)
    files.push({ path: join(sj.taskDir, 'run.sh'), text: renderTaskScript(sj, ctx), mode: 0o755 });
  const entryScript =
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
  files.push(entryScript);

  return {
    invocationId,
    invocationDir,
    outputDir,
    mode,
    maxParallelTasks,
    useDocker,
    jobs,
    resolvedConfig: neutral.resolvedConfig,
    files,
    entryScripts: [entryScript.path],
    warnings: neutral.warnings,
    missingHostVars: neutral.missingHostVars,
    unlistedTasks: neutral.unlistedTasks,
    hasPrePostCmd: neutral.hasPrePostCmd,
  };
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
