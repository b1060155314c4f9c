import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { StatusEntry } from '../../src/executors/types.js';
import { nelAsync } from './cli.js';
import { repoRoot, sharedPath } from './paths.js';

/**
 * The project's real Slurm cluster (scripts/slurm-cluster.sh): one slurmctld and several slurmd on
 * 127.0.0.1, plus an SSH login node. Test files share one cluster (the default state directory);
 * `up` holds a lock, so files running at the same time may all call ensureSlurmCluster().
 */

export interface SlurmCluster {
  /** The state directory (config, logs, munge, spool). */
  dir: string;
  /** What Slurm client commands need to reach this cluster. */
  env: { SLURM_CONF: string };
  /** Node names, node1..nodeN. */
  nodes: string[];
  /** Settings that point scripts/slurm-cluster.sh at this cluster (for stop-node, start-node, down). */
  scriptEnv: Record<string, string>;
}

export interface LoginNode {
  host: string;
  port: number;
  user: string;
  /** Private key accepted by the login node. */
  keyPath: string;
  /** known_hosts holding the login node's host key. */
  knownHostsPath: string;
  /** An ssh_config defining `hostAlias` with all of the above (`ssh -F sshConfigPath hostAlias`). */
  sshConfigPath: string;
  hostAlias: string;
  /** ssh options to connect to user@host non-interactively: `ssh ...sshOptions user@host CMD`. */
  sshOptions: string[];
  /** SLURM_CONF that sessions on the login node get from its sshd. */
  env: { SLURM_CONF: string };
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ClusterSettings {
  /** State directory; default NEL_SLURM_DIR or /tmp/nel-slurm. */
  dir?: string;
  /** slurmctld port; node K listens on portBase+K. Default NEL_SLURM_PORT_BASE or 17800. */
  portBase?: number;
  nodes?: number;
  /** NEL_SLURM_PREEMPT=1: partition `high` preempts (cancels) jobs of `batch` and `cpu`. */
  preempt?: boolean;
}

export const slurmScript = (): string => join(repoRoot(), 'scripts', 'slurm-cluster.sh');

const defaultDir = (): string => process.env.NEL_SLURM_DIR || '/tmp/nel-slurm';

function settingsEnv(s: ClusterSettings): Record<string, string> {
  const env: Record<string, string> = { NEL_SLURM_DIR: s.dir ?? defaultDir() };
  const base = s.portBase ?? process.env.NEL_SLURM_PORT_BASE;
  if (base !== undefined && base !== '') env.NEL_SLURM_PORT_BASE = String(base);
  if (process.env.NEL_SLURM_SSH_PORT) env.NEL_SLURM_SSH_PORT = process.env.NEL_SLURM_SSH_PORT;
  if (s.preempt) env.NEL_SLURM_PREEMPT = '1';
  return env;
}

/** Run a command with a deadline; never throws (the result carries the exit code). */
export function run(
  file: string,
  args: string[],
  opts: { env?: Record<string, string | undefined>; timeoutMs?: number; cwd?: string } = {},
): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        env: { ...process.env, ...opts.env },
        cwd: opts.cwd,
        timeout: opts.timeoutMs ?? 30_000,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        // 124 for a command killed at its deadline (as timeout(1) reports), 127 for one not found.
        const code = !err ? 0 : typeof err.code === 'number' ? err.code : err.code === 'ENOENT' ? 127 : 124;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Run scripts/slurm-cluster.sh SUBCOMMAND against the cluster in `settings`. */
export function clusterScript(
  args: string[],
  settings: ClusterSettings = {},
  timeoutMs = 600_000,
): Promise<CommandResult> {
  return run('bash', [slurmScript(), ...args], { env: settingsEnv(settings), timeoutMs });
}

const lastLine = (text: string): string => text.trim().split('\n').filter(Boolean).pop() ?? '';

async function startCluster(settings: ClusterSettings): Promise<SlurmCluster> {
  const args = ['up', ...(settings.nodes ? ['--nodes', String(settings.nodes)] : [])];
  const r = await clusterScript(args, settings);
  if (r.code !== 0) {
    throw new Error(`scripts/slurm-cluster.sh up failed: ${lastLine(r.stderr) || `exit ${r.code}`}`);
  }
  const scriptEnv = settingsEnv(settings);
  const dir = scriptEnv.NEL_SLURM_DIR;
  const conf = join(dir, 'etc', 'slurm.conf');
  const nodes = [...readFileSync(conf, 'utf8').matchAll(/^NodeName=(\S+)/gm)].map((m) => m[1]);
  return { dir, env: { SLURM_CONF: conf }, nodes, scriptEnv };
}

let shared: Promise<SlurmCluster> | undefined;

/** The shared cluster: `scripts/slurm-cluster.sh up` once per test process (a no-op when it runs). */
export function ensureSlurmCluster(): Promise<SlurmCluster> {
  shared ??= startCluster({});
  return shared;
}

/**
 * A cluster of a test's own, in its own directory and ports, for tests that break it (stopping
 * nodes) without disturbing the shared one. Stop it with stopPrivateCluster().
 */
export function startPrivateCluster(
  settings: Required<Omit<ClusterSettings, 'preempt'>> & Pick<ClusterSettings, 'preempt'>,
): Promise<SlurmCluster> {
  return startCluster(settings);
}

export async function stopPrivateCluster(cluster: SlurmCluster): Promise<void> {
  await run('bash', [slurmScript(), 'down'], { env: cluster.scriptEnv, timeoutMs: 120_000 });
}

let login: Promise<LoginNode> | undefined;

async function startLoginNode(): Promise<LoginNode> {
  const cluster = await ensureSlurmCluster();
  const r = await clusterScript(['ssh-up']);
  if (r.code !== 0) {
    throw new Error(`scripts/slurm-cluster.sh ssh-up failed: ${lastLine(r.stderr) || `exit ${r.code}`}`);
  }
  const sshDir = join(cluster.dir, 'ssh');
  const port = Number(process.env.NEL_SLURM_SSH_PORT || 17822);
  const keyPath = join(sshDir, 'id_ed25519');
  const knownHostsPath = join(sshDir, 'known_hosts');
  return {
    host: '127.0.0.1',
    port,
    user: userInfo().username,
    keyPath,
    knownHostsPath,
    sshConfigPath: join(sshDir, 'ssh_config'),
    hostAlias: 'nel-slurm-login',
    sshOptions: [
      '-p',
      String(port),
      '-i',
      keyPath,
      '-o',
      `UserKnownHostsFile=${knownHostsPath}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'BatchMode=yes',
    ],
    env: cluster.env,
  };
}

/** The login node (sshd on 127.0.0.1 whose sessions reach the shared cluster); started once. */
export function ensureLoginNode(): Promise<LoginNode> {
  login ??= startLoginNode();
  return login;
}

/** Run a shell command line on the login node over ssh (the local environment is not sent). */
export function runOverSsh(node: LoginNode, command: string, timeoutMs = 30_000): Promise<CommandResult> {
  const env: Record<string, string | undefined> = { SLURM_CONF: undefined };
  return run('ssh', [...node.sshOptions, `${node.user}@${node.host}`, command], { env, timeoutMs });
}

async function requireOrSkip<T>(
  t: TestContext,
  what: string,
  start: () => Promise<T>,
): Promise<T | undefined> {
  const ci = process.env.CI === 'true';
  if (process.env.NEL_TEST_SLURM === '0' && !ci) {
    t.skip(`${what} not available (the test set-up could not start it)`);
    return undefined;
  }
  try {
    return await start();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (ci) throw new Error(`CI=true but the ${what} could not be started: ${message}`);
    t.skip(`${what} not available: ${message}`);
    return undefined;
  }
}

/**
 * Slurm tests: the shared cluster, started when needed. Without it (not root, packages not
 * installable) the test is skipped, except with CI=true, where that is a failure.
 */
export function requireSlurm(t: TestContext): Promise<SlurmCluster | undefined> {
  return requireOrSkip(t, 'Slurm cluster', ensureSlurmCluster);
}

/** Like requireSlurm, for the SSH login node. */
export function requireLoginNode(t: TestContext): Promise<LoginNode | undefined> {
  return requireOrSkip(t, 'Slurm login node', ensureLoginNode);
}

/** Run a Slurm client command (sinfo, sbatch, ...) against CLUSTER; throws on failure. */
export async function slurm(cluster: SlurmCluster, command: string, args: string[]): Promise<string> {
  const r = await run(command, args, { env: cluster.env, timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** `scontrol show job -o ID` as a map of its fields (JobState, NodeList, ExitCode, ...). */
export async function jobInfo(cluster: SlurmCluster, jobId: string): Promise<Record<string, string>> {
  const out = await slurm(cluster, 'scontrol', ['show', 'job', '-o', jobId]);
  const fields: Record<string, string> = {};
  for (const m of out.trim().matchAll(/(\S+?)=(\S*)/g)) fields[m[1]] ??= m[2];
  return fields;
}

/** Poll CHECK every 300 ms until it returns a value other than undefined; fail after timeoutMs. */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

const FINISHED = /^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|PREEMPTED|BOOT_FAIL|DEADLINE)/;

/** Wait until job ID has finished; returns its final scontrol fields. */
export function waitForJob(
  cluster: SlurmCluster,
  jobId: string,
  timeoutMs = 60_000,
): Promise<Record<string, string>> {
  return pollUntil(
    `job ${jobId} to finish`,
    async () => {
      const info = await jobInfo(cluster, jobId);
      return FINISHED.test(info.JobState ?? '') ? info : undefined;
    },
    timeoutMs,
  );
}

// ---- nel on the cluster ----------------------------------------------------------------------

/** One builtin.gsm8k task of a Slurm test config, answered by `endpoint`. */
export interface SlurmTestTask {
  /** Base URL of a reference endpoint (`http://127.0.0.1:PORT`). */
  url: string;
  limit: number;
  parallelism?: number;
  /** Default: the shared GSM8K data. */
  datasetDir?: string;
}

export interface SlurmTestConfig {
  hostname: string;
  username?: string;
  /** execution.output_dir (on the cluster). */
  outputDir: string;
  /** execution.staging_dir (on this machine). */
  stagingDir: string;
  tasks: SlurmTestTask[];
  account?: string;
  partition?: string;
  walltime?: string;
  maxWalltime?: string | null;
  /** target.api_endpoint.api_key_name: the NAME of the variable holding the key. */
  apiKeyName?: string;
  /** sbatch_extra_flags.exclusive (default false: jobs share the test nodes). */
  exclusive?: boolean;
}

/** A Hydra-mode config running builtin.gsm8k tasks on the engine of this repository (container_runtime none). */
export function writeSlurmConfig(file: string, cfg: SlurmTestConfig): string {
  const gsm8k = sharedPath('data', 'gsm8k');
  const config = {
    defaults: [{ execution: 'slurm/default' }, { deployment: 'none' }, '_self_'],
    execution: {
      hostname: cfg.hostname,
      username: cfg.username ?? userInfo().username,
      account: cfg.account ?? 'nel-test',
      partition: cfg.partition ?? 'batch',
      output_dir: cfg.outputDir,
      staging_dir: cfg.stagingDir,
      container_runtime: 'none',
      gres: null,
      walltime: cfg.walltime ?? '00:10:00',
      ...(cfg.maxWalltime !== undefined ? { max_walltime: cfg.maxWalltime } : {}),
      sbatch_extra_flags: { exclusive: cfg.exclusive ?? false },
    },
    target: {
      api_endpoint: {
        model_id: 'reference-model',
        url: `${cfg.tasks[0]!.url}/v1/chat/completions`,
        ...(cfg.apiKeyName ? { api_key_name: cfg.apiKeyName } : {}),
      },
    },
    evaluation: {
      nemo_evaluator_config: { config: { params: { request_timeout: 60, max_retries: 3 } } },
      tasks: cfg.tasks.map((t) => ({
        name: 'builtin.gsm8k',
        dataset_dir: t.datasetDir ?? gsm8k,
        nemo_evaluator_config: {
          config: { params: { limit_samples: t.limit, parallelism: t.parallelism ?? 2 } },
          target: { api_endpoint: { url: `${t.url}/v1/chat/completions` } },
        },
      })),
    },
  };
  writeFileSync(file, JSON.stringify(config, null, 2) + '\n');
  return file;
}

/** Processes on this machine (the test nodes run here) whose command line contains `text`. */
export function processesMentioning(text: string): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {
      continue;
    }
    if (cmd.includes(text)) out.push({ pid: Number(e), cmd });
  }
  return out;
}

/** The Slurm ids squeue lists as active (pending, running, completing...) among `ids`. */
export async function activeJobs(cluster: SlurmCluster, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const r = await run('squeue', ['-h', `--jobs=${ids.join(',')}`, '-o', '%i'], { env: cluster.env });
  if (r.code !== 0 && /Invalid job id/.test(r.stderr)) return [];
  if (r.code !== 0) throw new Error(`squeue failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout.split('\n').filter(Boolean);
}

/** `nel status IDS --json`, run asynchronously (the reference endpoints of the test answer meanwhile). */
export async function statusEntries(
  ids: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<StatusEntry[]> {
  const r = await nelAsync(['status', ...ids, '--json'], { ...opts, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`nel status failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as StatusEntry[];
}

/** Poll `nel status` until `done` holds for the entries; throws with the last entries on timeout. */
export async function waitForStatuses(
  ids: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv },
  done: (entries: StatusEntry[]) => boolean,
  timeoutMs: number,
  what = 'the jobs',
): Promise<StatusEntry[]> {
  let last: StatusEntry[] = [];
  try {
    return await pollUntil(
      what,
      async () => {
        last = await statusEntries(ids, opts);
        return done(last) ? last : undefined;
      },
      timeoutMs,
    );
  } catch (e) {
    const states = last.map((x) => `${x.job_id}: ${x.status}${x.cause ? ` (${x.cause})` : ''}`).join('; ');
    throw new Error(`${(e as Error).message}; last states: ${states}`);
  }
}
