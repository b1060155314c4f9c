/**
 * Auto-export on the project's test cluster: after a successful evaluation, run.sub submits the
 * exporters as a CPU-only job of its own (`<task>/export.sub`) on `execution.cpu_partition` (the
 * cluster's `cpu` partition), never on the evaluation's partition and without GPUs; it runs the local
 * exporter, writes its own log under logs/ and `logs/export.exit`, and the exported file holds the
 * task's score.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { nelAsync, scratch } from './support/cli.js';
import { gsm8kDir, invocationIdOfDir, scoreOf, startEndpoint } from './support/e2e.js';
import { jobInfo, pollUntil, requireSlurm, waitForStatuses } from './support/slurm.js';

/** An invocation of one builtin.gsm8k task with auto-export to the local exporter at `exportDir`. */
async function launchWithExport(
  s: ReturnType<typeof scratch>,
  epUrl: string,
  exportDir: string,
  name: string,
): Promise<{ evalId: string; inv: string; taskDir: string }> {
  const config = {
    defaults: [{ execution: 'slurm/default' }, { deployment: 'none' }, '_self_'],
    execution: {
      hostname: 'localhost',
      username: userInfo().username,
      account: 'nel-test',
      partition: 'batch',
      cpu_partition: 'cpu',
      output_dir: join(s.dir, `cluster-${name}`),
      staging_dir: join(s.dir, 'staging'),
      container_runtime: 'none',
      gres: null,
      walltime: '00:10:00',
      sbatch_extra_flags: { exclusive: false },
      auto_export: { destinations: ['local'] },
    },
    export: { local: { output_dir: exportDir, format: 'json' } },
    target: { api_endpoint: { model_id: 'reference-model', url: `${epUrl}/v1/chat/completions` } },
    evaluation: {
      tasks: [
        {
          name: 'builtin.gsm8k',
          dataset_dir: gsm8kDir(),
          nemo_evaluator_config: { config: { params: { limit_samples: 6, parallelism: 2 } } },
        },
      ],
    },
  };
  const cfg = join(s.dir, `${name}.json`);
  writeFileSync(cfg, JSON.stringify(config, null, 2) + '\n');
  const r = await nelAsync(['run', '--config', cfg], { cwd: s.dir, env: s.env, timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const m = /^Launched 1 job\(s\) on Slurm .*Slurm job (\d+)\): (\S+)$/m.exec(r.stdout);
  assert.ok(m, r.stdout);
  return { evalId: m[1]!, inv: invocationIdOfDir(m[2]!)!, taskDir: join(m[2]!, 'builtin.gsm8k.0') };
}

const readWhenThere = (file: string, timeoutMs: number): Promise<string> =>
  pollUntil(
    file,
    async () => (existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined),
    timeoutMs,
  );

test('auto-export runs as a CPU-only job on cpu_partition after success; the local exporter wrote the results', async (t) => {
  const cluster = await requireSlurm(t);
  if (!cluster) return;
  const s = scratch('nel-slurm-export-');
  s.env = { ...s.env, ...cluster.env };
  const ep = await startEndpoint('gsm8k', { accuracy: 0.5 });
  try {
    const exportDir = join(s.dir, 'exported');
    const { evalId, inv, taskDir } = await launchWithExport(s, ep.url, exportDir, 'ok');
    await waitForStatuses(
      [inv],
      { cwd: s.dir, env: s.env },
      (st) => {
        const e = st[0]!;
        if (e.status === 'failed' || e.status === 'killed') throw new Error(`${e.status}: ${e.cause ?? ''}`);
        return e.status === 'success';
      },
      90_000,
      'the evaluation to succeed',
    );
    assert.equal(scoreOf(taskDir, 'gsm8k'), 0.5);
    // the evaluation job submitted the export job, which runs on the cpu partition, without GPUs
    const exportId = await pollUntil(
      'the export job id',
      async () => {
        const f = join(taskDir, '.slurm_export_job_id');
        return existsSync(f) ? readFileSync(f, 'utf8').trim() || undefined : undefined;
      },
      30_000,
    );
    assert.notEqual(exportId, evalId);
    const info = await jobInfo(cluster, exportId);
    t.diagnostic(
      `export job ${exportId}: ${info.JobState} on ${info.Partition}, TRES ${info.TRES ?? info.ReqTRES}`,
    );
    assert.equal(info.Partition, 'cpu');
    assert.equal((await jobInfo(cluster, evalId)).Partition, 'batch');
    assert.doesNotMatch(`${info.TRES ?? ''} ${info.ReqTRES ?? ''} ${info.Gres ?? ''}`, /gpu/);
    assert.notEqual(info.OverSubscribe, 'NO', 'the export job is not exclusive');
    assert.equal(info.JobName, 'nel-test-nemo-evaluator-launcher.builtin.gsm8k.0.export');
    const exit = await pollUntil(
      'the export to end',
      async () => {
        const f = join(taskDir, 'logs', 'export.exit');
        return existsSync(f) ? readFileSync(f, 'utf8') : undefined;
      },
      60_000,
    );
    const exportLog = readFileSync(join(taskDir, 'logs', `export-${exportId}.log`), 'utf8');
    assert.match(exit, / 0\n$/, exportLog);
    assert.match(exportLog, new RegExp(`Export of job ${inv}\\.0 to local completed`));
    // the evaluation job's own log names the export job
    const evalLog = readFileSync(join(taskDir, 'logs', `slurm-${evalId}.log`), 'utf8');
    assert.match(evalLog, new RegExp(`Submitted the export job ${exportId} \\(local\\)`));
    // what the local exporter wrote: the job with its score
    const jobOut = join(exportDir, inv, `${inv}.0`);
    assert.ok(existsSync(join(jobOut, 'artifacts', 'results.yml')), 'the artifacts were copied');
    const out = readFileSync(join(jobOut, 'processed_results.json'), 'utf8');
    assert.ok(out.includes(`${inv}.0`), out);
    assert.match(out, /0\.5/);
  } finally {
    await ep.close();
  }
});

test("a failed auto-export leaves the task SUCCESS and is seen in the export job's log and logs/export.exit", async (t) => {
  const cluster = await requireSlurm(t);
  if (!cluster) return;
  const s = scratch('nel-slurm-export-fail-');
  s.env = { ...s.env, ...cluster.env };
  const ep = await startEndpoint('gsm8k', { accuracy: 0.5 });
  try {
    // the exporter's folder cannot be made: its parent is a file
    writeFileSync(join(s.dir, 'a-file'), '');
    const { inv, taskDir } = await launchWithExport(s, ep.url, join(s.dir, 'a-file', 'out'), 'fail');
    const exportId = await readWhenThere(join(taskDir, '.slurm_export_job_id'), 90_000);
    const exit = await readWhenThere(join(taskDir, 'logs', 'export.exit'), 60_000);
    const log = readFileSync(join(taskDir, 'logs', `export-${exportId}.log`), 'utf8');
    assert.match(exit, / 1$/, log);
    assert.match(log, new RegExp(`^error: export of job ${inv}\\.0 to local failed$`, 'm'));
    const st = await waitForStatuses(
      [inv],
      { cwd: s.dir, env: s.env },
      (e) => e[0]!.status === 'success',
      30_000,
    );
    assert.equal(st[0]!.status, 'success');
    assert.equal(scoreOf(taskDir, 'gsm8k'), 0.5);
  } finally {
    await ep.close();
  }
});
