/** A thin wrapper over the docker CLI: bounded child processes, no shell, errors as values. */
import { execFile, spawnSync } from 'node:child_process';

export interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Set when docker could not be run at all (missing binary, timeout). */
  error?: string;
}

export function runDocker(
  args: string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<DockerResult> {
  return new Promise((resolve) => {
    execFile(
      'docker',
      args,
      { timeout: opts.timeoutMs ?? 30_000, env: opts.env ?? process.env, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (!err) return resolve({ code: 0, stdout: String(stdout), stderr: String(stderr) });
        const e = err as NodeJS.ErrnoException & { code?: unknown; killed?: boolean };
        if (e.code === 'ENOENT')
          return resolve({ code: 127, stdout: '', stderr: '', error: 'docker is not installed' });
        if (e.killed)
          return resolve({
            code: 124,
            stdout: String(stdout),
            stderr: String(stderr),
            error: 'docker timed out',
          });
        const code = typeof e.code === 'number' ? e.code : 1;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

const VERSION_ARGS = ['version', '--format', '{{.Server.Version}}'];
const daemonDown = (stderr: string): string =>
  stderr.trim().split('\n')[0] || 'the docker daemon is not running';

/** Whether the docker CLI exists and its daemon answers. */
export async function dockerAvailable(
  opts: { timeoutMs?: number } = {},
): Promise<{ ok: boolean; reason?: string }> {
  const r = await runDocker(VERSION_ARGS, { timeoutMs: opts.timeoutMs ?? 10_000 });
  if (r.error) return { ok: false, reason: r.error };
  if (r.code !== 0) return { ok: false, reason: daemonDown(r.stderr) };
  return { ok: true };
}

/** dockerAvailable in one synchronous docker call (for the synchronous image build). */
export function dockerAvailableSync(opts: { timeoutMs?: number } = {}): { ok: boolean; reason?: string } {
  const r = spawnSync('docker', VERSION_ARGS, { encoding: 'utf8', timeout: opts.timeoutMs ?? 20_000 });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'docker is not installed'
        : code === 'ETIMEDOUT'
          ? 'docker timed out'
          : r.error.message;
    return { ok: false, reason };
  }
  if (r.status !== 0) return { ok: false, reason: daemonDown(r.stderr ?? '') };
  return { ok: true };
}

export interface LabelledContainer {
  id: string;
  /** The value of the label asked for. */
  value: string;
  /** All its labels. */
  labels: Record<string, string>;
  /** created, running, paused, restarting, removing, exited or dead. */
  state: string;
  /** The exit code of an exited container (from docker's status text), else null. */
  exitCode: number | null;
}

/** `docker ps` arguments listing every container (running or not) carrying label `key`, one per line. */
const labelPsArgs = (key: string): string[] => [
  'ps',
  '-a',
  '--no-trunc',
  '--filter',
  `label=${key}`,
  '--format',
  `{{.ID}}\t{{.Label ${JSON.stringify(key)}}}\t{{.State}}\t{{.Status}}\t{{.Labels}}`,
];

function parseLabelled(stdout: string): LabelledContainer[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [id = '', value = '', state = '', status = '', labelText = ''] = l.split('\t');
      const m = /^Exited \((-?\d+)\)/.exec(status);
      const labels: Record<string, string> = {};
      for (const kv of labelText.split(',')) {
        const eq = kv.indexOf('=');
        if (eq > 0) labels[kv.slice(0, eq)] = kv.slice(eq + 1);
      }
      return { id, value, labels, state, exitCode: m ? Number(m[1]) : null };
    });
}

/** Every container (running or not) carrying label `key`, with that label's value and its state. */
export async function containersWithLabel(
  key: string,
  opts: { timeoutMs?: number } = {},
): Promise<{ containers: LabelledContainer[]; error?: string }> {
  const r = await runDocker(labelPsArgs(key), { timeoutMs: opts.timeoutMs ?? 15_000 });
  if (r.error || r.code !== 0)
    return { containers: [], error: r.error ?? (r.stderr.trim().split('\n')[0] || `exit ${r.code}`) };
  return { containers: parseLabelled(r.stdout) };
}

/**
 * containersWithLabel in one synchronous docker call, for `nel status`, which stays synchronous and
 * fast. Null when docker cannot be asked.
 */
export function containersWithLabelSync(
  key: string,
  opts: { timeoutMs?: number } = {},
): LabelledContainer[] | null {
  const r = spawnSync('docker', labelPsArgs(key), { encoding: 'utf8', timeout: opts.timeoutMs ?? 10_000 });
  if (r.error || r.status !== 0) return null;
  return parseLabelled(r.stdout);
}

/** `docker stop -t <grace>` then `docker rm -f`; returns whether docker reported success. */
export async function stopAndRemoveContainers(
  ids: string[],
  opts: { graceSeconds?: number } = {},
): Promise<{ ok: boolean; error?: string }> {
  if (ids.length === 0) return { ok: true };
  const grace = opts.graceSeconds ?? 5;
  const stop = await runDocker(['stop', '-t', String(grace), ...ids], { timeoutMs: (grace + 20) * 1000 });
  const rm = await runDocker(['rm', '-f', ...ids], { timeoutMs: 20_000 });
  if (rm.code === 0 || stop.code === 0) return { ok: true };
  return { ok: false, error: rm.error ?? (rm.stderr.trim().split('\n')[0] || `docker rm exited ${rm.code}`) };
}

/** `docker rm -f` synchronously (containers that already exited: quick). Returns whether docker succeeded. */
export function removeContainersSync(ids: string[], opts: { timeoutMs?: number } = {}): boolean {
  if (ids.length === 0) return true;
  const r = spawnSync('docker', ['rm', '-f', ...ids], {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 20_000,
  });
  return !r.error && r.status === 0;
}
