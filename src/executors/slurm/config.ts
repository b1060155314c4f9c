/**
 * The typed reader of `execution:` for `type: slurm` (keys of upstream's execution/slurm/default.yaml,
 * plus container_runtime and staging_dir). The launcher schema treats `execution` as a loose map; every
 * Slurm key is checked here, each failure as one line naming the key, with a hint.
 */
import { NelError } from '../../common/errors.js';
import { isPlainObject, type Obj } from '../../common/objects.js';

/** How the pieces of a job run on the nodes. */
export type ContainerRuntime = 'pyxis' | 'docker' | 'none';
export const CONTAINER_RUNTIMES: readonly ContainerRuntime[] = ['pyxis', 'docker', 'none'];

/** One `#SBATCH --<name>[=<value>]` line from `sbatch_extra_flags` (value null: a bare flag). */
export interface SbatchFlag {
  name: string;
  value: string | null;
}

export interface ProxySettings {
  type: 'haproxy';
  image: string;
  port: number;
  healthCheckPath: string;
  healthCheckStatus: number;
}

export interface SlurmSettings {
  hostname: string;
  username: string | null;
  account: string;
  /** Absolute path on the cluster. */
  outputDir: string;
  partition: string;
  cpuPartition: string | null;
  numNodes: number;
  numInstances: number;
  ntasksPerNode: number;
  gres: string | null;
  gpusPerNode: string | null;
  walltime: string;
  walltimeSeconds: number;
  maxWalltime: string | null;
  /** Seconds to wait for a health check: endpoint_readiness_timeout, else the walltime. */
  readinessTimeoutSec: number;
  subproject: string;
  sbatchComment: string | null;
  sbatchExtraFlags: SbatchFlag[];
  /** srun tasks of one deployment instance (deployment.n_tasks / num_instances). */
  deploymentTasksPerInstance: number;
  mounts: {
    deployment: [string, string][];
    evaluation: [string, string][];
    auxiliary: Record<string, [string, string][]>;
    mountHome: boolean;
  };
  proxy: ProxySettings;
  containerRuntime: ContainerRuntime;
  /** Where the scripts are prepared on this machine (null: the default under the home directory). */
  stagingDir: string | null;
  /** NVIDIA_VISIBLE_DEVICES for the evaluation (upstream's evaluation_gpu_visible), or null. */
  evaluationGpuVisible: string | null;
  autoExportDestinations: string[];
}

const invalid = (key: string, message: string, hint: string): NelError =>
  new NelError('CONFIG_INVALID', `execution.${key} ${message}`, { hint });

const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v)));
const setHint = (key: string, example: string): string =>
  `set it in the config or with -o execution.${key}=${example}`;

/**
 * A value that goes into an `#SBATCH` line: sbatch reads those lines with its own tokenizer, which
 * agrees with the shell's single quotes except for backslashes, and a line cannot hold a newline.
 */
export function checkSbatchValue(where: string, value: string): void {
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new NelError('CONFIG_INVALID', `${where} contains a control character (newline, tab, ...)`, {
      hint: 'an #SBATCH line holds one line of text: remove it',
    });
  }
  if (value.includes('\\')) {
    throw new NelError('CONFIG_INVALID', `${where} contains a backslash`, {
      hint: 'sbatch reads a backslash in an #SBATCH line as an escape: remove it',
    });
  }
}

function str(ex: Obj, key: string, example: string, opts: { sbatch?: boolean } = {}): string {
  const v = ex[key];
  if (v === undefined || v === null || v === '') {
    throw invalid(key, 'must be set', setHint(key, example));
  }
  if (typeof v !== 'string') throw invalid(key, `must be a string, got ${show(v)}`, setHint(key, example));
  if (opts.sbatch) checkSbatchValue(`execution.${key}`, v);
  return v;
}

function optStr(ex: Obj, key: string, example: string, opts: { sbatch?: boolean } = {}): string | null {
  const v = ex[key];
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string')
    throw invalid(key, `must be a string or null, got ${show(v)}`, setHint(key, example));
  if (opts.sbatch) checkSbatchValue(`execution.${key}`, v);
  return v;
}

function posInt(ex: Obj, key: string, dflt: number): number {
  const v = ex[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw invalid(key, `must be a positive whole number, got ${show(v)}`, setHint(key, String(dflt)));
  }
  return v;
}

const WALLTIME = /^(?:(\d+)-)?(\d+):([0-5]\d):([0-5]\d)$/;

/** Seconds of a walltime `HH:MM:SS` or `D-HH:MM:SS`, or null when it has neither form. */
export function walltimeSeconds(s: string): number | null {
  const m = WALLTIME.exec(s);
  if (!m) return null;
  return Number(m[1] ?? 0) * 86400 + Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]);
}

function walltime(ex: Obj, key: string, dflt: string | null): { text: string; seconds: number } | null {
  let v = ex[key];
  if (v === undefined) v = dflt;
  if (v === null) return null;
  const hint = `write it as HH:MM:SS or D-HH:MM:SS, quoted in YAML (e.g. ${key}: "04:00:00")`;
  if (typeof v !== 'string') throw invalid(key, `must be HH:MM:SS or D-HH:MM:SS, got ${show(v)}`, hint);
  const seconds = walltimeSeconds(v);
  if (seconds === null || seconds === 0)
    throw invalid(key, `must be HH:MM:SS or D-HH:MM:SS, got ${show(v)}`, hint);
  return { text: v, seconds };
}

function mountPairs(v: unknown, key: string): [string, string][] {
  if (v === undefined || v === null) return [];
  if (!isPlainObject(v))
    throw invalid(key, 'must be a map of host path: container path', `for example ${key}: {/data: /data}`);
  return Object.entries(v).map(([h, c]) => {
    if (typeof c !== 'string' || c === '' || h === '') {
      throw invalid(
        `${key}.${h}`,
        'must map a host path to a container path (non-empty strings)',
        `for example ${key}: {/data: /data}`,
      );
    }
    return [h, c];
  });
}

function readMounts(ex: Obj): SlurmSettings['mounts'] {
  const m = ex.mounts;
  if (m !== undefined && m !== null && !isPlainObject(m))
    throw invalid('mounts', 'must be a map', 'keys: deployment, evaluation, auxiliary, mount_home');
  const mounts = isPlainObject(m) ? m : {};
  const aux = mounts.auxiliary;
  if (aux !== undefined && aux !== null && !isPlainObject(aux)) {
    throw invalid(
      'mounts.auxiliary',
      'must be a map of auxiliary deployment name: {host path: container path}',
      'for example mounts.auxiliary: {judge: {/models: /models}}',
    );
  }
  const auxiliary: Record<string, [string, string][]> = {};
  for (const [name, pairs] of Object.entries(isPlainObject(aux) ? aux : {}))
    auxiliary[name] = mountPairs(pairs, `mounts.auxiliary.${name}`);
  const home = mounts.mount_home;
  if (home !== undefined && home !== null && typeof home !== 'boolean')
    throw invalid(
      'mounts.mount_home',
      `must be true or false, got ${show(home)}`,
      setHint('mounts.mount_home', 'false'),
    );
  return {
    deployment: mountPairs(mounts.deployment, 'mounts.deployment'),
    evaluation: mountPairs(mounts.evaluation, 'mounts.evaluation'),
    auxiliary,
    mountHome: home !== false,
  };
}

function readExtraFlags(ex: Obj): SbatchFlag[] {
  const v = ex.sbatch_extra_flags;
  if (v === undefined || v === null) return [];
  const hint =
    'write a map of flag name: value, e.g. sbatch_extra_flags: {exclusive: true, constraint: h100}';
  if (!isPlainObject(v)) throw invalid('sbatch_extra_flags', `must be a map, got ${show(v)}`, hint);
  const out: SbatchFlag[] = [];
  for (const [name, value] of Object.entries(v)) {
    const key = `sbatch_extra_flags.${name}`;
    if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(name))
      throw invalid(
        key,
        'is not an sbatch option name',
        'use the long option without its dashes, e.g. constraint',
      );
    if (value === null || value === false) continue;
    if (value === true) {
      out.push({ name, value: null });
      continue;
    }
    if (typeof value !== 'string' && typeof value !== 'number')
      throw invalid(key, `must be a string, number, true, false or null, got ${show(value)}`, hint);
    const text = String(value);
    checkSbatchValue(`execution.${key}`, text);
    out.push({ name, value: text });
  }
  return out;
}

function readProxy(ex: Obj): ProxySettings {
  const p = ex.proxy;
  if (p !== undefined && p !== null && !isPlainObject(p))
    throw invalid(
      'proxy',
      'must be a map',
      'keys: type, image, config.{haproxy_port, health_check_path, health_check_status}',
    );
  const proxy = isPlainObject(p) ? p : {};
  const type = proxy.type ?? 'haproxy';
  if (type !== 'haproxy')
    throw invalid(
      'proxy.type',
      `must be haproxy, got ${show(type)}`,
      'only HAProxy is supported in front of several instances',
    );
  const image = proxy.image ?? 'haproxy:latest';
  if (typeof image !== 'string' || image === '')
    throw invalid(
      'proxy.image',
      `must be an image name, got ${show(image)}`,
      setHint('proxy.image', 'haproxy:latest'),
    );
  const c = proxy.config;
  if (c !== undefined && c !== null && !isPlainObject(c))
    throw invalid(
      'proxy.config',
      'must be a map',
      'keys: haproxy_port, health_check_path, health_check_status',
    );
  const cfg = isPlainObject(c) ? c : {};
  const port = cfg.haproxy_port ?? 5009;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
    throw invalid(
      'proxy.config.haproxy_port',
      `must be a port number (1-65535), got ${show(port)}`,
      setHint('proxy.config.haproxy_port', '5009'),
    );
  const path = cfg.health_check_path ?? '/health';
  if (typeof path !== 'string' || !/^\/[\x21-\x7e]*$/.test(path))
    throw invalid(
      'proxy.config.health_check_path',
      `must be a URL path starting with /, got ${show(path)}`,
      setHint('proxy.config.health_check_path', '/health'),
    );
  const status = cfg.health_check_status ?? 200;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599)
    throw invalid(
      'proxy.config.health_check_status',
      `must be an HTTP status code, got ${show(status)}`,
      setHint('proxy.config.health_check_status', '200'),
    );
  return { type: 'haproxy', image, port, healthCheckPath: path, healthCheckStatus: status };
}

/** Characters the container runtimes cannot take in a mount source (pyxis splits at ',' and ':'). */
function checkMountablePath(where: string, path: string, runtime: ContainerRuntime): void {
  const bad = runtime === 'pyxis' ? /[,:]/ : runtime === 'docker' ? /:/ : null;
  if (bad && bad.test(path)) {
    throw new NelError(
      'CONFIG_INVALID',
      `${where} contains '${bad.exec(path)![0]}', which ${runtime} cannot mount: ${path}`,
      {
        hint: runtime === 'pyxis' ? "choose a path without ',' or ':'" : "choose a path without ':'",
      },
    );
  }
}

/** `execution:` of a Slurm config, checked and typed. */
export function readSlurmSettings(execution: unknown, opts: { noDocker?: boolean } = {}): SlurmSettings {
  if (!isPlainObject(execution)) {
    throw new NelError('CONFIG_INVALID', 'execution must be a map', {
      hint: 'start from defaults: [{execution: slurm/default}]',
    });
  }
  const ex = execution;
  if (ex.type !== 'slurm')
    throw invalid(
      'type',
      `must be slurm, got ${show(ex.type)}`,
      'select the executor with execution: slurm/default',
    );
  const hostname = str(ex, 'hostname', 'login.cluster.example');
  if (!/^[A-Za-z0-9._@:[\]-]+$/.test(hostname))
    throw invalid(
      'hostname',
      `is not a host name: ${show(hostname)}`,
      'give the login node, e.g. login.cluster.example',
    );
  const username = optStr(ex, 'username', 'alice');
  if (username !== null && !/^[A-Za-z0-9._][A-Za-z0-9._-]*$/.test(username))
    throw invalid('username', `is not a user name: ${show(username)}`, setHint('username', 'alice'));
  const account = str(ex, 'account', 'my-account', { sbatch: true });
  const outputDir = str(ex, 'output_dir', '/lustre/me/results', { sbatch: true });
  if (!outputDir.startsWith('/'))
    throw invalid(
      'output_dir',
      `must be an absolute path on the cluster, got ${show(outputDir)}`,
      'use the absolute path of a directory the compute nodes see, e.g. /lustre/me/results',
    );

  let runtime = ex.container_runtime ?? 'pyxis';
  if (typeof runtime !== 'string' || !(CONTAINER_RUNTIMES as readonly string[]).includes(runtime))
    throw invalid(
      'container_runtime',
      `must be one of pyxis, docker, none, got ${show(runtime)}`,
      setHint('container_runtime', 'pyxis'),
    );
  if (opts.noDocker) runtime = 'none';
  if (ex.use_docker === false) runtime = 'none';
  const containerRuntime = runtime as ContainerRuntime;
  checkMountablePath('execution.output_dir', outputDir, containerRuntime);

  const numNodes = posInt(ex, 'num_nodes', 1);
  const numInstances = posInt(ex, 'num_instances', 1);
  if (numNodes % numInstances !== 0) {
    throw invalid(
      'num_nodes',
      `(${numNodes}) must be divisible by execution.num_instances (${numInstances})`,
      'each instance gets num_nodes / num_instances nodes',
    );
  }
  const ntasksPerNode = posInt(ex, 'ntasks_per_node', 1);

  const dep = ex.deployment;
  if (dep !== undefined && dep !== null && !isPlainObject(dep))
    throw invalid('deployment', 'must be a map', 'key: n_tasks');
  const nTasksRaw = isPlainObject(dep) ? dep.n_tasks : undefined;
  const nTasks = nTasksRaw === undefined || nTasksRaw === null ? numNodes : nTasksRaw;
  if (typeof nTasks !== 'number' || !Number.isInteger(nTasks) || nTasks < 1)
    throw invalid(
      'deployment.n_tasks',
      `must be a positive whole number, got ${show(nTasks)}`,
      setHint('deployment.n_tasks', String(numNodes)),
    );
  if (nTasks % numInstances !== 0)
    throw invalid(
      'deployment.n_tasks',
      `(${nTasks}) must be divisible by execution.num_instances (${numInstances})`,
      'each instance runs n_tasks / num_instances srun tasks',
    );

  const gres = optStr(ex, 'gres', 'gpu:8', { sbatch: true });
  const gpn = ex.gpus_per_node;
  let gpusPerNode: string | null = null;
  if (gpn !== undefined && gpn !== null && gpn !== '') {
    if (typeof gpn !== 'number' && typeof gpn !== 'string')
      throw invalid(
        'gpus_per_node',
        `must be a number or a string, got ${show(gpn)}`,
        setHint('gpus_per_node', '8'),
      );
    gpusPerNode = String(gpn);
    checkSbatchValue('execution.gpus_per_node', gpusPerNode);
  }

  const wt = walltime(ex, 'walltime', '01:00:00')!;
  const maxWt = walltime(ex, 'max_walltime', '120:00:00');
  const ert = ex.endpoint_readiness_timeout;
  let readinessTimeoutSec = wt.seconds;
  if (ert !== undefined && ert !== null) {
    if (typeof ert !== 'number' || !Number.isInteger(ert) || ert < 1)
      throw invalid(
        'endpoint_readiness_timeout',
        `must be a positive whole number of seconds or null, got ${show(ert)}`,
        setHint('endpoint_readiness_timeout', '3600'),
      );
    readinessTimeoutSec = ert;
  }

  const subproject = ex.subproject ?? 'nemo-evaluator-launcher';
  if (typeof subproject !== 'string')
    throw invalid(
      'subproject',
      `must be a string, got ${show(subproject)}`,
      setHint('subproject', 'nemo-evaluator-launcher'),
    );
  checkSbatchValue('execution.subproject', subproject);

  const gpuVisible = ex.evaluation_gpu_visible;
  let evaluationGpuVisible: string | null = null;
  if (gpuVisible === true) evaluationGpuVisible = 'all';
  else if (typeof gpuVisible === 'string' && gpuVisible !== '') {
    if (!/^[A-Za-z0-9,-]+$/.test(gpuVisible))
      throw invalid(
        'evaluation_gpu_visible',
        `must be true, false, all or a list of GPU indices, got ${show(gpuVisible)}`,
        'for example evaluation_gpu_visible: "0,1"',
      );
    evaluationGpuVisible = gpuVisible;
  } else if (gpuVisible !== undefined && gpuVisible !== null && gpuVisible !== false)
    throw invalid(
      'evaluation_gpu_visible',
      `must be true, false, all or a list of GPU indices, got ${show(gpuVisible)}`,
      'for example evaluation_gpu_visible: true',
    );

  const ae = ex.auto_export;
  const destinations =
    isPlainObject(ae) && Array.isArray(ae.destinations)
      ? ae.destinations.map(String)
      : Array.isArray(ae)
        ? ae.map(String)
        : [];

  const mounts = readMounts(ex);
  for (const [h] of [...mounts.deployment, ...mounts.evaluation, ...Object.values(mounts.auxiliary).flat()])
    checkMountablePath(`execution.mounts: the host path`, h, containerRuntime);
  if (containerRuntime === 'docker') {
    for (const [h] of [...mounts.deployment, ...mounts.evaluation])
      if (!h.startsWith('/'))
        throw new NelError(
          'CONFIG_INVALID',
          `execution.mounts: the host path ${show(h)} must be absolute with container_runtime docker`,
          {
            hint: 'give the absolute path on the cluster',
          },
        );
  }

  return {
    hostname,
    username,
    account,
    outputDir: outputDir.length > 1 ? outputDir.replace(/\/+$/, '') : outputDir,
    partition: str(ex, 'partition', 'batch', { sbatch: true }),
    cpuPartition: optStr(ex, 'cpu_partition', 'cpu', { sbatch: true }),
    numNodes,
    numInstances,
    ntasksPerNode,
    gres,
    gpusPerNode,
    walltime: wt.text,
    walltimeSeconds: wt.seconds,
    maxWalltime: maxWt ? maxWt.text : null,
    readinessTimeoutSec,
    subproject,
    sbatchComment: optStr(ex, 'sbatch_comment', 'my-comment', { sbatch: true }),
    sbatchExtraFlags: readExtraFlags(ex),
    deploymentTasksPerInstance: nTasks / numInstances,
    mounts,
    proxy: readProxy(ex),
    containerRuntime,
    stagingDir: optStr(ex, 'staging_dir', '/tmp/nel-staging'),
    evaluationGpuVisible,
    autoExportDestinations: destinations,
  };
}
