/**
 * Where Slurm commands run: on this machine when `execution.hostname` names it (its short or full
 * host name, `localhost`, `127.0.0.1`), else on the login node over ssh. Every cluster operation is a
 * bash script given on standard input (`bash -s`, locally or as ssh's remote command), so nothing of
 * it (secret values included) appears in a command line or a file.
 *
 * Over ssh, a command that talks to the cluster several times opens one master connection (a short
 * control socket under /tmp, closed at the end; it also ends by itself 30 s after its last use if the
 * command dies), and every ssh and rsync call goes through it. `NEMO_EVALUATOR_SSH_CONFIG` names an
 * ssh_config file passed to every ssh call (`ssh -F`), for login nodes not in ~/.ssh/config.
 *
 * Kept small: the status reader (status.ts) loads this module with `nel status`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, rmSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { NelError } from '../../common/errors.js';
import { shQuote } from '../../common/shell.js';

/** An ssh_config file given to every ssh call nel makes (`ssh -F FILE`). */
export const SSH_CONFIG_ENV = 'NEMO_EVALUATOR_SSH_CONFIG';

/**
 * A file that gets one JSON line per cluster command nel runs (`{"op","via","ms","code"}`: the
 * operation, `bash` or `ssh`/`rsync`/`cp`, its duration and exit code; never the script, which may
 * carry secret values). For counting and timing the commands of `nel run` / `nel status`.
 */
export const TRACE_ENV = 'NEMO_EVALUATOR_SLURM_TRACE';

/** How long ssh may take to connect before it gives up. */
const CONNECT_TIMEOUT_S = 10;

export interface ClusterAddress {
  hostname: string;
  /** The login user (null: ssh's default). */
  username: string | null;
  /** Commands run on this machine (no ssh). */
  local: boolean;
}

export interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
}

let commandCount = 0;

/** How many cluster commands this process ran (every run, runSync, open, close, copy and follow). */
export function clusterCommandCount(): number {
  return commandCount;
}

/** Count one cluster command and, with NEMO_EVALUATOR_SLURM_TRACE set, append its line to that file. */
function traced(op: string, via: string, startedMs: number, code: number | null): void {
  commandCount += 1;
  const file = process.env[TRACE_ENV];
  if (!file) return;
  const line = JSON.stringify({ pid: process.pid, op, via, ms: Date.now() - startedMs, code });
  try {
    appendFileSync(file, line + '\n');
  } catch {
    /* tracing never fails a command */
  }
}

/** runProcess, counted and traced as `op`. */
async function tracedProcess(
  op: string,
  file: string,
  args: string[],
  opts: Parameters<typeof runProcess>[2],
): Promise<ScriptResult> {
  const t0 = Date.now();
  const r = await runProcess(file, args, opts);
  traced(op, file, t0, r.code);
  return r;
}

let fqdnCache: string | null | undefined;

/** This machine's full host name (`hostname -f`), or null when it cannot be read. */
function fullHostname(): string | null {
  if (fqdnCache !== undefined) return fqdnCache;
  const r = spawnSync('hostname', ['-f'], { encoding: 'utf8', timeout: 3000 });
  const name = r.status === 0 ? r.stdout.trim().toLowerCase() : '';
  fqdnCache = name || null;
  return fqdnCache;
}

/** Whether `execution.hostname` is this machine, so the cluster's commands and files are local. */
export function isThisMachine(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '127.0.0.1' || h === '::1') return true;
  const mine = osHostname().toLowerCase();
  if (h === mine || h === mine.split('.')[0]) return true;
  const full = fullHostname();
  return full !== null && (h === full || h === full.split('.')[0]);
}

/** `user@host`, or `host` when the user is ssh's default. */
export const describeAddress = (a: ClusterAddress): string =>
  a.local ? `${a.hostname} (this machine)` : a.username ? `${a.username}@${a.hostname}` : a.hostname;

function lastLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^Warning: Permanently added/.test(l));
  return lines[lines.length - 1] ?? '';
}

/** The one-line error of an ssh connection that failed (ssh exits 255). */
export function unreachable(a: ClusterAddress, stderr: string): NelError {
  const why = lastLine(stderr) || 'ssh exited with code 255';
  return new NelError('LAUNCH_FAILED', `cannot reach the login node ${describeAddress(a)} over ssh: ${why}`, {
    hint: `check execution.hostname and execution.username, and that \`ssh ${a.username ? `${a.username}@` : ''}${a.hostname} true\` works without a password prompt${process.env[SSH_CONFIG_ENV] ? '' : ` (an ssh_config of its own can be named by ${SSH_CONFIG_ENV})`}`,
  });
}

/** Commands against one cluster: on this machine, or over ssh (optionally through a master connection). */
export class ClusterShell {
  readonly address: ClusterAddress;
  private readonly env: NodeJS.ProcessEnv;
  private controlPath: string | null = null;

  constructor(address: ClusterAddress, env: NodeJS.ProcessEnv = process.env) {
    this.address = address;
    this.env = env;
  }

  get local(): boolean {
    return this.address.local;
  }

  /** ssh's options (config file, batch mode, timeouts, the master connection when open). */
  private sshOptions(): string[] {
    const opts: string[] = [];
    const cfg = this.env[SSH_CONFIG_ENV];
    if (cfg) opts.push('-F', cfg);
    opts.push('-o', 'BatchMode=yes', '-o', `ConnectTimeout=${CONNECT_TIMEOUT_S}`);
    opts.push('-o', 'ServerAliveInterval=15', '-o', 'ServerAliveCountMax=4');
    if (this.controlPath) opts.push('-o', `ControlPath=${this.controlPath}`, '-o', 'ControlMaster=no');
    if (this.address.username) opts.push('-l', this.address.username);
    return opts;
  }

  /** The full ssh argv running `remoteCommand` on the login node. */
  sshArgv(remoteCommand: string): string[] {
    return ['ssh', ...this.sshOptions(), this.address.hostname, remoteCommand];
  }

  /**
   * Open the master connection (ssh only; a no-op locally). Fails with one line when the login node
   * cannot be reached.
   */
  async open(): Promise<void> {
    if (this.local || this.controlPath) return;
    const a = this.address;
    const id = createHash('sha256')
      .update(`${a.username ?? ''}@${a.hostname}:${process.pid}:${randomBytes(8).toString('hex')}`)
      .digest('hex')
      .slice(0, 16);
    const path = `/tmp/nel-ssh-${id}`;
    const args = [
      ...this.sshOptions(),
      '-o',
      'ControlMaster=yes',
      '-o',
      `ControlPath=${path}`,
      '-o',
      'ControlPersist=30',
      a.hostname,
      'true',
    ];
    // The master stays in the background with ssh's stderr: wait for the exit of the command itself.
    const t0 = Date.now();
    const r = await new Promise<ScriptResult>((resolve) => {
      const child = spawn('ssh', args, { stdio: ['ignore', 'ignore', 'pipe'], env: this.env });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      const timer = setTimeout(() => child.kill('SIGKILL'), (CONNECT_TIMEOUT_S + 20) * 1000);
      child.on('error', (e) => {
        clearTimeout(timer);
        resolve({ code: 127, stdout: '', stderr: e.message });
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        setTimeout(() => {
          child.stderr!.destroy();
          resolve({ code: code ?? 255, stdout: '', stderr });
        }, 50);
      });
    });
    traced('open', 'ssh', t0, r.code);
    if (r.code !== 0) throw unreachable(a, r.stderr);
    this.controlPath = path;
  }

  /** Close the master connection, if one is open. */
  async close(): Promise<void> {
    const path = this.controlPath;
    if (!path) return;
    this.controlPath = null;
    await tracedProcess('close', 'ssh', ['-o', `ControlPath=${path}`, '-O', 'exit', this.address.hostname], {
      env: this.env,
      timeoutMs: 10_000,
    });
    rmSync(path, { force: true });
  }

  /** Run a bash script (given on stdin) on the cluster. `env` adds to the local environment only. */
  run(script: string, opts: { timeoutMs?: number } = {}): Promise<ScriptResult> {
    const [file, args] = this.scriptCommand();
    return tracedProcess('run', file, args, {
      input: script,
      env: this.env,
      timeoutMs: opts.timeoutMs ?? 120_000,
    });
  }

  /** run(), synchronously (for `nel status`). */
  runSync(script: string, opts: { timeoutMs?: number } = {}): ScriptResult {
    const [file, args] = this.scriptCommand();
    const t0 = Date.now();
    const r = spawnSync(file, args, {
      input: script,
      env: this.env,
      encoding: 'utf8',
      timeout: opts.timeoutMs ?? 60_000,
      killSignal: 'SIGKILL',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
      traced('runSync', file, t0, 127);
      return { code: 127, stdout: '', stderr: `${file}: command not found` };
    }
    const code = r.status ?? (r.signal ? 124 : 1);
    traced('runSync', file, t0, code);
    const stderr = (r.stderr ?? '') + (r.signal ? `\n${file} did not finish in time` : '');
    return { code, stdout: r.stdout ?? '', stderr };
  }

  private scriptCommand(): [string, string[]] {
    if (this.local) return ['bash', ['-s']];
    const argv = this.sshArgv('bash -s');
    return [argv[0]!, argv.slice(1)];
  }

  /** Throw the one-line connection error when an ssh call failed to connect. */
  checkConnected(r: ScriptResult): void {
    if (!this.local && r.code === 255) throw unreachable(this.address, r.stderr);
  }

  /** Copy a local directory's content into `remoteDir` (created) on the cluster. */
  async upload(localDir: string, remoteDir: string): Promise<ScriptResult> {
    if (this.local) {
      return tracedProcess('upload', 'cp', ['-a', '--', `${localDir}/.`, remoteDir], {
        env: this.env,
        timeoutMs: 600_000,
      });
    }
    const ssh = ['ssh', ...this.sshOptions()].map(shQuote).join(' ');
    const dest = `${this.address.username ? `${this.address.username}@` : ''}${this.address.hostname}:${remoteDir}/`;
    return tracedProcess('upload', 'rsync', ['-a', '-s', '-e', ssh, '--', `${localDir}/`, dest], {
      env: this.env,
      timeoutMs: 600_000,
    });
  }

  /** Copy a directory of the cluster into `localDir` (created). */
  async download(remoteDir: string, localDir: string): Promise<ScriptResult> {
    if (this.local) {
      return tracedProcess('download', 'cp', ['-a', '--', `${remoteDir}/.`, localDir], {
        env: this.env,
        timeoutMs: 600_000,
      });
    }
    const ssh = ['ssh', ...this.sshOptions()].map(shQuote).join(' ');
    const src = `${this.address.username ? `${this.address.username}@` : ''}${this.address.hostname}:${remoteDir}/`;
    return tracedProcess('download', 'rsync', ['-a', '-s', '-e', ssh, '--', src, `${localDir}/`], {
      env: this.env,
      timeoutMs: 600_000,
    });
  }

  /**
   * Copy parts of a directory of the cluster into `localDir` with rsync (over the master connection
   * when open; rsync on this machine for a local cluster), keeping what the rsync `filters` select
   * (`--filter` rules, first match wins). One command whatever the number of files.
   */
  async fetch(remoteDir: string, localDir: string, filters: string[]): Promise<ScriptResult> {
    const rules = filters.map((f) => `--filter=${f}`);
    if (this.local)
      return tracedProcess('fetch', 'rsync', ['-a', ...rules, '--', `${remoteDir}/`, `${localDir}/`], {
        env: this.env,
        timeoutMs: 600_000,
      });
    const ssh = ['ssh', ...this.sshOptions()].map(shQuote).join(' ');
    const src = `${this.address.username ? `${this.address.username}@` : ''}${this.address.hostname}:${remoteDir}/`;
    return tracedProcess('fetch', 'rsync', ['-a', '-s', '-e', ssh, ...rules, '--', src, `${localDir}/`], {
      env: this.env,
      timeoutMs: 600_000,
    });
  }

  /**
   * Start a long-running bash script on the cluster (e.g. `tail -F`), its output piped back. The
   * script runs in a process group of its own (a new session under sshd, `detached` here) and is
   * given an open standard input: closing it (`child.stdin.end()`) tells the script to stop.
   */
  spawnFollow(script: string): ChildProcess {
    traced('follow', this.local ? 'bash' : 'ssh', Date.now(), null);
    if (this.local)
      return spawn('bash', ['-c', script], {
        env: this.env,
        stdio: ['pipe', 'pipe', 'ignore'],
        detached: true,
      });
    const argv = this.sshArgv(`bash -c ${shQuote(script)}`);
    return spawn(argv[0]!, argv.slice(1), { env: this.env, stdio: ['pipe', 'pipe', 'ignore'] });
  }
}

/** Run a process to its end with a deadline; never throws. */
export function runProcess(
  file: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string },
): Promise<ScriptResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      const notFound = (e as NodeJS.ErrnoException).code === 'ENOENT';
      resolve({
        code: notFound ? 127 : 1,
        stdout,
        stderr: notFound ? `${file}: command not found` : e.message,
      });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        code: timedOut ? 124 : (code ?? 1),
        stdout,
        stderr: timedOut
          ? `${stderr}\n${file} did not finish within ${(opts.timeoutMs ?? 120_000) / 1000} s`
          : stderr,
      });
    });
    child.stdin.on('error', () => {
      /* the process ended before reading all of its input */
    });
    child.stdin.end(opts.input ?? '');
  });
}
