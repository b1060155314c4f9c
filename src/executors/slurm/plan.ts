/**
 * The Slurm executor's plan: the neutral plan (launcher/plan.ts) rendered into one `run.sub` per task
 * in upstream's layout `<output_dir>/<YYYYmmdd_HHMMSS>-<invocation>/<task>.<i>/{run.sub,logs,artifacts}`.
 *
 * `execution.output_dir` is a path on the cluster; the files are prepared in the same layout under a
 * staging directory on this machine (`execution.staging_dir`, default ~/.nemo-evaluator/slurm-staging),
 * which is what the plan writes. Copied to output_dir on the cluster, each run.sub is what sbatch takes.
 * buildSlurmPlan is pure (writes nothing, throws NelError for every config problem).
 */
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { launcherConfig, resolveInterpolations, type LoadedConfig } from '../../config/index.js';
import { NelError } from '../../common/errors.js';
import { isPlainObject, type Obj } from '../../common/objects.js';
import { dumpYaml } from '../../common/yaml.js';
import { dumpEngineConfig } from '../../launcher/engine-config.js';
import { describeEnvSource, mergeEnvGroups, parseEnvVarsMap } from '../../launcher/env-vars.js';
import {
  defaultToolPaths,
  invalidConfig as invalid,
  planInvocation,
  type BuildPlanOptions,
} from '../../launcher/plan.js';
import type { EnvVarSpec, InvocationPlan, JobPlan } from '../../launcher/types.js';
import { checkSbatchValue, readSlurmSettings, type SlurmSettings } from './config.js';
import {
  CONTAINER_RESULTS_DIR,
  renderExportSub,
  renderHaproxyConfig,
  renderRunSub,
  slurmJobName,
  type SlurmAuxDeploymentSpec,
  type SlurmDeploymentSpec,
  type SlurmScriptContext,
  type SlurmScriptJob,
} from './render.js';

/** A job of a Slurm plan: where its files are on the cluster and here. */
export interface SlurmJobPlan {
  jobId: string;
  jobName: string;
  /** The task directory on the cluster. */
  remoteTaskDir: string;
  /** `<remoteTaskDir>/run.sub`: what sbatch is given. */
  remoteRunSub: string;
  /** The staged copy of run.sub on this machine. */
  stagedRunSub: string;
}

/** The Slurm part of a plan: what launching needs beyond the files. */
export interface SlurmPlanInfo {
  hostname: string;
  username: string | null;
  /** execution.output_dir on the cluster. */
  remoteOutputDir: string;
  /** `<remoteOutputDir>/<stamp>-<invocation>`: where the staged invocation directory goes. */
  remoteInvocationDir: string;
  containerRuntime: SlurmSettings['containerRuntime'];
  jobs: SlurmJobPlan[];
  /**
   * Names of the launcher's variables the jobs read (`host:` sources of every group): sbatch must be
   * run with them set. Names only; the values are read from the environment when submitting.
   */
  hostVars: string[];
  /** Paths that must exist on the cluster before anything is submitted (mount sources, the engine). */
  pathChecks: SlurmPathCheck[];
}

/** A path checked on the cluster (`test -d` / `test -f`) before the invocation is copied there. */
export interface SlurmPathCheck {
  path: string;
  kind: 'dir' | 'file';
  /** Where the config names it, for the error message. */
  what: string;
}

export interface SlurmInvocationPlan extends InvocationPlan {
  slurm: SlurmPlanInfo;
}

export const isSlurmPlan = (p: InvocationPlan): p is SlurmInvocationPlan =>
  isPlainObject((p as Partial<SlurmInvocationPlan>).slurm);

const obj = (v: unknown): Obj => (isPlainObject(v) ? v : {});
const withNewline = (s: string): string => (s.endsWith('\n') ? s : s + '\n');

/** The root the invocation directories are staged under on this machine. */
export function stagingRoot(settings: SlurmSettings, opts: BuildPlanOptions): string {
  const cwd = opts.cwd ?? process.cwd();
  if (settings.stagingDir !== null) return resolve(cwd, settings.stagingDir);
  return join(opts.env.HOME || homedir(), '.nemo-evaluator', 'slurm-staging');
}

/** The model server's mounts: artifacts, checkpoint, cache and execution.mounts.deployment. */
function deploymentMounts(deployment: Obj, settings: SlurmSettings, remoteTaskDir: string): string[] {
  const mounts = [`${remoteTaskDir}/artifacts:${CONTAINER_RESULTS_DIR}`];
  const cp = deployment.checkpoint_path;
  if (typeof cp === 'string' && cp) mounts.push(`${cp}:/checkpoint:ro`);
  const cache = deployment.cache_path;
  if (typeof cache === 'string' && cache) mounts.push(`${cache}:/cache`);
  for (const [h, c] of settings.mounts.deployment) mounts.push(`${h}:${c}`);
  return mounts;
}

/** Runtime `none` has no container to mount anything into (a task's dataset_dir is used where it is). */
function checkNoContainerMounts(
  settings: SlurmSettings,
  deployment: Obj | undefined,
  at = 'deployment',
): void {
  if (settings.containerRuntime !== 'none') return;
  const hint = 'use container_runtime pyxis or docker, or drop the mounts (the node sees its own paths)';
  if (settings.mounts.deployment.length > 0 || settings.mounts.evaluation.length > 0)
    throw invalid(
      'execution.mounts cannot be used with execution.container_runtime none: nothing runs in a container',
      hint,
    );
  for (const key of ['checkpoint_path', 'cache_path'])
    if (deployment && typeof deployment[key] === 'string' && deployment[key])
      throw invalid(`${at}.${key} cannot be mounted with execution.container_runtime none`, hint);
}

/** The Slurm executor's plan of an invocation: jobs, run.sub scripts and the staged files. */
export function buildSlurmPlan(loaded: LoadedConfig, opts: BuildPlanOptions): SlurmInvocationPlan {
  const resolved = loaded.resolved as Obj;
  const config = launcherConfig(loaded);
  const settings = readSlurmSettings(config.execution, { noDocker: opts.noDocker });
  const deploymentCfg = obj(resolved.deployment);
  if (deploymentCfg.multiple_instances !== undefined && deploymentCfg.multiple_instances !== null) {
    throw invalid(
      'deployment.multiple_instances is no longer supported',
      'use execution.num_instances (instances) and execution.num_nodes (all their nodes; divisible by num_instances)',
    );
  }
  const auxiliary = readAuxiliaryDeployments(loaded, settings, opts.env);
  const multi = settings.numInstances > 1;
  // the resolved config the jobs record shows each auxiliary deployment with its own values
  const withAux: LoadedConfig =
    auxiliary.length === 0
      ? loaded
      : {
          ...loaded,
          resolved: {
            ...loaded.resolved,
            auxiliary_deployments: {
              ...obj(resolved.auxiliary_deployments),
              ...Object.fromEntries(auxiliary.map((a) => [a.spec.name, a.cfg])),
            },
          },
        };
  const neutral = planInvocation(withAux, opts, {
    engineOutputDir: (taskDir) =>
      settings.containerRuntime === 'none' ? join(taskDir, 'artifacts') : CONTAINER_RESULTS_DIR,
    // several instances are reached through the load balancer
    endpointPort: (port) => (multi ? settings.proxy.port : port),
  });
  const { deployment, invocationId } = neutral;
  const remoteInvocationDir = neutral.invocationDir;
  const root = stagingRoot(settings, opts);
  const invocationDir = join(root, basename(remoteInvocationDir));
  const tools = opts.toolPaths ?? defaultToolPaths();
  checkNoContainerMounts(settings, deployment ? deploymentCfg : undefined);
  for (const a of auxiliary) {
    checkNoContainerMounts(settings, a.cfg, `auxiliary_deployments.${a.spec.name}`);
    if (settings.containerRuntime === 'none' && (settings.mounts.auxiliary[a.spec.name] ?? []).length > 0)
      throw invalid(
        `execution.mounts.auxiliary.${a.spec.name} cannot be used with execution.container_runtime none: nothing runs in a container`,
        'use container_runtime pyxis or docker, or drop the mounts (the node sees its own paths)',
      );
  }

  const deployPreCmd = deployment && typeof deploymentCfg.pre_cmd === 'string' ? deploymentCfg.pre_cmd : '';
  const exportEnv = mergeEnvGroups(
    parseEnvVarsMap(resolved.env_vars, 'env_vars'),
    parseEnvVarsMap(obj(resolved.export).env_vars, 'export.env_vars'),
  );
  const warnings = [...neutral.warnings];
  if (deployPreCmd && !neutral.hasPrePostCmd) {
    warnings.push('The config has a deployment pre_cmd; a real run needs NEMO_EVALUATOR_TRUST_PRE_CMD=1.');
  }
  const relativeMounts = settings.mounts.evaluation
    .concat(settings.mounts.deployment)
    .filter(([h]) => !h.startsWith('/'))
    .map(([h]) => h);
  if (relativeMounts.length > 0) {
    warnings.push(
      `relative mount paths (${relativeMounts.join(', ')}) are taken from the job's working directory on the cluster; prefer absolute paths`,
    );
  }

  const hostVars = new Set<string>();
  const addHostVars = (specs: EnvVarSpec[]): void => {
    for (const e of specs) if (e.source.kind === 'host') hostVars.add(e.source.name);
  };
  if (deployment) addHostVars(deployment.env);
  for (const a of auxiliary) addHostVars(a.spec.env);
  if (settings.autoExportDestinations.length > 0) addHostVars(exportEnv);
  const pathChecks: SlurmPathCheck[] = [];
  const checkPath = (path: string, kind: 'dir' | 'file', what: string): void => {
    if (path.startsWith('/') && !pathChecks.some((c) => c.path === path && c.kind === kind))
      pathChecks.push({ path, kind, what });
  };
  if (deployment) {
    for (const key of ['checkpoint_path', 'cache_path'])
      if (typeof deploymentCfg[key] === 'string' && deploymentCfg[key])
        checkPath(deploymentCfg[key] as string, 'dir', `deployment.${key}`);
    for (const [h] of settings.mounts.deployment) checkPath(h, 'dir', 'execution.mounts.deployment');
  }
  for (const a of auxiliary) {
    for (const key of ['checkpoint_path', 'cache_path'])
      if (typeof a.cfg[key] === 'string' && a.cfg[key])
        checkPath(a.cfg[key] as string, 'dir', `auxiliary_deployments.${a.spec.name}.${key}`);
    for (const [h] of settings.mounts.auxiliary[a.spec.name] ?? [])
      checkPath(h, 'dir', `execution.mounts.auxiliary.${a.spec.name}`);
  }
  for (const [h] of settings.mounts.evaluation) checkPath(h, 'dir', 'execution.mounts.evaluation');
  if (settings.containerRuntime === 'none')
    checkPath(
      tools.engineJs,
      'file',
      'the engine of this installation (container_runtime none runs it on the nodes)',
    );

  const jobs: JobPlan[] = [];
  const slurmJobs: SlurmJobPlan[] = [];
  const files: InvocationPlan['files'] = [];
  for (const nj of neutral.jobs) {
    const remoteTaskDir = nj.taskDir;
    const stagedTaskDir = join(invocationDir, nj.uniqueName);
    checkSbatchValue(`evaluation.tasks[${nj.index}].name`, nj.taskName);
    const jobName = slurmJobName(settings, nj.uniqueName);
    const { text: engineConfigYaml, vars: configVars } = replaceAuxiliaryReferences(
      dumpEngineConfig(nj.engineConfig),
      auxiliary.map((a) => a.spec),
    );
    const entry = nj.entry;
    const datasetDir =
      typeof entry.dataset_dir === 'string' && entry.dataset_dir ? entry.dataset_dir : undefined;
    const datasetMountPath =
      typeof entry.dataset_mount_path === 'string' && entry.dataset_mount_path
        ? entry.dataset_mount_path
        : '/datasets';
    addHostVars(nj.env);
    if (datasetDir) checkPath(datasetDir, 'dir', `evaluation.tasks[${nj.index}].dataset_dir`);
    const sj: SlurmScriptJob = {
      jobId: nj.jobId,
      taskName: nj.taskName,
      taskDir: remoteTaskDir,
      evalImage: nj.evalImage,
      env: nj.env,
      engineConfigYaml,
      preCmd: nj.preCmd,
      postCmd: nj.postCmd,
      unresolvedConfigText: neutral.sourceText,
      dataset: datasetDir ? { host: datasetDir, mountPath: datasetMountPath } : undefined,
      ...(configVars.length > 0 ? { configVars } : {}),
    };
    const dep: SlurmDeploymentSpec | undefined = deployment
      ? {
          type: deployment.type,
          image: deployment.image,
          command: deployment.command,
          preCmd: deployPreCmd,
          port: deployment.port,
          healthPath: deployment.endpoints.health ?? '/health',
          env: deployment.env,
          mounts: deploymentMounts(deploymentCfg, settings, remoteTaskDir),
        }
      : undefined;
    const ctx: SlurmScriptContext = {
      invocationId,
      version: neutral.version,
      settings,
      deployment: dep,
      ...(auxiliary.length > 0 ? { auxiliary: auxiliary.map((a) => a.spec) } : {}),
      exportEnv,
      outputDir: neutral.outputDir,
      engineJs: tools.engineJs,
      nelJs: tools.nelJs,
    };
    const stagedRunSub = join(stagedTaskDir, 'run.sub');
    files.push({ path: stagedRunSub, text: renderRunSub(sj, ctx, jobName), mode: 0o755 });
    if (dep && multi) {
      const proxyCfg = renderHaproxyConfig(settings, dep.port);
      files.push({ path: join(stagedTaskDir, 'proxy.cfg.template'), text: proxyCfg });
      files.push({ path: join(stagedTaskDir, 'proxy.cfg'), text: proxyCfg });
    }
    if (settings.containerRuntime === 'none') {
      files.push({ path: join(stagedTaskDir, 'config_ef.yaml'), text: engineConfigYaml });
      if (nj.preCmd) files.push({ path: join(stagedTaskDir, 'pre_cmd.sh'), text: withNewline(nj.preCmd) });
      if (nj.postCmd) files.push({ path: join(stagedTaskDir, 'post_cmd.sh'), text: withNewline(nj.postCmd) });
    }
    if (settings.autoExportDestinations.length > 0) {
      files.push({
        path: join(stagedTaskDir, 'export.sub'),
        text: renderExportSub(sj, ctx, jobName),
        mode: 0o755,
      });
      files.push({
        path: join(stagedTaskDir, 'export_config.yml'),
        text: dumpYaml({ export: obj(neutral.resolvedConfig.export) }),
      });
    }
    jobs.push({
      index: nj.index,
      jobId: nj.jobId,
      taskName: nj.taskName,
      uniqueName: nj.uniqueName,
      taskDir: stagedTaskDir,
      task: nj.task,
      evalImage: nj.evalImage,
      builtinAlternative: nj.builtinAlternative,
      containerName: '',
      env: nj.env,
      engineConfig: nj.engineConfig,
    });
    slurmJobs.push({
      jobId: nj.jobId,
      jobName,
      remoteTaskDir,
      remoteRunSub: join(remoteTaskDir, 'run.sub'),
      stagedRunSub,
    });
  }

  return {
    invocationId,
    invocationDir,
    outputDir: root,
    mode: 'parallel',
    maxParallelTasks: null,
    useDocker: settings.containerRuntime === 'docker',
    jobs,
    resolvedConfig: neutral.resolvedConfig,
    files,
    entryScripts: slurmJobs.map((j) => j.stagedRunSub),
    warnings,
    missingHostVars: neutral.missingHostVars,
    unlistedTasks: neutral.unlistedTasks,
    hasPrePostCmd: neutral.hasPrePostCmd || deployPreCmd !== '',
    slurm: {
      hostname: settings.hostname,
      username: settings.username,
      remoteOutputDir: neutral.outputDir,
      remoteInvocationDir,
      containerRuntime: settings.containerRuntime,
      jobs: slurmJobs,
      hostVars: [...hostVars],
      pathChecks,
    },
  };
}

/**
 * `auxiliary_deployments.<name>` with a type other than none: each runs on `num_nodes` nodes of its
 * own (default 1) after the deployment's. Its `${deployment.*}` interpolations (the packaged
 * deployment configs' commands use them) are resolved against the auxiliary deployment itself, so
 * `deployment/vllm@auxiliary_deployments.judge` with `port: 8001` serves on 8001.
 */
function readAuxiliaryDeployments(
  loaded: LoadedConfig,
  settings: SlurmSettings,
  env: NodeJS.ProcessEnv,
): { spec: SlurmAuxDeploymentSpec; cfg: Obj }[] {
  const resolved = loaded.resolved as Obj;
  const raw = loaded.raw as Obj;
  const out: { spec: SlurmAuxDeploymentSpec; cfg: Obj }[] = [];
  for (const [name, value] of Object.entries(obj(resolved.auxiliary_deployments))) {
    if (!isPlainObject(value) || value.type === undefined || value.type === null || value.type === 'none')
      continue;
    const at = `auxiliary_deployments.${name}`;
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name))
      throw invalid(
        `${at}: the name must be letters, digits and _ (it names the variables of its URLs)`,
        'rename it, e.g. auxiliary_deployments.judge',
      );
    // the auxiliary deployment as `deployment`: its own values fill its command
    const rawAux = obj(obj(raw.auxiliary_deployments)[name]);
    const own = obj(
      resolveInterpolations({ ...raw, deployment: rawAux }, { env, source: loaded.sourcePath }).deployment,
    );
    const str = (key: string): string => (typeof own[key] === 'string' ? (own[key] as string) : '');
    if (!str('image')) throw invalid(`${at}.image must be set`, `set ${at}.image to the server's image`);
    if (!str('command'))
      throw invalid(`${at}.command must be set`, `set ${at}.command to the command that starts it`);
    const port = own.port ?? 8000;
    if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535)
      throw invalid(`${at}.port must be a port number, got ${JSON.stringify(port)}`, `e.g. ${at}.port: 8001`);
    const numNodes = own.num_nodes ?? 1;
    if (!Number.isInteger(numNodes) || (numNodes as number) < 1)
      throw invalid(
        `${at}.num_nodes must be a positive integer, got ${JSON.stringify(numNodes)}`,
        `e.g. ${at}.num_nodes: 1`,
      );
    const endpoints = obj(own.endpoints);
    const urls = Object.entries(endpoints)
      .filter(([ep, path]) => ep !== 'health' && typeof path === 'string')
      .map(([ep, path]) => ({ name: `${name}_${ep}_URL`.toUpperCase(), path: path as string }));
    out.push({
      cfg: own,
      spec: {
        name,
        type: String(own.type),
        image: str('image'),
        command: str('command'),
        preCmd: str('pre_cmd'),
        port: port as number,
        healthPath: typeof endpoints.health === 'string' ? endpoints.health : '/health',
        env: mergeEnvGroups(
          parseEnvVarsMap(resolved.env_vars, 'env_vars'),
          parseEnvVarsMap(own.env_vars, `${at}.env_vars`),
        ),
        mounts: auxiliaryMounts(own, settings, name),
        numNodes: numNodes as number,
        urls,
        servedModelName: typeof own.served_model_name === 'string' ? own.served_model_name : undefined,
      },
    });
  }
  return out;
}

function auxiliaryMounts(aux: Obj, settings: SlurmSettings, name: string): string[] {
  const mounts: string[] = [];
  if (typeof aux.checkpoint_path === 'string' && aux.checkpoint_path)
    mounts.push(`${aux.checkpoint_path}:/checkpoint:ro`);
  if (typeof aux.cache_path === 'string' && aux.cache_path) mounts.push(`${aux.cache_path}:/cache`);
  for (const [h, c] of settings.mounts.auxiliary[name] ?? []) mounts.push(`${h}:${c}`);
  return mounts;
}

/**
 * Upstream's text replacement in config_ef.yaml: `auxiliary_deployments.<n>.model_id` becomes the
 * served model name, `auxiliary_deployments.<n>.<endpoint>_url` the placeholder `${<N>_<ENDPOINT>_URL}`
 * that the job fills in once the auxiliary deployment runs (its node is known then).
 */
export function replaceAuxiliaryReferences(
  text: string,
  aux: SlurmAuxDeploymentSpec[],
): { text: string; vars: string[] } {
  const vars: string[] = [];
  for (const a of aux) {
    const ref = `auxiliary_deployments.${a.name}.`;
    if (a.servedModelName !== undefined) text = text.split(`${ref}model_id`).join(a.servedModelName);
    for (const u of a.urls) {
      const ep = u.name.slice(a.name.length + 1, -'_URL'.length).toLowerCase();
      const key = `${ref}${ep}_url`;
      if (!text.includes(key)) continue;
      text = text.split(key).join(`\${${u.name}}`);
      vars.push(u.name);
    }
  }
  return { text, vars };
}

const envLine = (s: EnvVarSpec): string => `${s.target} <- ${describeEnvSource(s)}`;

/** What `nel run --dry-run` prints: config, directories, jobs, variables (names only), scripts, warnings. */
export function formatSlurmDryRun(plan: InvocationPlan, loaded: LoadedConfig): string {
  if (!isSlurmPlan(plan)) throw new NelError('INTERNAL', 'not a Slurm plan');
  const s = plan.slurm;
  const out: string[] = [];
  out.push('# Configuration (as composed, before interpolation)', dumpYaml(loaded.raw).trimEnd(), '');
  out.push(`Invocation: ${plan.invocationId}`);
  out.push(`Cluster:    ${s.username ? `${s.username}@` : ''}${s.hostname}`);
  out.push(`Directory:  ${s.remoteInvocationDir} (on the cluster)`);
  out.push(`Staged in:  ${plan.invocationDir}`);
  out.push(`Runs with:  container_runtime ${s.containerRuntime}`);
  out.push('', 'Jobs:');
  plan.jobs.forEach((j, i) => {
    const sj = s.jobs[i]!;
    out.push(`  ${j.jobId}  ${j.taskName}`);
    out.push(`    harness: ${j.task.harness || '(unknown)'}${j.task.isUnlisted ? ' (unlisted)' : ''}`);
    out.push(`    image: ${j.evalImage}`);
    out.push(`    endpoint type: ${j.task.endpointType}`);
    out.push(`    slurm job name: ${sj.jobName}`);
    out.push(`    dir: ${sj.remoteTaskDir}`);
    if (j.env.length > 0) {
      out.push('    environment (names only; values are read when the job runs):');
      for (const e of j.env) out.push(`      ${envLine(e)}`);
    }
  });
  for (const path of plan.entryScripts) {
    const f = plan.files.find((x) => x.path === path);
    out.push('', `# ${path}`, f ? f.text.trimEnd() : '');
  }
  for (const f of plan.files.filter((x) => x.path.endsWith('/proxy.cfg.template')))
    out.push('', `# ${f.path}`, f.text.trimEnd());
  out.push(
    '',
    `DRY RUN: Scripts prepared and saved to ${plan.invocationDir}`,
    `On the cluster they belong in ${s.remoteInvocationDir}; each <task>/run.sub is submitted with sbatch.`,
  );
  for (const w of plan.warnings) out.push(`warning: ${w}`);
  return out.join('\n') + '\n';
}
