/**
 * A node that dies mid-job, on a cluster of this test's own (scripts/slurm-cluster.sh in its own
 * directory, ports 17900-17903, so the shared cluster is never disturbed): the node running a task is
 * stopped while a request is in flight (`stop-node` kills its slurmd and the job's processes there,
 * as a machine failure would). Slurm ends the job NODE_FAIL once the node is marked down; the
 * successor job (submitted by the job at its start, `--dependency=afternotok`) starts on another
 * node, reads NODE_FAIL, continues from the engine's cache and finishes: SUCCESS, the exact score,
 * every sample answered once (the reference endpoint's `max_body_repeats_ok == 1`). The premise is
 * checked too: the request in flight was abandoned by the dead node, never answered.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { nelAsync, scratch } from './support/cli.js';
import { invocationIdOfDir, scoreOf, startEndpoint } from './support/e2e.js';
import {
  clusterScript,
  jobInfo,
  pollUntil,
  processesMentioning,
  requireSlurm,
  startPrivateCluster,
  stopPrivateCluster,
  waitForStatuses,
  writeSlurmConfig,
  type SlurmCluster,
} from './support/slurm.js';

const work = mkdtempSync('/tmp/nel-slurm-nodefail-');
chmodSync(work, 0o755);
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
  rmSync(work, { recursive: true, force: true });
});

const LIMIT = 30;
// Each answer takes this long: the node is stopped well inside one request's wait.
const LATENCY_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const lines = (file: string): string[] => {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

test(
  'a node dies mid-job: NODE_FAIL, the successor finishes on another node, SUCCESS with no request answered twice',
  { timeout: 240_000 },
  async (t) => {
    if (!(await requireSlurm(t))) return;
    const settings = { dir: join(work, 'cluster'), portBase: 17900, nodes: 3 };
    const cluster: SlurmCluster = await startPrivateCluster(settings);
    cleanups.push(() => stopPrivateCluster(cluster));
    const s = scratch('nel-slurm-nodefail-run-');
    s.env = { ...s.env, ...cluster.env };
    const ep = await startEndpoint('gsm8k', { accuracy: 0.5, latencyMs: LATENCY_MS });
    cleanups.push(() => ep.close());

    const cfg = writeSlurmConfig(join(s.dir, 'run.json'), {
      hostname: 'localhost',
      outputDir: join(s.dir, 'cluster-out'),
      stagingDir: join(s.dir, 'staging'),
      tasks: [{ url: ep.url, limit: LIMIT, parallelism: 1 }],
    });
    const r = await nelAsync(['run', '--config', cfg], { cwd: s.dir, env: s.env, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const m = /^Launched 1 job\(s\) on Slurm .*Slurm job (\d+)\): (\S+)$/m.exec(r.stdout);
    assert.ok(m, r.stdout);
    const first = m[1]!;
    const inv = invocationIdOfDir(m[2]!)!;
    const taskDir = join(m[2]!, 'builtin.gsm8k.0');

    // the job runs on some node and has answered a few requests
    const node = await pollUntil(
      'the job to run',
      async () => {
        const info = await jobInfo(cluster, first);
        return info.JobState === 'RUNNING' && info.NodeList ? info.NodeList : undefined;
      },
      30_000,
    );
    assert.ok(cluster.nodes.includes(node), node);
    await pollUntil('a few answers', async () => (ep.stats().answered_ok >= 6 ? true : undefined), 60_000);
    // stop the node while a request is in flight (the endpoint waits LATENCY_MS before answering):
    // the answers before it have been stored by the engine, this one will never reach it
    const total = ep.stats().total;
    await pollUntil('the next request', async () => (ep.stats().total > total ? true : undefined), 5_000);
    const answeredBefore = ep.stats().answered_ok;
    const sentAt = Date.now();
    await sleep(150);
    const stop = await clusterScript(['stop-node', node], settings, 60_000);
    assert.equal(stop.code, 0, stop.stderr);
    const stopMs = Date.now() - sentAt;
    const answeredAtStop = ep.stats().answered_ok;
    t.diagnostic(
      `stopped ${node} ${stopMs} ms after the request in flight was sent, ${answeredAtStop} answers`,
    );
    // the premise: the node died before that request was answered (else a resend is the engine's
    // honest recovery of an answer it never stored, and says nothing about exactly-once)
    assert.equal(
      answeredAtStop,
      answeredBefore,
      `the request in flight was answered before the node was stopped (${stopMs} ms for a ${LATENCY_MS} ms answer)`,
    );
    // the node's processes died with it: none of this task's is left on the machine
    await pollUntil(
      'no process of the task left',
      async () => (processesMentioning(taskDir).length === 0 ? true : undefined),
      5_000,
    ).catch(() => {
      assert.deepEqual(processesMentioning(taskDir), [], 'processes of the dead node');
    });
    await sleep(LATENCY_MS + 500);
    assert.equal(ep.stats().answered_ok, answeredAtStop, 'requests kept being answered to the dead node');
    assert.ok((ep.stats().by_status.abandoned ?? 0) >= 1, JSON.stringify(ep.stats().by_status));

    // Slurm ends the job NODE_FAIL when the node is marked down; the successor continues it
    const stateSeen = new Set<string>();
    const final = await waitForStatuses(
      [inv],
      { cwd: s.dir, env: s.env },
      (st) => {
        const e = st[0]!;
        stateSeen.add(e.status);
        if (e.status === 'failed' || e.status === 'killed') throw new Error(`${e.status}: ${e.cause ?? ''}`);
        return e.status === 'success';
      },
      150_000,
      'the successor to finish the task',
    );
    t.diagnostic(`states seen: ${[...stateSeen].join(' -> ')}`);
    const firstInfo = await jobInfo(cluster, first);
    assert.equal(firstInfo.JobState, 'NODE_FAIL', JSON.stringify(firstInfo));
    const ids = lines(join(taskDir, '.slurm_job_id.list'));
    assert.equal(ids.length, 2, ids.join(','));
    assert.equal(ids[0], first);
    const successor = ids[1]!;
    const succLog = readFileSync(join(taskDir, 'logs', `slurm-${successor}.log`), 'utf8');
    assert.match(succLog, new RegExp(`The previous Slurm job ${first} ended with NODE_FAIL: resuming\\.`));
    const succNode = /^PRIMARY_NODE: (\S+)$/m.exec(succLog)?.[1];
    assert.ok(succNode && succNode !== node && cluster.nodes.includes(succNode), `successor on ${succNode}`);
    assert.equal((await jobInfo(cluster, successor)).JobState, 'COMPLETED');

    assert.deepEqual(final[0]!.progress, { progress: LIMIT, total: LIMIT, percent: 100 });
    assert.equal(scoreOf(taskDir, 'gsm8k'), 0.5);
    const stats = ep.stats();
    t.diagnostic(`endpoint: ${JSON.stringify({ ...stats, auth_seen: undefined })}`);
    assert.equal(stats.max_body_repeats_ok, 1, 'a request was answered twice');
    assert.equal(stats.distinct_bodies, LIMIT);
    assert.equal(stats.answered_ok, LIMIT);
  },
);
