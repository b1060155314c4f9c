/**
 * 5. Container overhead: ten tiny tasks (builtin gsm8k, 2 samples) run sequentially by `nel run` in Docker
 * and in host mode (`--no-docker`), wall time from launch until every task's stage.exit exists.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { failureOf, runChild } from '../lib/child.js';
import { errorText, makeTemp, removeTemp, type BenchOptions } from '../lib/context.js';
import { startEndpointChild } from '../lib/endpoint.js';
import { nelBin, repoRoot } from '../lib/paths.js';
import type { Row, SuiteResult } from '../lib/results.js';
import { readFileSync } from 'node:fs';

const LAUNCH_TIMEOUT_MS = 60_000;
const POLL_MS = 50;

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

export function engineImage(): string {
  return `nemo-evaluator-ts:${packageVersion()}`;
}

async function dockerUnavailable(image: string): Promise<string | null> {
  const info = await runChild('docker', ['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 20_000 });
  if (failureOf(info)) return `Docker engine not reachable (${failureOf(info)})`;
  const img = await runChild('docker', ['image', 'inspect', '--format', '{{.Id}}', image], {
    timeoutMs: 20_000,
  });
  if (failureOf(img)) return `engine image ${image} not built (run \`node dist/src/bin/nel.js build-image\`)`;
  return null;
}

function taskConfig(outputDir: string, url: string, tasks: number, datasetDir: string): string {
  return stringify({
    defaults: [{ execution: 'local' }, { deployment: 'none' }, '_self_'],
    execution: { output_dir: outputDir, mode: 'sequential', extra_docker_args: '--network host' },
    target: { api_endpoint: { model_id: 'reference-model', url } },
    evaluation: {
      tasks: Array.from({ length: tasks }, () => ({
        name: 'builtin.gsm8k',
        dataset_dir: datasetDir,
        nemo_evaluator_config: { config: { params: { limit_samples: 2, parallelism: 2 } } },
      })),
    },
  });
}

/** stage.exit files under <output_dir>/<inv>/<task>/logs, and their exit codes. */
function stageExits(outputDir: string): number[] {
  const codes: number[] = [];
  if (!existsSync(outputDir)) return codes;
  for (const inv of readdirSync(outputDir)) {
    const invDir = join(outputDir, inv);
    let tasks: string[];
    try {
      tasks = readdirSync(invDir);
    } catch {
      continue;
    }
    for (const t of tasks) {
      const f = join(invDir, t, 'logs', 'stage.exit');
      if (!existsSync(f)) continue;
      const text = readFileSync(f, 'utf8').trim();
      codes.push(Number(text.slice(text.lastIndexOf(' ') + 1)));
    }
  }
  return codes;
}

async function runInvocation(
  cfg: string,
  outputDir: string,
  tasks: number,
  noDocker: boolean,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<number> {
  const started = process.hrtime.bigint();
  const args = [nelBin(), 'run', '--config', cfg, ...(noDocker ? ['--no-docker'] : [])];
  const r = await runChild(process.execPath, args, { env, timeoutMs: LAUNCH_TIMEOUT_MS });
  const failure = failureOf(r);
  if (failure) throw new Error(`nel run${noDocker ? ' --no-docker' : ''}: ${failure}`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const codes = stageExits(outputDir);
    if (codes.length >= tasks) {
      const bad = codes.filter((c) => c !== 0).length;
      if (bad > 0)
        throw new Error(`${bad} of ${tasks} tasks exited non-zero (${noDocker ? 'host' : 'docker'} mode)`);
      return Number(process.hrtime.bigint() - started) / 1e6;
    }
    if (Date.now() > deadline)
      throw new Error(
        `tasks not finished after ${Math.round(timeoutMs / 1000)} s (${codes.length}/${tasks})`,
      );
    await new Promise((r2) => setTimeout(r2, POLL_MS));
  }
}

export async function containerOverhead(opts: BenchOptions): Promise<SuiteResult> {
  const tasks = opts.smoke ? 2 : 10;
  const rounds = opts.smoke ? 1 : opts.rounds;
  const image = engineImage();
  const result: SuiteResult = {
    key: 'container',
    title: '5. Container overhead',
    description:
      `${tasks} tiny tasks (builtin gsm8k, limit_samples 2) run sequentially by \`nel run\`, in Docker (${image}, ` +
      '`--network host`) and on the host (`--no-docker`); wall time from launch until the last stage.exit, per task. ' +
      'Overhead = Docker per-task time minus host per-task time, per round.',
    tables: [],
    facts: {},
    notes: [],
  };
  const docker: Row = { label: 'Docker, per task', scope: 'launch to last stage.exit / tasks', values: [] };
  const host: Row = {
    label: 'host (--no-docker), per task',
    scope: 'launch to last stage.exit / tasks',
    values: [],
  };
  const overhead: Row = { label: 'overhead (Docker - host), per task', values: [] };
  const table = {
    title: `${tasks} tasks, sequential`,
    unit: 'ms',
    better: 'lower' as const,
    rows: [docker, host, overhead],
  };
  result.tables.push(table);
  const reason = !existsSync(nelBin()) ? `${nelBin()} not built` : await dockerUnavailable(image);
  if (reason) {
    for (const r of table.rows) r.unavailable = reason;
    return result;
  }
  const dir = makeTemp('container');
  const datasetDir = join(opts.dataDir, 'gsm8k');
  const endpoint = await startEndpointChild({ datasetFile: join(datasetDir, 'test.jsonl'), latencyMs: 0 });
  try {
    const env = {
      ...process.env,
      HOME: join(dir, 'home'),
      NEMO_EVALUATOR_EXEC_DB_FILE: join(dir, 'exec.v1.jsonl'),
    };
    for (let r = 0; r < rounds; r++) {
      const perTask: Record<string, number> = {};
      const modes: [string, boolean, Row][] =
        r % 2 === 0
          ? [
              ['docker', false, docker],
              ['host', true, host],
            ]
          : [
              ['host', true, host],
              ['docker', false, docker],
            ];
      for (const [name, noDocker, row] of modes) {
        const outputDir = join(dir, `${name}-${r}`);
        const cfg = join(dir, `${name}-${r}.yaml`);
        writeFileSync(cfg, taskConfig(outputDir, endpoint.chatUrl, tasks, datasetDir));
        try {
          const ms = await runInvocation(cfg, outputDir, tasks, noDocker, env, tasks * 120_000);
          perTask[name] = ms / tasks;
          row.values.push(ms / tasks);
          opts.log(`  container round ${r + 1}: ${name}: ${(ms / tasks).toFixed(0)} ms per task`);
        } catch (e) {
          (row.errors ??= []).push(errorText(e));
          opts.log(`  container round ${r + 1}: ${name}: FAILED ${errorText(e)}`);
        }
      }
      if (perTask.docker !== undefined && perTask.host !== undefined)
        overhead.values.push(perTask.docker - perTask.host);
    }
  } finally {
    await endpoint.close();
    removeTemp(dir);
  }
  return result;
}
