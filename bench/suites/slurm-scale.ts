/**
 * 7. Slurm submission and status at scale, on the project's test cluster (scripts/slurm-cluster.sh up):
 * `nel run` of an invocation of N one-sample builtin.gsm8k tasks submitted on this machine, then one
 * `nel status` of it, then `nel kill` (the jobs are not awaited; test/slurm-scale.test.ts runs them to
 * SUCCESS). The cluster commands of each call are counted from NEMO_EVALUATOR_SLURM_TRACE: they must not
 * grow with N. Not available without a running cluster (nothing is started here).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { failureOf, runChild } from '../lib/child.js';
import { makeTemp, removeTemp, type BenchOptions } from '../lib/context.js';
import { startEndpointChild } from '../lib/endpoint.js';
import { gsm8kSourceFile } from '../lib/data.js';
import { nelBin } from '../lib/paths.js';
import type { Row, SuiteResult, Table } from '../lib/results.js';

const CALL_TIMEOUT_MS = 180_000;

function config(root: string, n: number, url: string, dataDir: string): string {
  const file = join(root, `slurm-${n}.json`);
  const cfg = {
    defaults: [{ execution: 'slurm/default' }, { deployment: 'none' }, '_self_'],
    execution: {
      hostname: hostname(),
      username: userInfo().username,
      account: 'nel-bench',
      partition: 'batch',
      output_dir: join(root, 'cluster-out'),
      staging_dir: join(root, 'staging'),
      container_runtime: 'none',
      gres: null,
      walltime: '00:10:00',
      sbatch_extra_flags: { exclusive: false },
    },
    target: { api_endpoint: { model_id: 'reference-model', url: `${url}/v1/chat/completions` } },
    evaluation: {
      tasks: Array.from({ length: n }, () => ({
        name: 'builtin.gsm8k',
        dataset_dir: join(dataDir, 'gsm8k'),
        nemo_evaluator_config: { config: { params: { limit_samples: 1, parallelism: 1 } } },
      })),
    },
  };
  writeFileSync(file, JSON.stringify(cfg, null, 2));
  return file;
}

const traceCount = (file: string): number =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;

export async function slurmScale(opts: BenchOptions): Promise<SuiteResult> {
  const sizes = opts.smoke ? [5, 20] : [10, 100];
  const rounds = opts.smoke ? 1 : Math.max(1, opts.rounds);
  const result: SuiteResult = {
    key: 'slurm',
    title: '7. Slurm submission and status',
    description:
      `Whole nel processes against the test cluster (${sizes.join(' and ')} one-sample tasks submitted on this machine; ` +
      `${rounds} round(s)); each invocation is killed after its status is read. Cluster commands counted from NEMO_EVALUATOR_SLURM_TRACE.`,
    tables: [],
    facts: {},
    notes: [],
  };
  const conf = process.env.SLURM_CONF || '/tmp/nel-slurm/etc/slurm.conf';
  const sinfo = await runChild('sinfo', ['-h'], {
    env: { ...process.env, SLURM_CONF: conf },
    timeoutMs: 15_000,
  });
  if (!existsSync(conf) || failureOf(sinfo)) {
    result.unavailable = `no Slurm cluster answers (${failureOf(sinfo) ?? `${conf} missing`}; start one with scripts/slurm-cluster.sh up)`;
    return result;
  }
  if (!existsSync(nelBin())) {
    result.unavailable = `${nelBin()} not built (run npm run build)`;
    return result;
  }
  const dir = makeTemp('slurm');
  const ep = await startEndpointChild({ datasetFile: gsm8kSourceFile(opts.dataDir), latencyMs: 0 });
  try {
    const home = join(dir, 'home');
    mkdirSync(home, { recursive: true });
    const rows: Row[] = [];
    for (const n of sizes) {
      const runRow: Row = { label: `nel run (${n} tasks)`, scope: 'whole process', values: [] };
      const statusRow: Row = { label: `nel status (${n} tasks)`, scope: 'whole process', values: [] };
      const counts = { run: new Set<number>(), status: new Set<number>() };
      for (let r = 0; r < rounds; r++) {
        const base = {
          ...process.env,
          SLURM_CONF: conf,
          HOME: home,
          NEMO_EVALUATOR_EXEC_DB_FILE: join(dir, 'exec.v1.jsonl'),
          NO_COLOR: '1',
        };
        const runTrace = join(dir, `run-${n}-${r}.trace`);
        const res = await runChild(
          process.execPath,
          [nelBin(), 'run', '--config', config(dir, n, ep.url, opts.dataDir)],
          {
            env: { ...base, NEMO_EVALUATOR_SLURM_TRACE: runTrace },
            cwd: dir,
            timeoutMs: CALL_TIMEOUT_MS,
          },
        );
        const failure = failureOf(res);
        const inv = /^Launched \d+ job\(s\) on Slurm .*-([0-9a-f]{16})$/m.exec(res.stdout)?.[1];
        if (failure || !inv) {
          (runRow.errors ??= []).push(failure ?? 'no invocation id printed');
          continue;
        }
        runRow.values.push(res.wallMs);
        counts.run.add(traceCount(runTrace));
        const statusTrace = join(dir, `status-${n}-${r}.trace`);
        const st = await runChild(process.execPath, [nelBin(), 'status', inv], {
          env: { ...base, NEMO_EVALUATOR_SLURM_TRACE: statusTrace },
          cwd: dir,
          timeoutMs: CALL_TIMEOUT_MS,
        });
        const sf = failureOf(st);
        if (sf) (statusRow.errors ??= []).push(sf);
        else statusRow.values.push(st.wallMs);
        counts.status.add(traceCount(statusTrace));
        await runChild(process.execPath, [nelBin(), 'kill', inv], { env: base, cwd: dir, timeoutMs: 60_000 });
      }
      runRow.note = `${[...counts.run].join('/')} cluster command(s)`;
      statusRow.note = `${[...counts.status].join('/')} cluster command(s)`;
      result.facts[`runCommands:${n}`] = [...counts.run].join('/');
      result.facts[`statusCommands:${n}`] = [...counts.status].join('/');
      rows.push(runRow, statusRow);
      opts.log(`  slurm: ${n} tasks done (${runRow.note} per run, ${statusRow.note} per status)`);
    }
    const table: Table = { title: 'Submission on this machine', unit: 'ms', better: 'lower', rows };
    result.tables.push(table);
    const [a, b] = sizes;
    const same = (k: string) =>
      result.facts[`${k}:${a}`] !== '' && result.facts[`${k}:${a}`] === result.facts[`${k}:${b}`];
    if (rows.some((r) => r.values.length === 0))
      result.notes.push('some calls failed: see the notes of each row.');
    else
      result.notes.push(
        same('runCommands') && same('statusCommands')
          ? `nel run and nel status used the same number of cluster commands for ${a} and ${b} tasks.`
          : `the number of cluster commands changed between ${a} and ${b} tasks (see the notes of each row).`,
      );
  } finally {
    await ep.close();
    removeTemp(dir);
  }
  return result;
}
