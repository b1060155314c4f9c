/**
 * Scale of the Slurm executor on the project's test cluster: an invocation of 10 tasks and one of 100
 * tasks (builtin.gsm8k, one sample each, answered by the reference endpoint), submitted on this machine
 * and through the login node, all running to SUCCESS. Every cluster command nel runs is counted (the
 * trace file of NEMO_EVALUATOR_SLURM_TRACE, one line per command, written by src/executors/slurm/host.ts):
 * `nel run` and `nel status` take the same number of commands for 10 tasks as for 100.
 *
 * The durations are printed as diagnostics (the figures of docs/PERFORMANCE.md); nothing here asserts a
 * time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { nelAsync, scratch } from './support/cli.js';
import { invocationIdOfDir, startEndpoint } from './support/e2e.js';
import {
  requireLoginNode,
  requireSlurm,
  waitForStatuses,
  writeSlurmConfig,
  type LoginNode,
} from './support/slurm.js';
import type { ReferenceEndpoint } from '../src/reference-endpoint/index.js';

interface TraceLine {
  pid: number;
  op: string;
  via: string;
  ms: number;
  code: number | null;
}

const readTrace = (file: string): TraceLine[] =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as TraceLine)
    : [];

const opsOf = (lines: TraceLine[]): string => lines.map((l) => `${l.op}:${l.via}`).join(' ');

interface Round {
  n: number;
  runCommands: TraceLine[];
  runMs: number;
  /** `nel status` while the jobs are queued or running, and once all succeeded. */
  liveStatus: TraceLine[];
  liveStatusMs: number;
  doneStatus: TraceLine[];
  doneStatusMs: number;
  /** From the end of `nel run` until every job read SUCCESS. */
  allDoneMs: number;
}

/** Submit N one-sample tasks, count and time `nel run` and `nel status`, wait for all to succeed. */
async function round(
  n: number,
  ep: ReferenceEndpoint,
  where: { login?: LoginNode; clusterEnv?: Record<string, string> },
): Promise<Round> {
  const s = scratch(`nel-slurm-scale-${n}-`);
  const remote = mkdtempSync(join(tmpdir(), 'nel-slurm-scale-out-'));
  const login = where.login;
  s.env = login
    ? { ...s.env, NEMO_EVALUATOR_SSH_CONFIG: login.sshConfigPath }
    : { ...s.env, ...where.clusterEnv };
  try {
    const cfg = writeSlurmConfig(join(s.dir, 'run.json'), {
      hostname: login ? login.hostAlias : hostname(),
      username: login?.user,
      outputDir: remote,
      stagingDir: join(s.dir, 'staging'),
      tasks: Array.from({ length: n }, () => ({ url: ep.url, limit: 1, parallelism: 1 })),
    });
    const trace = (name: string) => join(s.dir, `${name}.trace`);
    const traced = (name: string) => ({ ...s.env, NEMO_EVALUATOR_SLURM_TRACE: trace(name) });

    let t0 = Date.now();
    const r = await nelAsync(['run', '--config', cfg], {
      cwd: s.dir,
      env: traced('run'),
      timeoutMs: 180_000,
    });
    const runMs = Date.now() - t0;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const m = /^Launched (\d+) job\(s\) on Slurm .*: (\S+)$/m.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.equal(Number(m[1]), n);
    const inv = invocationIdOfDir(m[2]!);
    const afterRun = Date.now();

    t0 = Date.now();
    const live = await nelAsync(['status', inv, '--json'], {
      cwd: s.dir,
      env: traced('status-live'),
      timeoutMs: 120_000,
    });
    const liveStatusMs = Date.now() - t0;
    assert.equal(live.code, 0, live.stderr);
    const liveEntries = JSON.parse(live.stdout) as { status: string }[];
    assert.equal(liveEntries.length, n);
    for (const e of liveEntries) assert.ok(['pending', 'running', 'success'].includes(e.status), e.status);

    await waitForStatuses(
      [inv],
      { cwd: s.dir, env: s.env },
      (st) => {
        const bad = st.find((e) => e.status === 'failed' || e.status === 'killed' || e.status === 'unknown');
        if (bad) throw new Error(`${bad.job_id} ${bad.status}: ${bad.cause ?? ''}`);
        return st.length === n && st.every((e) => e.status === 'success');
      },
      300_000,
      `all ${n} jobs to succeed`,
    );
    const allDoneMs = Date.now() - afterRun;

    t0 = Date.now();
    const done = await nelAsync(['status', inv], {
      cwd: s.dir,
      env: traced('status-done'),
      timeoutMs: 120_000,
    });
    const doneStatusMs = Date.now() - t0;
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.stdout.split('\n').filter((l) => l.startsWith(inv) && /SUCCESS/.test(l)).length, n);

    return {
      n,
      runCommands: readTrace(trace('run')),
      runMs,
      liveStatus: readTrace(trace('status-live')),
      liveStatusMs,
      doneStatus: readTrace(trace('status-done')),
      doneStatusMs,
      allDoneMs,
    };
  } finally {
    rmSync(remote, { recursive: true, force: true });
    rmSync(s.dir, { recursive: true, force: true });
  }
}

/** `op:via=ms` of each command, for the diagnostics. */
const timed = (lines: TraceLine[]): string => lines.map((l) => `${l.op}:${l.via}=${l.ms}`).join(' ');

function report(t: { diagnostic(m: string): void }, label: string, r: Round): void {
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  t.diagnostic(
    `${label} n=${r.n}: nel run ${r.runMs} ms, ${r.runCommands.length} commands (${timed(r.runCommands)}); ` +
      `nel status (live) ${r.liveStatusMs} ms, ${r.liveStatus.length} (${timed(r.liveStatus)}); ` +
      `nel status (done) ${r.doneStatusMs} ms, ${r.doneStatus.length} (${timed(r.doneStatus)}); ` +
      `all SUCCESS ${r.allDoneMs} ms after submission; load average ${load}`,
  );
}

function assertBounded(small: Round, big: Round): void {
  // the same commands, in the same order, whatever the number of tasks
  assert.equal(
    opsOf(big.runCommands),
    opsOf(small.runCommands),
    'nel run: the same commands for 10 and 100 tasks',
  );
  assert.equal(
    opsOf(big.liveStatus),
    opsOf(small.liveStatus),
    'nel status: the same commands for 10 and 100 tasks',
  );
  assert.equal(opsOf(big.doneStatus), opsOf(small.doneStatus));
  for (const r of [small, big]) {
    assert.ok(r.runCommands.length > 0 && r.runCommands.length <= 8, opsOf(r.runCommands));
    assert.ok(r.liveStatus.length <= 1, opsOf(r.liveStatus));
    assert.ok(r.doneStatus.length <= 1, opsOf(r.doneStatus));
    for (const l of [...r.runCommands, ...r.liveStatus, ...r.doneStatus]) assert.equal(l.code, 0, opsOf([l]));
  }
}

test('10 and 100 tasks submitted on this machine: all SUCCESS; nel run and nel status take a fixed number of cluster commands', async (t) => {
  const cluster = await requireSlurm(t);
  if (!cluster) return;
  const ep = await startEndpoint('gsm8k', { accuracy: 1 });
  try {
    const small = await round(10, ep, { clusterEnv: cluster.env });
    report(t, 'local', small);
    const big = await round(100, ep, { clusterEnv: cluster.env });
    report(t, 'local', big);
    assertBounded(small, big);
    // on this machine: the checks, the submission and the release are one local bash each
    assert.equal(opsOf(big.runCommands), 'run:bash run:bash run:bash');
    assert.equal(opsOf(big.liveStatus), 'runSync:bash');
  } finally {
    await ep.close();
  }
});

test('10 and 100 tasks through the login node: all SUCCESS; nel run and nel status take a fixed number of ssh calls', async (t) => {
  const cluster = await requireSlurm(t);
  if (!cluster) return;
  const login = await requireLoginNode(t);
  if (!login) return;
  const ep = await startEndpoint('gsm8k', { accuracy: 1 });
  try {
    const small = await round(10, ep, { login });
    report(t, 'ssh', small);
    const big = await round(100, ep, { login });
    report(t, 'ssh', big);
    assertBounded(small, big);
    // the preflight from the login node (one plain ssh call), then one master connection: the
    // checks, the copy, the submission and the release go through it
    assert.equal(opsOf(big.runCommands), 'run:ssh open:ssh run:ssh upload:rsync run:ssh run:ssh close:ssh');
    assert.ok(big.runCommands.some((l) => l.op === 'upload' && l.via === 'rsync'));
    // status: one plain ssh call, finished jobs included (their files are on the cluster)
    assert.equal(opsOf(big.liveStatus), 'runSync:ssh');
    assert.equal(opsOf(big.doneStatus), 'runSync:ssh');
  } finally {
    await ep.close();
  }
});
