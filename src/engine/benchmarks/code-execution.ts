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

/** What the runner writes to fd 3 once the program has run to its end. */
const COMPLETION_MARK = 'completed';

/**
 * Modules patched when (and only when) the program imports them: importing them up front would cost
 * more than starting the interpreter.
 */
const LAZILY_PATCHED = ['socket', 'subprocess', 'shutil'];

/**
 * The Python that runs a program (given as a file path in argv[1]): resource limits, no network, no
 * process/file destruction helpers, then the program in a fresh `__main__` module. Only a program that
 * runs to its end writes the completion mark to fd 3, so one that leaves early (`sys.exit(0)`,
 * `os._exit(0)`, `unittest.main()`) fails, as in bigcode-evaluation-harness where any exit is a failure.
 * socket/subprocess/shutil are patched by an import hook when the program imports them (or at once if
 * the interpreter's start-up already did). An alarm (SIGALRM, default action: terminate) ends the
 * program `timeoutSeconds` after it starts; CPU time is limited to the same (rounded up).
 */
export function sandboxRunner(
  timeoutSeconds: number,
  memoryMb: number,
  sysPath: string[] | null = null,
): string {
  const cpu = Math.max(1, Math.ceil(timeoutSeconds));
  const patched = `(${LAZILY_PATCHED.map((n) => `'${n}'`).join(', ')})`;
  // A JSON array of strings is a Python list literal.
  const path = sysPath ? `sys.path[:] = ${JSON.stringify(sysPath)}\n` : '';
  return `import builtins, os, sys
${path}try:
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (${memoryMb} * 1024 * 1024, ${memoryMb} * 1024 * 1024))
    resource.setrlimit(resource.RLIMIT_CPU, (${cpu}, ${cpu + 1}))
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024 * 1024, 16 * 1024 * 1024))
except Exception:
    pass
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
        if name not in ${patched}:
            return None
        for finder in sys.meta_path:
            find = None if finder is _PatchingFinder else getattr(finder, 'find_spec', None)
            spec = find(name, path, target) if find else None
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _PatchingLoader(spec.loader)
                return spec
        return None
for _n in ${patched}:
    if _n in sys.modules:
        _patch(sys.modules[_n])
sys.meta_path.insert(0, _PatchingFinder)
for _n in ('kill', 'killpg', 'system', 'fork', 'forkpty', 'putenv', 'remove', 'removedirs', 'rmdir', 'unlink', 'rename', 'renames', 'replace', 'truncate', 'setuid', 'chroot', 'fchdir', 'posix_spawn', 'posix_spawnp'):
    if hasattr(os, _n):
        setattr(os, _n, None)
builtins.help = None
_path = sys.argv[1]
with open(_path, 'rb') as _f:
    _code = compile(_f.read(), _path, 'exec')
_main = type(sys)('__main__')
_main.__file__ = _path
_main.__builtins__ = builtins
_runner = sys.modules['__main__']
sys.modules['__main__'] = _main
sys.argv = [_path]
_mark = os.write
import _signal
_signal.setitimer(_signal.ITIMER_REAL, ${timeoutSeconds})
exec(_code, _main.__dict__)
_mark(3, b'${COMPLETION_MARK}')
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
 * Run a Python program in its own temp dir with `python3 -I`, a clean environment (no proxies, no
 * secrets), the sandbox runner (resource limits, no sockets, completion mark) and a time limit; the
 * process group is killed if it outlives that.
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
  const interpreter = await resolveInterpreter(opts.python ?? 'python3');
  return limiter.run(() => runOnce(program, { ...opts, interpreter }));
}

function runOnce(
  program: string,
  opts: { timeoutSeconds: number; memoryMb?: number; interpreter: PythonInterpreter; signal?: AbortSignal },
): Promise<PythonRunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'nel-exec-'));
  const file = join(dir, 'program.py');
  writeFileSync(file, program);
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
    let completed = false;
    let settled = false;
    let timedOut = false;
    const { executable, path } = opts.interpreter;
    const runner = sandboxRunner(opts.timeoutSeconds, opts.memoryMb ?? 2048, path);
    // With the search path known, `site` is skipped (-S): its start-up (.pth hooks) can cost more than
    // the rest of a run. fd 3 carries only the runner's completion mark; stdout is discarded.
    const args = [...(path ? ['-I', '-S'] : ['-I']), '-c', runner, file];
    const child = spawn(executable, args, {
      cwd: dir,
      env,
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    // The runner's own alarm ends the program `timeoutSeconds` after it starts (interpreter start-up
    // not counted, as bigcode times only the program); this kill is the backstop.
    const timer = setTimeout(
      () => {
        timedOut = true;
        killGroup();
      },
      (opts.timeoutSeconds + KILL_GRACE_SECONDS) * 1000,
    );
    const onAbort = () => killGroup();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
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
      opts.signal?.removeEventListener('abort', onAbort);
      rmSync(dir, { recursive: true, force: true });
      resolvePromise(result);
    };
    child.on('error', (e) => {
      const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
      finish({ passed: false, status: missing ? 'python3 not found' : e.message, exitCode: null, stderr });
    });
    child.on('close', (code, signal) => {
      if (signal === 'SIGALRM' || signal === 'SIGXCPU') timedOut = true;
      const passed = !timedOut && code === 0 && completed;
      const status = timedOut ? 'timed out' : passed ? 'passed' : code === 0 ? 'exited early' : 'failed';
      finish({ passed, status, exitCode: code, stderr });
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
