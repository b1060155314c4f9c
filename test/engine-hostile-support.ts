/** Shared pieces of the hostile-endpoint tests: a small data set, run configs and the engine CLI. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { OK, startHostileEndpoint } from './support/hostile-endpoint.js';
import { engineBin } from './support/paths.js';

export interface Workspace {
  dir: string;
  dataset: string;
  prompts: string[];
}

/** `n` samples "What is A+B?" (the hostile endpoint gets one in three wrong, so scores are not 1.0). */
export function workspace(n = 12): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'nel-hostile-'));
  const dataset = join(dir, 'sums.jsonl');
  const prompts: string[] = [];
  const rows: string[] = [];
  for (let i = 1; i <= n; i++) {
    const q = `What is ${i}+${i * 7}?`;
    prompts.push(q);
    rows.push(JSON.stringify({ q, answer: String(i + i * 7) }));
  }
  writeFileSync(dataset, rows.join('\n') + '\n');
  return { dir, dataset, prompts };
}

export interface RunOptions {
  url: string;
  outputDir: string;
  params?: Record<string, unknown>;
  extra?: Record<string, unknown>;
  adapterConfig?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
}

/** A run config for the `custom` benchmark over the workspace's data set. */
export function runConfig(ws: Workspace, o: RunOptions): string {
  const cfg = {
    config: {
      type: 'custom',
      output_dir: o.outputDir,
      params: {
        parallelism: 4,
        request_timeout: 10,
        max_retries: 5,
        ...o.params,
        extra: {
          dataset_path: ws.dataset,
          prompt_template: '{q}',
          target_field: 'answer',
          scorer: 'number',
          // Fast retries (the default policy waits up to a minute); tests of the default remove these.
          retry_base_seconds: 0.05,
          retry_cap_seconds: 0.2,
          ...o.extra,
        },
      },
    },
    target: {
      api_endpoint: {
        url: o.url,
        model_id: 'hostile-model',
        type: 'chat',
        ...(o.adapterConfig ? { adapter_config: o.adapterConfig } : {}),
      },
    },
  };
  for (const [k, v] of Object.entries(cfg.config.params.extra))
    if (v === undefined) delete (cfg.config.params.extra as Record<string, unknown>)[k];
  const file = join(o.outputDir + '.run_config.yaml');
  writeFileSync(file, stringify(cfg));
  return file;
}

export interface EngineResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  ms: number;
}

export interface EngineProcess {
  done: Promise<EngineResult>;
  kill(sig: NodeJS.Signals): void;
  stderr(): string;
}

export function spawnEngine(ws: Workspace, o: RunOptions, killAfterMs = 240_000): EngineProcess {
  const file = runConfig(ws, o);
  const started = Date.now();
  const child = spawn(process.execPath, [engineBin(), 'run_eval', '--run_config', file], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...o.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  const done = new Promise<EngineResult>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, ms: Date.now() - started });
    }),
  );
  return { done, kill: (sig) => child.kill(sig), stderr: () => stderr };
}

export function runEngine(ws: Workspace, o: RunOptions, killAfterMs?: number): Promise<EngineResult> {
  return spawnEngine(ws, o, killAfterMs).done;
}

/** The custom benchmark's score from results.yml. */
export function scoreOf(outputDir: string): number {
  const doc = parse(readFileSync(join(outputDir, 'results.yml'), 'utf8'));
  return doc.results.tasks.custom.metrics['pass@1'].scores.correct.value as number;
}

export function resultsOf(outputDir: string): Record<string, any> {
  return parse(readFileSync(join(outputDir, 'results.yml'), 'utf8'));
}

export function samplesOf(outputDir: string): Record<string, any>[] {
  return readFileSync(join(outputDir, 'samples.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

/** Lines of the engine's stderr that match. */
export function linesMatching(stderr: string, re: RegExp): string[] {
  return stderr.split('\n').filter((l) => re.test(l));
}

/** The score of an uninterrupted run of the workspace against a well-behaved hostile endpoint. */
export async function uninterruptedScore(ws: Workspace): Promise<number> {
  const server = await startHostileEndpoint(OK);
  try {
    const out = join(ws.dir, 'uninterrupted');
    const r = await runEngine(ws, { url: server.url, outputDir: out });
    if (r.code !== 0) throw new Error(`the uninterrupted run failed: ${r.stderr}`);
    return scoreOf(out);
  } finally {
    await server.close();
  }
}
