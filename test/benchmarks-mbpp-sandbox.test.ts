/** The code-execution sandbox MBPP and HumanEval programs run in: both ways of starting a program. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPythonProgram } from '../src/engine/benchmarks/code-execution.js';

function havePython(): boolean {
  try {
    execFileSync('python3', ['-c', 'pass'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}
const skip = havePython() ? false : 'python3 is not installed';
const root = mkdtempSync(join(tmpdir(), 'nel-sandbox-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

const MODES = [
  { name: 'forked from the fork server', forkServer: true },
  { name: 'spawned', forkServer: false },
] as const;

const lines = (...l: string[]) => l.join('\n') + '\n';

for (const mode of MODES) {
  const run = (program: string, timeoutSeconds = 3, signal?: AbortSignal) =>
    runPythonProgram(program, { timeoutSeconds, forkServer: mode.forkServer, signal });

  test(`sandbox (${mode.name}): verdicts: pass, fail, early exit, time limit`, { skip }, async () => {
    const cases: [string, string][] = [
      ['assert sum([1, 2]) == 3\n', 'passed'],
      ['assert 1 == 2\n', 'failed'],
      ['def f(:\n', 'failed'],
      ['import sys\nsys.exit(0)\n', 'exited early'],
      ['import os\nos._exit(0)\n', 'exited early'],
      ['import os\nos._exit(3)\n', 'failed'],
      [
        'import unittest\nclass T(unittest.TestCase):\n    def test(self): pass\nunittest.main()\n',
        'exited early',
      ],
      ['if __name__ == "__main__":\n    raise SystemExit(1)\nassert __name__ == "__program__"\n', 'passed'],
      ['while True:\n    pass\n', 'timed out'],
      ['import time\ntime.sleep(30)\n', 'timed out'],
    ];
    const results = await Promise.all(cases.map(([p]) => run(p, 1)));
    assert.deepEqual(
      results.map((r) => r.status),
      cases.map(([, s]) => s),
    );
    assert.ok(results.every((r) => r.passed === (r.status === 'passed')));
  });

  test(`sandbox (${mode.name}): stderr shows the program's own traceback`, { skip }, async () => {
    const r = await run(lines('import sys', 'sys.stderr.write("note\\n")', 'raise ValueError("boom")'));
    assert.equal(r.status, 'failed');
    assert.match(r.stderr, /^note\nTraceback \(most recent call last\):\n {2}File ".*program\.py", line 3/);
    assert.match(r.stderr, /ValueError: boom\n$/);
  });

  test(
    `sandbox (${mode.name}): own dir, clean environment, no inherited files, own session, limits`,
    { skip },
    async () => {
      const program = lines(
        'import os, resource, sys',
        'here = os.getcwd()',
        'assert os.path.basename(here).startswith("nel-exec-"), here',
        'assert os.environ["HOME"] == os.environ["TMPDIR"] == here',
        'extra = set(os.environ) - {"PATH", "LANG", "LC_CTYPE", "PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED", "HOME", "TMPDIR"}',
        'assert not extra, extra',
        'for fd in range(4, 256):',
        '    try:',
        '        os.fstat(fd)',
        '    except OSError:',
        '        continue',
        '    raise AssertionError("fd %d is open" % fd)',
        'assert os.getsid(0) == os.getpgid(0) == os.getpid()',
        'assert sys.stdin.read() == ""',
        'assert sys.flags.isolated',
        'assert resource.getrlimit(resource.RLIMIT_CPU)[0] == 3',
        'assert resource.getrlimit(resource.RLIMIT_AS)[0] == 2048 * 1024 * 1024',
        'open("scratch.txt", "w").write("x")',
        'import pickle',
        'class Point:',
        '    pass',
        'assert type(pickle.loads(pickle.dumps(Point()))) is Point  # the program module is importable',
        'print(here)',
      );
      const [a, b] = await Promise.all([run(program), run(program)]);
      assert.equal(a!.status, 'passed', a!.stderr);
      assert.equal(b!.status, 'passed', b!.stderr);
    },
  );

  test(
    `sandbox (${mode.name}): no network, no subprocesses, no destructive os helpers`,
    { skip },
    async () => {
      const program = lines(
        'import os, shutil, socket, subprocess',
        'try:',
        '    socket.socket()',
        '    raise SystemExit(1)',
        'except OSError:',
        '    pass',
        'try:',
        '    socket.create_connection(("127.0.0.1", 9))',
        '    raise SystemExit(1)',
        'except OSError:',
        '    pass',
        'assert subprocess.Popen is None and shutil.rmtree is None',
        'assert os.system is None and os.fork is None and os.kill is None and os.unlink is None',
        'assert os.posix_spawn is None',
        'import sys',
        'del sys.modules["socket"]',
        'import socket as again',
        'try:',
        '    again.socket()',
        '    raise SystemExit(1)',
        'except OSError:',
        '    pass',
      );
      const r = await run(program);
      assert.equal(r.status, 'passed', r.stderr);
    },
  );

  test(`sandbox (${mode.name}): threads finish and atexit runs before the verdict`, { skip }, async () => {
    const late = await run(lines('import atexit, os', 'atexit.register(lambda: os._exit(4))'));
    assert.equal(late.status, 'failed');
    assert.equal(late.exitCode, 4);
    // a thread that outlives the main code still runs to its end (here: an exit with status 5)
    const threaded = await run(
      lines(
        'import os, threading, time',
        'def work():',
        '    time.sleep(0.2)',
        '    os._exit(5)',
        'threading.Thread(target=work).start()',
      ),
    );
    assert.equal(threaded.exitCode, 5, threaded.stderr);
  });

  test(
    `sandbox (${mode.name}): an abort ends a running program, its temp dir is removed`,
    { skip },
    async () => {
      const marker = join(root, `${mode.forkServer ? 'forked' : 'spawned'}-cwd`);
      const ac = new AbortController();
      const started = Date.now();
      const pending = run(
        lines('import os, time', `open(${JSON.stringify(marker)}, "w").write(os.getcwd())`, 'time.sleep(20)'),
        30,
        ac.signal,
      );
      while (!existsSync(marker)) await new Promise((r) => setTimeout(r, 20));
      ac.abort();
      const r = await pending;
      assert.ok(Date.now() - started < 10_000);
      assert.equal(r.passed, false);
      assert.equal(existsSync(readFileSync(marker, 'utf8')), false);
    },
  );
}

test(
  'fork server: killed while a program runs, that run fails and the next one starts a new server',
  { skip },
  async () => {
    const ids = join(root, 'ids');
    const pending = runPythonProgram(
      lines(
        'import os, time',
        `open(${JSON.stringify(ids)}, "w").write("%d %d" % (os.getppid(), os.getpid()))`,
        'time.sleep(20)',
      ),
      { timeoutSeconds: 30 },
    );
    while (!existsSync(ids) || readFileSync(ids, 'utf8') === '') await new Promise((r) => setTimeout(r, 20));
    const [server, program] = readFileSync(ids, 'utf8').split(' ').map(Number);
    process.kill(server!, 'SIGKILL');
    const r = await pending;
    try {
      process.kill(-program!, 'SIGKILL'); // the orphaned program, which would end at its own alarm
    } catch {
      // already gone
    }
    assert.equal(r.passed, false);
    assert.match(r.stderr, /fork server exited/);
    const next = await runPythonProgram(lines('import os', `assert os.getppid() != ${server}`), {
      timeoutSeconds: 3,
    });
    assert.equal(next.status, 'passed', next.stderr);
  },
);

test(
  'fork server that cannot start: its runs spawn an interpreter instead, and so do later ones',
  { skip },
  async () => {
    const real = JSON.parse(
      execFileSync('python3', ['-I', '-c', 'import json, sys; print(json.dumps(sys.executable))'], {
        encoding: 'utf8',
      }),
    ) as string;
    // An interpreter command that answers the probe under its own name and refuses to be a fork server.
    const wrapper = join(root, 'python-without-fork-server');
    writeFileSync(
      wrapper,
      [
        '#!/bin/sh',
        'case "$*" in',
        `  *json.dumps*) exec "${real}" -I -c 'import json, sys; print(json.dumps([sys.argv[1], sys.path]))' "$0" ;;`,
        '  *_wake_r*) exit 3 ;;',
        'esac',
        `exec "${real}" "$@"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const spawnedOnly = 'import sys\nassert "select" not in sys.modules\n'; // the fork server imports select
    const first = await Promise.all(
      [1, 2, 3].map(() => runPythonProgram(spawnedOnly, { timeoutSeconds: 3, python: wrapper })),
    );
    assert.deepEqual(
      first.map((r) => r.status),
      ['passed', 'passed', 'passed'],
      first.map((r) => r.stderr).join('\n'),
    );
    const later = await runPythonProgram(spawnedOnly, { timeoutSeconds: 3, python: wrapper });
    assert.equal(later.status, 'passed', later.stderr);
    // the usual interpreter still forks
    const forked = await runPythonProgram('import sys\nassert "select" in sys.modules\n', {
      timeoutSeconds: 3,
    });
    assert.equal(forked.status, 'passed', forked.stderr);
  },
);
