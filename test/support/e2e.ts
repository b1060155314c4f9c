/**
 * End-to-end helpers: reference endpoints for GSM8K/HumanEval, a config writer for `nel run`, and
 * probes of what an invocation left running (containers by label, processes by session).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseYaml } from '../../src/common/yaml.js';
import { startReferenceEndpoint, type ReferenceEndpoint } from '../../src/reference-endpoint/index.js';
import type { StatusEntry } from '../../src/executors/types.js';
import { nel, type CliResult } from './cli.js';
import { sharedPath } from './paths.js';

export type E2eBenchmark = 'gsm8k' | 'humaneval';

export const gsm8kDir = (): string => sharedPath('data', 'gsm8k');
export const humanevalDir = (): string => sharedPath('data', 'humaneval');

/** A reference endpoint answering one benchmark from the shared data files. */
export async function startEndpoint(
  benchmark: E2eBenchmark,
  opts: { accuracy?: number; latencyMs?: number } = {},
): Promise<ReferenceEndpoint> {
  return startReferenceEndpoint({
    benchmark,
    datasetPath: benchmark === 'gsm8k' ? gsm8kDir() : humanevalDir(),
    accuracy: opts.accuracy ?? 1,
    latencyMs: opts.latencyMs,
  });
}

/** The full request URL of an endpoint for a benchmark's endpoint type. */
export const requestUrl = (benchmark: E2eBenchmark, ep: ReferenceEndpoint): string =>
  benchmark === 'gsm8k' ? `${ep.url}/v1/chat/completions` : `${ep.url}/v1/completions`;

export interface E2eTask {
  benchmark: E2eBenchmark;
  endpoint: ReferenceEndpoint;
  limit: number;
  /** Folder mounted as the data set dir; null = download through HF_ENDPOINT. Default: the shared data. */
  datasetDir?: string | null;
  /** Task env_vars (`NAME: host:NAME` / `lit:VALUE`). */
  envVars?: Record<string, string>;
  parallelism?: number;
}

export interface E2eConfig {
  outputDir: string;
  tasks: E2eTask[];
  mode?: 'sequential' | 'parallel';
  maxParallelTasks?: number | null;
  useDocker?: boolean;
  /** target.api_endpoint.api_key_name: the NAME of the variable with the key. */
  apiKeyName?: string;
}

/** Write a Hydra-mode config for `nel run --config <file>` (JSON is valid YAML). */
export function writeE2eConfig(file: string, cfg: E2eConfig): string {
  const hostMode = cfg.useDocker === false;
  const tasks = cfg.tasks.map((t) => {
    const envVars: Record<string, string> = { ...(t.envVars ?? {}) };
    if (hostMode && t.benchmark === 'humaneval') envVars.NEMO_EVALUATOR_ALLOW_CODE_EXECUTION = 'lit:1';
    const dir =
      t.datasetDir === undefined ? (t.benchmark === 'gsm8k' ? gsm8kDir() : humanevalDir()) : t.datasetDir;
    return {
      name: `builtin.${t.benchmark}`,
      ...(t.benchmark === 'humaneval' ? { endpoint_type: 'completions' } : {}),
      ...(dir ? { dataset_dir: dir } : {}),
      ...(Object.keys(envVars).length > 0 ? { env_vars: envVars } : {}),
      nemo_evaluator_config: {
        config: { params: { limit_samples: t.limit, parallelism: t.parallelism ?? 4 } },
        target: { api_endpoint: { url: requestUrl(t.benchmark, t.endpoint) } },
      },
    };
  });
  const first = cfg.tasks[0]!;
  const config = {
    defaults: [{ execution: 'local' }, { deployment: 'none' }, '_self_'],
    execution: {
      output_dir: cfg.outputDir,
      mode: cfg.mode ?? 'sequential',
      max_parallel_tasks: cfg.maxParallelTasks ?? null,
      use_docker: cfg.useDocker ?? true,
      extra_docker_args: '--network host',
    },
    target: {
      api_endpoint: {
        model_id: 'reference-model',
        url: requestUrl(first.benchmark, first.endpoint),
        ...(cfg.apiKeyName ? { api_key_name: cfg.apiKeyName } : {}),
      },
    },
    evaluation: {
      nemo_evaluator_config: { config: { params: { request_timeout: 60, max_retries: 3 } } },
      tasks,
    },
  };
  writeFileSync(file, JSON.stringify(config, null, 2) + '\n');
  return file;
}

/** The invocation dir named by `nel run` ("Launched N job(s) ...: <dir>"). */
export function launchedDir(out: CliResult): string {
  const m = /^Launched \d+ job\(s\) [^:]*: (.+)$/m.exec(out.stdout);
  if (!m) throw new Error(`no "Launched" line in nel run output:\n${out.stdout}\n${out.stderr}`);
  return m[1]!.trim();
}

/** The invocation id: the part of the invocation dir name after the timestamp. */
export const invocationIdOfDir = (dir: string): string => basename(dir).replace(/^\d{8}_\d{6}-/, '');

/** `nel status <ids> --json`, parsed. */
export function statusJson(ids: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): StatusEntry[] {
  const r = nel(['status', ...ids, '--json'], opts);
  if (r.code !== 0) throw new Error(`nel status failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as StatusEntry[];
}

/** Task dirs of an invocation, in job order (`<task>.<index>`). */
export function taskDirs(invocationDir: string): string[] {
  return readdirSync(invocationDir)
    .filter((e) => /\.\d+$/.test(e) && statSync(join(invocationDir, e)).isDirectory())
    .sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop()))
    .map((e) => join(invocationDir, e));
}

/** tasks.<benchmark>.metrics.<metric>.scores.<metric>.value from a task's artifacts/results.yml. */
export function scoreOf(taskDir: string, benchmark: E2eBenchmark): number {
  const file = join(taskDir, 'artifacts', 'results.yml');
  const doc = parseYaml(readFileSync(file, 'utf8'), file) as {
    results?: {
      tasks?: Record<string, { metrics?: Record<string, { scores?: Record<string, { value?: unknown }> }> }>;
    };
  };
  const metric = benchmark === 'gsm8k' ? 'exact_match' : 'pass@1';
  const v = doc.results?.tasks?.[benchmark]?.metrics?.[metric]?.scores?.[metric]?.value;
  if (typeof v !== 'number') throw new Error(`no ${benchmark} ${metric} value in ${file}`);
  return v;
}

/** Ids of the containers (running or not) labelled with this invocation. */
export function containersOf(invocationId: string): string[] {
  const r = spawnSync('docker', ['ps', '-aq', '--filter', `label=nel.invocation=${invocationId}`], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (r.status !== 0) throw new Error(`docker ps failed: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean);
}

/** Running (not exited) containers of this invocation. */
export function runningContainersOf(invocationId: string): string[] {
  const r = spawnSync('docker', ['ps', '-q', '--filter', `label=nel.invocation=${invocationId}`], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (r.status !== 0) throw new Error(`docker ps failed: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean);
}

interface ProcInfo {
  pid: number;
  state: string;
  pgrp: number;
  session: number;
}

function readProc(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, state: rest[0]!, pgrp: Number(rest[2]), session: Number(rest[3]) };
  } catch {
    return null;
  }
}

/** The PIDs an invocation recorded: its supervisors (.nel-launch.json) and engines (logs/stage.pid). */
export function recordedPids(invocationDir: string): number[] {
  const pids: number[] = [];
  try {
    const rec = JSON.parse(readFileSync(join(invocationDir, '.nel-launch.json'), 'utf8')) as {
      scripts: { pid: number }[];
    };
    for (const s of rec.scripts) pids.push(s.pid);
  } catch {
    /* no launch record */
  }
  for (const d of taskDirs(invocationDir)) {
    const f = join(d, 'logs', 'stage.pid');
    if (existsSync(f)) {
      const n = Number(readFileSync(f, 'utf8').trim());
      if (Number.isInteger(n) && n > 0) pids.push(n);
    }
  }
  return pids;
}

/**
 * Live (non-zombie) processes of an invocation: the recorded PIDs, and every process in the session or
 * process group of a recorded supervisor (the scripts run in their own sessions). `seenBefore`: PIDs
 * read earlier (a stage.pid is removed when its engine ends).
 */
export function liveProcessesOf(invocationDir: string, seenBefore: number[] = []): ProcInfo[] {
  const recorded = new Set([...recordedPids(invocationDir), ...seenBefore]);
  const live: ProcInfo[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const p = readProc(Number(e));
    if (!p || p.state === 'Z' || p.state === 'X') continue;
    if (recorded.has(p.pid) || recorded.has(p.session) || recorded.has(p.pgrp)) live.push(p);
  }
  return live;
}

/** Files below `root` whose bytes contain `needle` (relative paths). */
export function filesContaining(root: string, needle: string): string[] {
  const hits: string[] = [];
  const bytes = Buffer.from(needle, 'utf8');
  const walk = (dir: string, rel: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p, r);
      else if (e.isFile() && readFileSync(p).includes(bytes)) hits.push(r);
    }
  };
  if (existsSync(root)) walk(root, '');
  return hits;
}

/** Every line of the exec DB, parsed (throws on a line that does not parse). */
export function execDbRecords(dbPath: string): { invocation_id: string; job_id: string }[] {
  return readFileSync(dbPath, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as { invocation_id: string; job_id: string };
      } catch {
        throw new Error(`exec DB line ${i + 1} does not parse: ${l.slice(0, 200)}`);
      }
    });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll `cond` every `everyMs` until it holds or `timeoutMs` passes; returns whether it held. */
export async function waitUntil(cond: () => boolean, timeoutMs: number, everyMs = 200): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(everyMs);
  }
  return cond();
}

/** Remove leftover containers of an invocation (test cleanup). */
export function removeContainers(invocationId: string): void {
  const ids = containersOf(invocationId);
  if (ids.length > 0) spawnSync('docker', ['rm', '-f', ...ids], { timeout: 60_000 });
}
