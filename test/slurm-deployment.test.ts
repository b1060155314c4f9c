/**
 * Deployments on the allocation, for real on the project's test cluster: `deployment.type: generic`
 * whose command starts the project's reference endpoint (`nel serve-reference`) as a host process on
 * the job's node (container_runtime none). run.sub starts it with srun, polls its health, runs the
 * evaluation against it and stops it at the end.
 *
 * - three tasks, each its own job with its own server: all SUCCESS with the exact score the reference
 *   endpoint gives (0.5), each server ran on its job's node (its log under logs/ says so) and is gone
 *   after the job (no process, nothing listening on the port);
 * - a server that never listens, one that exits at once, one that dies during the evaluation: each job
 *   ends promptly, FAILED in `nel status` with a one-line cause naming the server and its log's end.
 *
 * All test nodes are this machine (one address), so two servers on one port cannot run at once: the
 * three SUCCESS jobs share node1 exclusively (one after the other), the failing ones use ports of
 * their own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { nelAsync, scratch } from './support/cli.js';
import { gsm8kDir, invocationIdOfDir, scoreOf } from './support/e2e.js';
import { repoRoot } from './support/paths.js';
import { processesMentioning, requireSlurm, waitForStatuses, type SlurmCluster } from './support/slurm.js';
import type { StatusEntry } from '../src/executors/types.js';
import { serverPort } from './support/ports.js';

const nelJs = (): string => join(repoRoot(), 'dist', 'src', 'bin', 'nel.js');

/** Whether something accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ host: '127.0.0.1', port });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** The reference endpoint started by the deployment's command on the job's node. */
function referenceCommand(port: number, modelId: string, extra = ''): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return [
    `echo "reference endpoint on node $SLURMD_NODENAME (job $SLURM_JOB_ID, pid $$)"`,
    `exec node ${q(nelJs())} serve-reference --benchmark gsm8k --dataset-path ${q(gsm8kDir())}` +
      ` --accuracy 0.5 --port ${port} --model-id ${q(modelId)}${extra}`,
  ].join('\n');
}

interface DeploymentRun {
  name: string;
  port: number;
  command: string;
  modelId: string;
  limits: number[];
  readinessTimeout?: number;
  /** sbatch_extra_flags beyond exclusive */
  pinTo?: string;
}

function writeConfig(dir: string, r: DeploymentRun): string {
  const config = {
    defaults: [{ execution: 'slurm/default' }, { deployment: 'generic' }, '_self_'],
    execution: {
      hostname: 'localhost',
      username: userInfo().username,
      account: 'nel-test',
      partition: 'batch',
      output_dir: join(dir, `cluster-${r.name}`),
      staging_dir: join(dir, 'staging'),
      container_runtime: 'none',
      gres: null,
      walltime: '00:10:00',
      ...(r.readinessTimeout ? { endpoint_readiness_timeout: r.readinessTimeout } : {}),
      sbatch_extra_flags: r.pinTo ? { exclusive: true, nodelist: r.pinTo } : { exclusive: false },
    },
    deployment: {
      image: 'none (container_runtime none)',
      command: r.command,
      port: r.port,
      served_model_name: r.modelId,
    },
    evaluation: {
      nemo_evaluator_config: { config: { params: { request_timeout: 30, max_retries: 2 } } },
      tasks: r.limits.map((limit) => ({
        name: 'builtin.gsm8k',
        dataset_dir: gsm8kDir(),
        nemo_evaluator_config: { config: { params: { limit_samples: limit, parallelism: 1 } } },
      })),
    },
  };
  const file = join(dir, `${r.name}.json`);
  writeFileSync(file, JSON.stringify(config, null, 2) + '\n');
  return file;
}

async function launch(s: ReturnType<typeof scratch>, r: DeploymentRun) {
  const cfg = writeConfig(s.dir, r);
  const out = await nelAsync(['run', '--config', cfg], { cwd: s.dir, env: s.env, timeoutMs: 60_000 });
  assert.equal(out.code, 0, out.stdout + out.stderr);
  const m = /^Launched \d+ job\(s\) on Slurm \(.*; Slurm jobs? ([\d ]+)\): (\S+)$/m.exec(out.stdout);
  assert.ok(m, out.stdout);
  const dir = m[2]!;
  return { inv: invocationIdOfDir(dir)!, dir, slurmIds: m[1]!.split(' ') };
}

const terminal = (e: StatusEntry) => ['success', 'failed', 'killed'].includes(e.status);

function serverLogs(taskDir: string): string[] {
  return readdirSync(join(taskDir, 'logs'))
    .filter((f) => /^server-0-\d+-0\.log$/.test(f))
    .map((f) => join(taskDir, 'logs', f));
}

async function withCluster(t: import('node:test').TestContext): Promise<SlurmCluster | undefined> {
  return requireSlurm(t);
}

test('generic deployment (the reference endpoint) on the allocation: three tasks SUCCESS with the exact score, server on the job node, gone after', async (t) => {
  const cluster = await withCluster(t);
  if (!cluster) return;
  const s = scratch('nel-slurm-dep-');
  s.env = { ...s.env, ...cluster.env };
  const port = await serverPort();
  const modelId = `ref-dep-${randomBytes(6).toString('hex')}`;
  const limits = [4, 6, 8];
  const started = Date.now();
  const run = await launch(s, {
    name: 'ok',
    port,
    modelId,
    command: referenceCommand(port, modelId),
    limits,
    pinTo: 'node1',
  });
  const final = await waitForStatuses(
    [run.inv],
    { cwd: s.dir, env: s.env },
    (st) => {
      const bad = st.find((e) => e.status === 'failed' || e.status === 'killed');
      if (bad) throw new Error(`${bad.job_id} ${bad.status}: ${bad.cause ?? ''}`);
      return st.length === 3 && st.every((e) => e.status === 'success');
    },
    240_000,
    'the three deployment jobs to succeed',
  );
  t.diagnostic(`three jobs with their own server: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  final.forEach((e, i) => {
    assert.deepEqual(e.progress, { progress: limits[i], total: limits[i], percent: 100 });
  });
  for (let i = 0; i < 3; i++) {
    const taskDir = join(run.dir, `builtin.gsm8k.${i}`);
    assert.equal(scoreOf(taskDir, 'gsm8k'), 0.5, `task ${i}`);
    const jobLog = readFileSync(join(taskDir, 'logs', `slurm-${run.slurmIds[i]}.log`), 'utf8');
    const node = /^PRIMARY_NODE: (\S+)$/m.exec(jobLog)?.[1];
    assert.equal(node, 'node1', jobLog);
    assert.match(jobLog, /The model server is ready on 127\.0\.0\.1/);
    // the server's own log, under logs/: it ran on the job's node, within this job
    const logs = serverLogs(taskDir);
    assert.deepEqual(
      logs.map((f) => f.split('/').pop()),
      [`server-0-${run.slurmIds[i]}-0.log`],
    );
    const serverLog = readFileSync(logs[0]!, 'utf8');
    assert.match(
      serverLog,
      new RegExp(`^reference endpoint on node ${node} \\(job ${run.slurmIds[i]}, pid \\d+\\)$`, 'm'),
    );
    assert.match(serverLog, /listening on http:\/\/127\.0\.0\.1:\d+/);
    const pid = Number(/pid (\d+)\)/.exec(serverLog)![1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    assert.equal(alive, false, `server process ${pid} of job ${i} is still running`);
  }
  // the servers are gone: nothing listens on the port, no process of them is left
  assert.equal(await listening(port), false, `something still listens on ${port}`);
  assert.deepEqual(processesMentioning(modelId), []);
});

test('a server that never listens, one that exits at once, one that dies mid-evaluation: FAILED promptly, the cause names the server and its log end', async (t) => {
  const cluster = await withCluster(t);
  if (!cluster) return;
  const s = scratch('nel-slurm-depfail-');
  s.env = { ...s.env, ...cluster.env };
  const tag = randomBytes(6).toString('hex');
  const [p1, p2, p3] = [await serverPort(), await serverPort(), await serverPort()];
  const started = Date.now();
  const silent = await launch(s, {
    name: 'silent',
    port: p1,
    modelId: `m-${tag}`,
    // alive, but listens on nothing
    command: `echo "warming up, not listening ${tag}"\nexec -a nel-silent-${tag} sleep 300`,
    limits: [4],
    readinessTimeout: 10,
  });
  const quits = await launch(s, {
    name: 'quits',
    port: p2,
    modelId: `m-${tag}`,
    command: `echo "fatal: no weights found ${tag}" >&2\nexit 3`,
    limits: [4],
  });
  const diesModel = `ref-dies-${tag}`;
  const dies = await launch(s, {
    name: 'dies',
    port: p3,
    modelId: diesModel,
    // healthy at once, answers slowly, and is gone after 10 s: mid-evaluation (80 x 300 ms)
    command: referenceCommand(p3, diesModel, ' --latency-ms 300 --max-seconds 10'),
    limits: [80],
  });
  const ended: Record<string, number> = {};
  const final = await waitForStatuses(
    [silent.inv, quits.inv, dies.inv],
    { cwd: s.dir, env: s.env },
    (st) => {
      for (const e of st) if (terminal(e)) ended[e.job_id ?? ''] ??= Date.now() - started;
      return st.length === 3 && st.every(terminal);
    },
    150_000,
    'the three failing deployments to end',
  );
  t.diagnostic(
    `ended after (s): ${Object.entries(ended)
      .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}`)
      .join(', ')}`,
  );
  const byInv = (inv: string) => final.find((e) => e.job_id === `${inv}.0`)!;
  for (const r of [silent, quits, dies]) {
    const e = byInv(r.inv);
    assert.equal(e.status, 'failed', `${r.inv}: ${e.status} ${e.cause ?? ''}`);
    assert.ok(e.cause && !e.cause.includes('\n'), `one-line cause: ${JSON.stringify(e.cause)}`);
  }
  const logPath = (r: { dir: string; slurmIds: string[] }) =>
    join(r.dir, 'builtin.gsm8k.0', 'logs', `server-0-${r.slurmIds[0]}-0.log`);
  const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  assert.match(
    byInv(silent.inv).cause!,
    new RegExp(
      `the model server did not become healthy within 10s \\(execution\\.endpoint_readiness_timeout\\); its log ${esc(logPath(silent))} ends: warming up, not listening ${tag}$`,
    ),
  );
  assert.match(
    byInv(quits.inv).cause!,
    new RegExp(
      `model server instance 0 \\(generic\\) exited with code 3 before it became healthy; its log ${esc(logPath(quits))} ends: fatal: no weights found ${tag}$`,
    ),
  );
  assert.match(
    byInv(dies.inv).cause!,
    new RegExp(
      `model server instance 0 \\(generic\\) exited with code \\d+ while the evaluation ran; its log ${esc(logPath(dies))} ends: `,
    ),
  );
  // promptly: the silent one at its 10 s readiness timeout, the others within seconds of the exit
  // (the dying server lives 10 s; the evaluation alone would need 24 s)
  for (const r of [silent, quits, dies]) {
    const sec = ended[`${r.inv}.0`]! / 1000;
    assert.ok(sec < 60, `${r.inv} ended after ${sec} s`);
  }
  const diesDir = join(dies.dir, 'builtin.gsm8k.0');
  const progress = Number(readFileSync(join(diesDir, 'artifacts', 'progress'), 'utf8').trim() || 0);
  assert.ok(progress > 0 && progress < 80, `the evaluation had started and not finished: ${progress}/80`);
  // nothing left running: the silent server was stopped by the job
  assert.deepEqual(processesMentioning(`nel-silent-${tag}`), []);
  assert.deepEqual(processesMentioning(diesModel), []);
  for (const p of [p1, p2, p3]) assert.equal(await listening(p), false, `port ${p}`);
});

test('an auxiliary deployment (a generic "judge": the reference endpoint) on a node of its own; the evaluation reaches it through its filled-in URL', async (t) => {
  const cluster = await withCluster(t);
  if (!cluster) return;
  const s = scratch('nel-slurm-aux-');
  s.env = { ...s.env, ...cluster.env };
  const port = await serverPort();
  const modelId = `ref-judge-${randomBytes(6).toString('hex')}`;
  const config = {
    defaults: [{ execution: 'slurm/default' }, { deployment: 'none' }, '_self_'],
    execution: {
      hostname: 'localhost',
      username: userInfo().username,
      account: 'nel-test',
      partition: 'batch',
      output_dir: join(s.dir, 'cluster'),
      staging_dir: join(s.dir, 'staging'),
      container_runtime: 'none',
      gres: null,
      walltime: '00:10:00',
      sbatch_extra_flags: { exclusive: false },
    },
    auxiliary_deployments: {
      judge: {
        type: 'generic',
        image: 'none (container_runtime none)',
        command: referenceCommand(port, modelId),
        served_model_name: modelId,
        port,
        endpoints: { chat: '/v1/chat/completions', health: '/health' },
      },
    },
    // the model under test is the "judge" itself here: its URL and model id are references that
    // the job fills in once the judge runs
    target: {
      api_endpoint: {
        url: 'auxiliary_deployments.judge.chat_url',
        model_id: 'auxiliary_deployments.judge.model_id',
      },
    },
    evaluation: {
      nemo_evaluator_config: { config: { params: { request_timeout: 30, max_retries: 2 } } },
      tasks: [
        {
          name: 'builtin.gsm8k',
          dataset_dir: gsm8kDir(),
          nemo_evaluator_config: { config: { params: { limit_samples: 6, parallelism: 1 } } },
        },
      ],
    },
  };
  const cfg = join(s.dir, 'aux.json');
  writeFileSync(cfg, JSON.stringify(config, null, 2) + '\n');
  const out = await nelAsync(['run', '--config', cfg, '--skip-preflight'], {
    cwd: s.dir,
    env: s.env,
    timeoutMs: 60_000,
  });
  assert.equal(out.code, 0, out.stdout + out.stderr);
  const m = /^Launched 1 job\(s\) on Slurm .*Slurm job (\d+)\): (\S+)$/m.exec(out.stdout);
  assert.ok(m, out.stdout);
  const slurmId = m[1]!;
  const inv = invocationIdOfDir(m[2]!)!;
  const taskDir = join(m[2]!, 'builtin.gsm8k.0');
  const final = await waitForStatuses(
    [inv],
    { cwd: s.dir, env: s.env },
    (st) => {
      const e = st[0]!;
      if (e.status === 'failed' || e.status === 'killed') throw new Error(`${e.status}: ${e.cause ?? ''}`);
      return e.status === 'success';
    },
    120_000,
    'the job with an auxiliary deployment to succeed',
  );
  assert.deepEqual(final[0]!.progress, { progress: 6, total: 6, percent: 100 });
  assert.equal(scoreOf(taskDir, 'gsm8k'), 0.5);
  const jobLog = readFileSync(join(taskDir, 'logs', `slurm-${slurmId}.log`), 'utf8');
  const primary = /^PRIMARY_NODE: (\S+)$/m.exec(jobLog)?.[1];
  const auxNodes = /^Auxiliary deployment judge: MASTER_IP=\S+, nodes: (\S+)$/m.exec(jobLog)?.[1];
  assert.ok(primary && auxNodes, jobLog);
  assert.notEqual(auxNodes, primary, 'the judge runs on a node of its own');
  const judgeLog = readFileSync(join(taskDir, 'logs', `aux-judge-${slurmId}-0.log`), 'utf8');
  assert.match(
    judgeLog,
    new RegExp(`^reference endpoint on node ${auxNodes} \\(job ${slurmId}, pid \\d+\\)$`, 'm'),
  );
  // the engine was given the judge's URL and model id, filled in at run time
  const resolvedCfg = readFileSync(join(taskDir, 'logs', 'config_ef.resolved.yaml'), 'utf8');
  assert.match(resolvedCfg, new RegExp(`url: http://127\\.0\\.0\\.1:${port}/v1/chat/completions`));
  assert.match(resolvedCfg, new RegExp(`model_id: ${modelId}`));
  assert.match(readFileSync(join(taskDir, 'config_ef.yaml'), 'utf8'), /url: \$\{JUDGE_CHAT_URL\}/);
  assert.equal(await listening(port), false, 'the judge is stopped after the job');
  assert.deepEqual(processesMentioning(modelId), []);
});
