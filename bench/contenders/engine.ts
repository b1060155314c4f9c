/** Our engine, in-process (programmatic entry) and as the CLI (`nemo-evaluator run_eval`). */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { failureOf, runChild } from '../lib/child.js';
import { engineBin } from '../lib/paths.js';
import { MODEL_ID, type ThroughputCase, type ThroughputContender, type ThroughputRun } from './types.js';

/** The run config both engine contenders use (JSON is YAML). */
export function engineRunConfig(
  c: ThroughputCase,
  adapterConfig?: Record<string, unknown>,
): Record<string, unknown> {
  const endpoint: Record<string, unknown> = { url: c.endpoint.chatUrl, model_id: MODEL_ID, type: 'chat' };
  if (adapterConfig) endpoint.adapter_config = adapterConfig;
  return {
    config: {
      type: 'gsm8k',
      output_dir: c.outputDir,
      params: {
        parallelism: c.parallelism,
        limit_samples: c.samples,
        request_timeout: 60,
        max_retries: 2,
        extra: { dataset_path: c.datasetFile },
      },
    },
    target: { api_endpoint: endpoint },
  };
}

/** Samples written to samples.jsonl (counted by lines). */
export function countSampleLines(outputDir: string): number {
  const f = join(outputDir, 'samples.jsonl');
  if (!existsSync(f)) return 0;
  const buf = readFileSync(f);
  let n = 0;
  for (let i = 0; i < buf.length; i++) if (buf[i] === 10) n++;
  return n;
}

type EngineModules = {
  evaluate: typeof import('../../src/engine/evaluate.js');
  runConfig: typeof import('../../src/engine/run-config.js');
  logging: typeof import('../../src/engine/logging.js');
};

let modules: Promise<EngineModules> | null = null;
function loadEngine(): Promise<EngineModules> {
  modules ??= (async () => ({
    evaluate: await import('../../src/engine/evaluate.js'),
    runConfig: await import('../../src/engine/run-config.js'),
    logging: await import('../../src/engine/logging.js'),
  }))();
  return modules;
}

/** The engine in-process; `adapterConfig` replaces the default interceptor chain (a variant row). */
function inProcessContender(name: string, adapterConfig?: Record<string, unknown>): ThroughputContender {
  return {
    name,
    scope: 'work only',
    async unavailable() {
      try {
        const m = await loadEngine();
        if (typeof m.evaluate.runEvaluation !== 'function')
          return 'runEvaluation is not exported by src/engine/evaluate';
        if (typeof m.runConfig.resolveRunConfig !== 'function')
          return 'resolveRunConfig is not exported by src/engine/run-config';
        return null;
      } catch (e) {
        return `cannot load the engine: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
      }
    },
    async run(c) {
      const m = await loadEngine();
      mkdirSync(c.outputDir, { recursive: true });
      const { evaluation, benchmark } = m.runConfig.resolveRunConfig({
        runConfig: engineRunConfig(c, adapterConfig),
        resolver: m.evaluate.builtinResolver(),
      });
      const started = process.hrtime.bigint();
      const outcome = await m.evaluate.runEvaluation(evaluation, {
        benchmark,
        log: m.logging.silentLogger,
        progressStream: null,
        env: { ...process.env, NEMO_EVALUATOR_LOG_LEVEL: 'ERROR' },
        // bounded like the child processes: stop, then cancel in-flight requests, at the timeout
        signal: AbortSignal.timeout(c.timeoutMs),
        hardSignal: AbortSignal.timeout(c.timeoutMs + 5000),
      });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (outcome.status !== 'success') {
        throw new Error(
          `engine run ${outcome.status}: ${outcome.error?.message ?? outcome.stopReason ?? ''}`,
        );
      }
      return { seconds, completed: outcome.samplesScored };
    },
  };
}

export const engineInProcess = inProcessContender('engine in-process');

/** The same without the request cache, to show what the upstream-compatible cache costs per sample. */
export const engineInProcessNoCache = inProcessContender(
  'engine in-process, request cache off (use_caching: false)',
  { use_caching: false },
);

export async function runEngineCli(c: ThroughputCase, measureRss = false): Promise<ThroughputRun> {
  mkdirSync(c.outputDir, { recursive: true });
  const cfg = join(c.outputDir, '..', `${c.outputDir.split('/').pop()}.run_config.yml`);
  writeFileSync(cfg, JSON.stringify(engineRunConfig(c), null, 2));
  const r = await runChild(process.execPath, [engineBin(), 'run_eval', '--run_config', cfg], {
    timeoutMs: c.timeoutMs,
    measureRss,
    env: { ...process.env, NEMO_EVALUATOR_LOG_LEVEL: 'WARNING' },
  });
  const failure = failureOf(r);
  if (failure) throw new Error(`nemo-evaluator run_eval: ${failure}`);
  return { seconds: r.wallMs / 1000, completed: countSampleLines(c.outputDir), peakRssKb: r.peakRssKb };
}

export const engineCli: ThroughputContender = {
  name: 'engine CLI (nemo-evaluator run_eval)',
  scope: 'whole process',
  async unavailable() {
    return existsSync(engineBin()) ? null : `${engineBin()} not built (run npm run build)`;
  },
  run: (c) => runEngineCli(c),
};
