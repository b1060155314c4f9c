/** A thin wrapper over the docker CLI: bounded child processes, no shell, errors as values. */
import { execFile } from 'node:child_process';

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

/** Whether the docker CLI exists and its daemon answers. */
export async function dockerAvailable(
  opts: { timeoutMs?: number } = {},
): Promise<{ ok: boolean; reason?: string }> {
  const r = await runDocker(['version', '--format', '{{.Server.Version}}'], {
    timeoutMs: opts.timeoutMs ?? 10_000,
  });
  if (r.error) return { ok: false, reason: r.error };
  if (r.code !== 0)
    return { ok: false, reason: r.stderr.trim().split('\n')[0] || 'the docker daemon is not running' };
  return { ok: true };
}

/** Ids of containers (running or not, with `all`) carrying a label `key=value`. */
export async function containersByLabel(
  label: string,
  opts: { all?: boolean; timeoutMs?: number } = {},
): Promise<{ ids: string[]; error?: string }> {
  const args = ['ps', '-q', '--no-trunc', '--filter', `label=${label}`];
  if (opts.all) args.splice(1, 0, '-a');
  const r = await runDocker(args, { timeoutMs: opts.timeoutMs ?? 15_000 });
  if (r.error || r.code !== 0)
    return { ids: [], error: r.error ?? (r.stderr.trim().split('\n')[0] || `exit ${r.code}`) };
  return {
    ids: r.stdout
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean),
  };
}

/** Every container (running or not) carrying label `key`, with that label's value: one docker call. */
export async function containersWithLabel(
  key: string,
  opts: { timeoutMs?: number } = {},
): Promise<{ containers: { id: string; value: string }[]; error?: string }> {
  const r = await runDocker(
    [
      'ps',
      '-a',
      '--no-trunc',
      '--filter',
      `label=${key}`,
      '--format',
      `{{.ID}}\t{{.Label ${JSON.stringify(key)}}}`,
    ],
    { timeoutMs: opts.timeoutMs ?? 15_000 },
  );
  if (r.error || r.code !== 0)
    return { containers: [], error: r.error ?? (r.stderr.trim().split('\n')[0] || `exit ${r.code}`) };
  const containers = r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const tab = l.indexOf('\t');
      return { id: l.slice(0, tab), value: l.slice(tab + 1) };
    });
  return { containers };
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
