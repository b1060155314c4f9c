/** Running model-written Python in a separate, resource-limited process (HumanEval style). */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { NelError } from '../../common/errors.js';
import { registerScorer } from '../scoring/parts.js';

export const ALLOW_CODE_EXECUTION_ENV = 'NEMO_EVALUATOR_ALLOW_CODE_EXECUTION';

/** True inside a container (/.dockerenv or NEMO_EVALUATOR_IN_CONTAINER=1). */
export function runningInContainer(env: NodeJS.ProcessEnv, dockerenvPath = '/.dockerenv'): boolean {
  return env.NEMO_EVALUATOR_IN_CONTAINER === '1' || existsSync(dockerenvPath);
}

/**
 * Model-written code runs only in a container or with an explicit opt-in
 * (env NEMO_EVALUATOR_ALLOW_CODE_EXECUTION=1 or extra.allow_code_execution: true).
 */
export function assertCodeExecutionAllowed(
  benchmark: string,
  env: NodeJS.ProcessEnv,
  extra: Record<string, unknown>,
  dockerenvPath?: string,
): void {
  if (env[ALLOW_CODE_EXECUTION_ENV] === '1' || extra.allow_code_execution === true) return;
  if (runningInContainer(env, dockerenvPath)) return;
  throw new NelError(
    'ENGINE_CONFIG',
    `${benchmark} executes untrusted model-written code; refusing to run it on this host outside a container`,
    {
      hint: `run it in the engine container, or opt in with ${ALLOW_CODE_EXECUTION_ENV}=1 or config.params.extra.allow_code_execution: true`,
    },
  );
}

/** A tiny counting semaphore. */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly max: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

const defaultLimiter = new Limiter(Math.max(2, Math.min(8, cpus().length)));

const resolvedInterpreters = new Map<string, Promise<string>>();

/**
 * The real interpreter behind a command such as `python3` (version-manager shims can take seconds to
 * start, which would count against every test's timeout). Falls back to the command itself.
 */
export function resolvePython(command = 'python3'): Promise<string> {
  let p = resolvedInterpreters.get(command);
  if (!p) {
    p = new Promise<string>((done) => {
      execFile(command, ['-c', 'import sys; print(sys.executable)'], { timeout: 30_000 }, (err, stdout) => {
        const path = String(stdout ?? '').trim();
        done(!err && path !== '' ? path : command);
      });
    });
    resolvedInterpreters.set(command, p);
  }
  return p;
}

/** Python run before the program: resource limits, no network, no process/file destruction helpers. */
export function sandboxPreamble(timeoutSeconds: number, memoryMb: number): string {
  const cpu = Math.max(1, Math.ceil(timeoutSeconds));
  return `import builtins as _b, os as _os, sys as _sys
try:
    import resource as _r
    _r.setrlimit(_r.RLIMIT_AS, (${memoryMb} * 1024 * 1024, ${memoryMb} * 1024 * 1024))
    _r.setrlimit(_r.RLIMIT_CPU, (${cpu}, ${cpu + 1}))
    _r.setrlimit(_r.RLIMIT_FSIZE, (16 * 1024 * 1024, 16 * 1024 * 1024))
except Exception:
    pass
import socket as _socket
def _no_network(*_a, **_k):
    raise OSError('network access is disabled while scoring')
_socket.socket = _no_network
_socket.create_connection = _no_network
_socket.socketpair = _no_network
import subprocess as _subprocess, shutil as _shutil
_subprocess.Popen = None
_shutil.rmtree = None
_shutil.move = None
for _name in ('kill', 'killpg', 'system', 'fork', 'forkpty', 'putenv', 'remove', 'removedirs', 'rmdir', 'unlink', 'rename', 'renames', 'replace', 'truncate', 'setuid', 'chroot', 'fchdir'):
    if hasattr(_os, _name):
        setattr(_os, _name, None)
_b.help = None
del _b, _os, _sys, _socket, _subprocess, _shutil, _name
`;
}

export interface PythonRunResult {
  passed: boolean;
  /** 'passed' | 'failed' | 'timed out' | spawn error text. */
  status: string;
  exitCode: number | null;
  /** First part of stderr, for the per-sample log. */
  stderr: string;
}

/**
 * Run a Python program in its own temp dir with `python3 -I`, a clean environment (no proxies, no
 * secrets), a preamble with resource limits and no sockets, and a hard timeout (process group killed).
 */
export async function runPythonProgram(
  program: string,
  opts: {
    timeoutSeconds: number;
    memoryMb?: number;
    python?: string;
    signal?: AbortSignal;
    limiter?: Limiter;
  },
): Promise<PythonRunResult> {
  const limiter = opts.limiter ?? defaultLimiter;
  const python = await resolvePython(opts.python ?? 'python3');
  return limiter.run(() => runOnce(program, { ...opts, python }));
}

function runOnce(
  program: string,
  opts: { timeoutSeconds: number; memoryMb?: number; python?: string; signal?: AbortSignal },
): Promise<PythonRunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'nel-exec-'));
  const file = join(dir, 'program.py');
  writeFileSync(file, sandboxPreamble(opts.timeoutSeconds, opts.memoryMb ?? 2048) + '\n' + program);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    LANG: 'C.UTF-8',
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONHASHSEED: '0',
    HOME: dir,
    TMPDIR: dir,
  };
  return new Promise((resolvePromise) => {
    let stderr = '';
    let settled = false;
    let timedOut = false;
    const child = spawn(opts.python ?? 'python3', ['-I', file], {
      cwd: dir,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, opts.timeoutSeconds * 1000);
    const onAbort = () => killGroup();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString('utf8').slice(0, 4096 - stderr.length);
    });
    const finish = (result: PythonRunResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      rmSync(dir, { recursive: true, force: true });
      resolvePromise(result);
    };
    child.on('error', (e) => {
      const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
      finish({ passed: false, status: missing ? 'python3 not found' : e.message, exitCode: null, stderr });
    });
    child.on('close', (code) => {
      const status = timedOut ? 'timed out' : code === 0 ? 'passed' : 'failed';
      finish({ passed: !timedOut && code === 0, status, exitCode: code, stderr });
    });
  });
}

function timeoutSeconds(extra: Record<string, unknown>): number {
  const t = Number(extra.timeout ?? 10);
  return Number.isFinite(t) && t > 0 ? t : 10;
}

registerScorer(
  'code_execution',
  'the extracted Python program (code plus tests) runs to exit 0 in the sandbox; shown as its status',
  async (program, _target, ctx) => {
    const extra = ctx.extra ?? {};
    const env = ctx.env ?? process.env;
    const run = await runPythonProgram(program ?? '', {
      timeoutSeconds: timeoutSeconds(extra),
      memoryMb: Number(extra.memory_limit_mb ?? 2048) || 2048,
      signal: ctx.signal,
      python: typeof extra.python === 'string' ? extra.python : (env.NEMO_EVALUATOR_PYTHON ?? 'python3'),
    });
    if (run.status === 'python3 not found') {
      throw new NelError(
        'ENGINE_RUN',
        `${ctx.task ?? 'code execution'} needs python3 to run the tests, and python3 was not found on PATH`,
        {
          hint: 'install python3, or run in the engine container',
        },
      );
    }
    return { correct: run.passed, extracted: run.status };
  },
);
