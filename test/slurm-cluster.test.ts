// The project's Slurm cluster (scripts/slurm-cluster.sh) is a real one: several nodes, jobs that
// share nodes, a login node reachable over ssh, and nodes that can fail and come back.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import {
  clusterScript,
  jobInfo,
  pollUntil,
  requireLoginNode,
  requireSlurm,
  run,
  runOverSsh,
  slurm,
  startPrivateCluster,
  stopPrivateCluster,
  waitForJob,
  type SlurmCluster,
} from './support/slurm.js';

const RESPONDING = /^(idle|mixed|allocated|completing)$/;

const work = mkdtempSync('/tmp/nel-slurm-test-');
chmodSync(work, 0o755);
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups) await c();
  rmSync(work, { recursive: true, force: true });
});

async function nodeStates(cluster: SlurmCluster): Promise<Map<string, string>> {
  const out = await slurm(cluster, 'sinfo', ['-h', '-N', '-p', 'batch', '-o', '%N %T']);
  return new Map(
    out
      .trim()
      .split('\n')
      .map((l) => l.split(' ') as [string, string]),
  );
}

async function submit(cluster: SlurmCluster, args: string[]): Promise<string> {
  const id = (await slurm(cluster, 'sbatch', ['--parsable', `--chdir=${work}`, ...args])).trim();
  assert.match(id, /^\d+$/);
  return id;
}

test(
  'up starts three nodes that all respond, in partitions batch (default) and cpu',
  { timeout: 600_000 }, // the first `up` may install the packages
  async (t) => {
    const cluster = await requireSlurm(t);
    if (!cluster) return;
    assert.deepEqual(cluster.nodes, ['node1', 'node2', 'node3']);
    const states = await nodeStates(cluster);
    t.diagnostic(`nodes: ${[...states].map(([n, s]) => `${n}=${s}`).join(', ')}`);
    assert.deepEqual([...states.keys()].sort(), cluster.nodes);
    for (const [node, state] of states) assert.match(state, RESPONDING, `${node} is ${state}`);
    const parts = await slurm(cluster, 'sinfo', ['-h', '-o', '%P %D']);
    assert.match(parts, /^batch\* 3$/m);
    assert.match(parts, /^cpu 3$/m);
    // A second `up` sees the running cluster and leaves it as it is.
    const again = await clusterScript(['up']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /already running: 3 nodes/);
    assert.equal(again.stdout.trim(), `export SLURM_CONF=${cluster.env.SLURM_CONF}`);
  },
);

test('srun -N3 runs one task on each of three distinct nodes', { timeout: 120_000 }, async (t) => {
  const cluster = await requireSlurm(t);
  if (!cluster) return;
  const out = await slurm(cluster, 'srun', [
    '-N3',
    '--ntasks-per-node=1',
    '-t',
    '1',
    'bash',
    '-c',
    'echo "$SLURMD_NODENAME $SLURM_NODEID"',
  ]);
  const lines = out.trim().split('\n').sort();
  t.diagnostic(`srun -N3: ${lines.join('; ')}`);
  assert.equal(lines.length, 3);
  const names = lines.map((l) => l.split(' ')[0]);
  assert.equal(new Set(names).size, 3, 'three distinct SLURMD_NODENAMEs');
  for (const n of names) assert.ok(cluster.nodes.includes(n), n);
  assert.deepEqual(lines.map((l) => l.split(' ')[1]).sort(), ['0', '1', '2']);
});

test('an sbatch --wrap job completes and writes its output file', { timeout: 120_000 }, async (t) => {
  const cluster = await requireSlurm(t);
  if (!cluster) return;
  const id = await submit(cluster, [
    `--output=${work}/wrap-%j.out`,
    '--wrap',
    'echo "job $SLURM_JOB_ID on $SLURMD_NODENAME in $SLURM_JOB_PARTITION"',
  ]);
  const info = await waitForJob(cluster, id);
  assert.equal(info.JobState, 'COMPLETED');
  assert.equal(info.ExitCode, '0:0');
  const text = readFileSync(join(work, `wrap-${id}.out`), 'utf8').trim();
  t.diagnostic(`job ${id}: ${text}`);
  assert.equal(text, `job ${id} on ${info.NodeList} in batch`);
});

test('two 1-CPU jobs run at the same time on one node', { timeout: 120_000 }, async (t) => {
  const cluster = await requireSlurm(t);
  if (!cluster) return;
  const node = cluster.nodes[1];
  const marks = mkdtempSync(join(work, 'share-'));
  // Each job marks that it started, then waits (30 s at most) to see the other's mark: both
  // succeed only if they ran at the same time.
  const script =
    `touch ${marks}/$SLURM_JOB_ID; for i in $(seq 300); do ` +
    `[ "$(ls ${marks} | wc -l)" -ge 2 ] && { echo together; exit 0; }; sleep 0.1; done; echo alone; exit 1`;
  const ids: string[] = [];
  for (let i = 0; i < 2; i++) {
    ids.push(
      await submit(cluster, [
        `--nodelist=${node}`,
        '--cpus-per-task=1',
        '--mem=64M',
        `--output=${work}/share-%j.out`,
        '--wrap',
        script,
      ]),
    );
  }
  for (const id of ids) {
    const info = await waitForJob(cluster, id);
    assert.equal(info.NodeList, node);
    assert.equal(readFileSync(join(work, `share-${id}.out`), 'utf8').trim(), 'together', `job ${id}`);
    assert.equal(info.JobState, 'COMPLETED');
  }
  t.diagnostic(`jobs ${ids.join(' and ')} ran together on ${node}`);
});

test(
  'over ssh to the login node, sbatch, squeue and scancel reach the cluster; rsync copies',
  { timeout: 120_000 },
  async (t) => {
    const cluster = await requireSlurm(t);
    const login = await requireLoginNode(t);
    if (!cluster || !login) return;
    const env = await runOverSsh(login, 'echo "$SLURM_CONF"');
    assert.equal(env.code, 0, env.stderr);
    assert.equal(env.stdout.trim(), cluster.env.SLURM_CONF);

    const sub = await runOverSsh(
      login,
      `sbatch --parsable --chdir=${work} --output=${work}/ssh-%j.out --wrap 'echo submitted over ssh'`,
    );
    assert.equal(sub.code, 0, sub.stderr);
    const id = sub.stdout.trim();
    assert.match(id, /^\d+$/);
    assert.equal((await waitForJob(cluster, id)).JobState, 'COMPLETED');
    assert.equal(readFileSync(join(work, `ssh-${id}.out`), 'utf8').trim(), 'submitted over ssh');

    const long = await runOverSsh(
      login,
      `sbatch --parsable --chdir=${work} --output=/dev/null --wrap 'sleep 300'`,
    );
    assert.equal(long.code, 0, long.stderr);
    const longId = long.stdout.trim();
    const queued = await runOverSsh(login, `squeue -h -j ${longId} -o '%i %T'`);
    assert.equal(queued.code, 0, queued.stderr);
    assert.match(queued.stdout.trim(), new RegExp(`^${longId} (PENDING|RUNNING)$`));
    const cancel = await runOverSsh(login, `scancel ${longId}`);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.equal((await waitForJob(cluster, longId)).JobState, 'CANCELLED');
    t.diagnostic(`over ssh: job ${id} completed, job ${longId} queued then cancelled`);

    const src = join(work, 'rsync-src.txt');
    writeFileSync(src, 'copied to the login node\n');
    const copy = await run('rsync', [
      '-e',
      `ssh -F ${login.sshConfigPath}`,
      src,
      `${login.hostAlias}:${work}/rsync-dst.txt`,
    ]);
    assert.equal(copy.code, 0, copy.stderr);
    assert.equal(readFileSync(join(work, 'rsync-dst.txt'), 'utf8'), 'copied to the login node\n');
  },
);

test(
  'stop-node makes a node not respond, then down; start-node brings it back to idle',
  { timeout: 150_000 },
  async (t) => {
    // A cluster of this test's own, so that stopping a node does not disturb other test files.
    if (!(await requireSlurm(t))) return;
    const settings = { dir: `${work}/nodefail-cluster`, portBase: 17850, nodes: 3 };
    const cluster = await startPrivateCluster(settings);
    cleanups.push(() => stopPrivateCluster(cluster));
    const config = await slurm(cluster, 'scontrol', ['show', 'config']);
    const slurmdTimeout = Number(/^SlurmdTimeout\s*=\s*(\d+)/m.exec(config)?.[1]);
    assert.ok(slurmdTimeout > 0 && slurmdTimeout <= 20, `SlurmdTimeout ${slurmdTimeout}`);
    const state = async (): Promise<string> => (await nodeStates(cluster)).get('node3') ?? '';
    assert.equal(await state(), 'idle');
    const job = await submit(cluster, ['--nodelist=node3', '--output=/dev/null', '--wrap', 'sleep 300']);
    await pollUntil(
      'the job to run on node3',
      async () => ((await jobInfo(cluster, job)).JobState === 'RUNNING' ? true : undefined),
      20_000,
    );

    const stopped = Date.now();
    const stop = await clusterScript(['stop-node', 'node3'], settings, 60_000);
    assert.equal(stop.code, 0, stop.stderr);
    // The controller pings nodes every SlurmdTimeout/3 and waits up to MessageTimeout for an answer:
    // a stopped node is marked not responding about one SlurmdTimeout later, and DOWN once
    // SlurmdTimeout has passed since its last answer, at the end of a later ping round.
    const silentBound = (2 * slurmdTimeout + 10) * 1000;
    const downBound = (3 * slurmdTimeout + 15) * 1000;
    const when = (test: (s: string) => boolean) => async () => {
      const s = await state();
      return test(s) ? s : undefined;
    };
    const silent = await pollUntil(
      'node3 to stop responding',
      when((s) => s.endsWith('*')),
      silentBound,
    );
    const silentAfter = (Date.now() - stopped) / 1000;
    const down = await pollUntil(
      'node3 to be down',
      when((s) => s.startsWith('down')),
      downBound,
    );
    const downAfter = (Date.now() - stopped) / 1000;
    t.diagnostic(
      `SlurmdTimeout=${slurmdTimeout}s: node3 ${silent} after ${silentAfter.toFixed(1)} s, ${down} after ${downAfter.toFixed(1)} s`,
    );
    // The job lost with the node is no longer running there.
    assert.notEqual((await jobInfo(cluster, job)).JobState, 'RUNNING');
    await slurm(cluster, 'scancel', [job]);
    for (const n of ['node1', 'node2']) assert.match((await nodeStates(cluster)).get(n) ?? '', RESPONDING);

    const started = Date.now();
    const start = await clusterScript(['start-node', 'node3'], settings, 60_000);
    assert.equal(start.code, 0, start.stderr);
    await pollUntil(
      'node3 to be idle again',
      when((s) => s === 'idle'),
      30_000,
    );
    t.diagnostic(`node3 idle again ${((Date.now() - started) / 1000).toFixed(1)} s after start-node`);
  },
);
