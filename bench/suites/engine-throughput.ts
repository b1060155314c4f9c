/**
 * 1. Engine throughput and the promptfoo comparison; 2. cached rerun.
 * Samples flow through the reference endpoint (its own process) at 0 and 50 ms latency.
 */
import { join } from 'node:path';
import {
  engineCli,
  engineInProcess,
  engineInProcessNoCache,
  countSampleLines,
  runEngineCli,
} from '../contenders/engine.js';
import { promptfooContender } from '../contenders/promptfoo.js';
import type { ThroughputCase, ThroughputContender } from '../contenders/types.js';
import {
  httpLoopInProcess,
  nodeHttpProcess,
  undiciFloor,
  undiciFloorProcess,
} from '../contenders/undici-floor.js';
import { errorText, makeTemp, removeTemp, type BenchOptions } from '../lib/context.js';
import { cycledRecord, gsm8kChatPrompt, gsm8kSourceFile, readGsm8k, writeCycledGsm8k } from '../lib/data.js';
import { startEndpointChild, type EndpointHandle } from '../lib/endpoint.js';
import { fillRatios, type Row, type SuiteResult, type Table } from '../lib/results.js';
import { median, rotate } from '../lib/stats.js';
import { failureOf, runChild } from '../lib/child.js';
import { describeProfile, profileNode } from '../lib/profile.js';
import { engineBin } from '../lib/paths.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { engineRunConfig } from '../contenders/engine.js';

const RUN_TIMEOUT_MS = 10 * 60_000;

interface Inputs {
  dir: string;
  datasetFile: string;
  contents: string[];
}

async function prepareInputs(opts: BenchOptions, samples: number): Promise<Inputs> {
  const dir = makeTemp('throughput');
  const source = readGsm8k(gsm8kSourceFile(opts.dataDir));
  const datasetFile = join(dir, 'gsm8k-bench.jsonl');
  writeCycledGsm8k(source, samples, datasetFile);
  const prompt = await gsm8kChatPrompt();
  const contents = Array.from({ length: samples }, (_v, i) => prompt(cycledRecord(source, i).question));
  return { dir, datasetFile, contents };
}

/** Runs `contenders` alternating for `rounds` rounds; one Row per contender (samples/s). */
async function measure(
  contenders: ThroughputContender[],
  base: Omit<ThroughputCase, 'outputDir'>,
  rounds: number,
  workDir: string,
  opts: BenchOptions,
  tag: string,
): Promise<Row[]> {
  const rows = new Map<string, Row>();
  const usable: ThroughputContender[] = [];
  for (const c of contenders) {
    const reason = await c.unavailable();
    rows.set(c.name, {
      label: c.name,
      scope: c.scope,
      values: [],
      ...(reason ? { unavailable: reason } : {}),
    });
    if (!reason) usable.push(c);
  }
  let seq = 0;
  for (let r = 0; r < rounds; r++) {
    for (const c of rotate(usable, r)) {
      const row = rows.get(c.name)!;
      const outputDir = join(workDir, `run-${seq++}`);
      try {
        const res = await c.run({ ...base, outputDir });
        if (res.completed < base.samples) {
          (row.errors ??= []).push(`answered ${res.completed}/${base.samples}`);
        } else {
          row.values.push(base.samples / res.seconds);
        }
        opts.log(
          `  ${tag} round ${r + 1}: ${c.name}: ${(base.samples / res.seconds).toFixed(0)} samples/s (${res.seconds.toFixed(2)} s)`,
        );
      } catch (e) {
        (row.errors ??= []).push(errorText(e));
        opts.log(`  ${tag} round ${r + 1}: ${c.name}: FAILED ${errorText(e)}`);
      } finally {
        removeTemp(outputDir);
      }
    }
  }
  return [...rows.values()];
}

export async function engineThroughput(opts: BenchOptions): Promise<SuiteResult> {
  const samples = opts.smoke ? 200 : 5000;
  const latencies = [0, 50];
  const parallelisms = opts.smoke ? [64] : [1, 16, 64, 256];
  const result: SuiteResult = {
    key: 'throughput',
    title: '1. Engine throughput',
    description:
      `${samples.toLocaleString('en-US')} distinct gsm8k-format samples (cycled from the GSM8K test file; later cycles ` +
      'marked so no prompt repeats) through the reference endpoint, which runs in its own process. ' +
      'In-process and floor times cover the run itself; CLI and promptfoo times are whole processes. ' +
      'At 50 ms latency the sample count is capped at 200 x parallelism to keep runs short.',
    tables: [],
    facts: {},
    notes: [],
  };
  const inputs = await prepareInputs(opts, samples);
  const contenders = [undiciFloor, engineInProcess, engineCli];
  try {
    for (const latency of latencies) {
      const endpoint = await startEndpointChild({ datasetFile: inputs.datasetFile, latencyMs: latency });
      try {
        for (const p of parallelisms) {
          const n = latency > 0 ? Math.min(samples, 200 * p) : samples;
          const before = await endpoint.stats();
          // At the goal's point (p64, 0 ms) a variant without the request cache shows what the cache costs.
          // ... and Node's built-in http client shows why the engine uses undici.
          const here =
            latency === 0 && p === 64
              ? [...contenders, engineInProcessNoCache, httpLoopInProcess]
              : contenders;
          const rows = await measure(
            here,
            {
              samples: n,
              datasetFile: inputs.datasetFile,
              contents: inputs.contents,
              parallelism: p,
              endpoint,
              timeoutMs: RUN_TIMEOUT_MS,
            },
            opts.rounds,
            inputs.dir,
            opts,
            `${latency} ms p${p}`,
          );
          const after = await endpoint.stats();
          if (after.unknown_prompts > before.unknown_prompts) {
            result.notes.push(
              `${latency} ms p${p}: ${after.unknown_prompts - before.unknown_prompts} requests had prompts the endpoint did not know (answered with its fallback).`,
            );
          }
          const table: Table = {
            title: `${latency} ms latency, parallelism ${p}, ${n.toLocaleString('en-US')} samples`,
            unit: 'samples/s',
            better: 'higher',
            floor: undiciFloor.name,
            rows,
          };
          fillRatios(table);
          result.tables.push(table);
          if (latency === 0 && p === 64 && !opts.smoke && !(await engineCli.unavailable())) {
            const prof = await profileEngineCli({
              samples: n,
              datasetFile: inputs.datasetFile,
              contents: inputs.contents,
              parallelism: p,
              endpoint,
              outputDir: join(inputs.dir, 'profiled'),
              timeoutMs: RUN_TIMEOUT_MS,
            });
            if (prof) result.facts.profileP64 = prof;
            removeTemp(join(inputs.dir, 'profiled'));
          }
        }
      } finally {
        await endpoint.close();
      }
    }
  } finally {
    removeTemp(inputs.dir);
  }
  return result;
}

/** One engine CLI run under `--cpu-prof`; the attributed summary. */
async function profileEngineCli(c: ThroughputCase, keepOutput = false): Promise<string | null> {
  mkdirSync(c.outputDir, { recursive: true });
  const cfg = `${c.outputDir}.profile.run_config.yml`;
  writeFileSync(cfg, JSON.stringify(engineRunConfig(c)));
  const s = await profileNode([engineBin(), 'run_eval', '--run_config', cfg], {
    timeoutMs: c.timeoutMs,
    env: { ...process.env, NEMO_EVALUATOR_LOG_LEVEL: 'WARNING' },
  });
  if (!keepOutput) removeTemp(c.outputDir);
  return s ? describeProfile(s) : null;
}

/** Engine CLI vs promptfoo, whole processes, same 200 prompts, 0 ms latency, same concurrency. */
export async function peerComparison(opts: BenchOptions): Promise<SuiteResult> {
  const samples = opts.smoke ? 50 : 200;
  const parallelism = 16;
  const result: SuiteResult = {
    key: 'peer',
    title: '1b. Engine vs promptfoo (whole process)',
    description:
      `The same ${samples} prompts at 0 ms latency and concurrency ${parallelism} (promptfoo \`-j ${parallelism}\`, no cache), ` +
      'each contender a whole process from spawn to exit. The other rows are for reference: bare Node processes that ' +
      "only send the same requests with undici or with Node's built-in http client, and the undici loop inside a warm process (work only).",
    tables: [],
    facts: {},
    notes: [],
  };
  const inputs = await prepareInputs(opts, samples);
  const endpoint = await startEndpointChild({ datasetFile: inputs.datasetFile, latencyMs: 0 });
  try {
    const pf = promptfooContender(opts.log, !opts.smoke);
    const rows = await measure(
      [engineCli, pf, undiciFloorProcess, nodeHttpProcess, undiciFloor],
      {
        samples,
        datasetFile: inputs.datasetFile,
        contents: inputs.contents,
        parallelism,
        endpoint,
        timeoutMs: RUN_TIMEOUT_MS,
      },
      opts.rounds,
      inputs.dir,
      opts,
      'peer',
    );
    const table: Table = {
      title: `${samples} prompts, 0 ms, concurrency ${parallelism}`,
      unit: 'samples/s',
      better: 'higher',
      floor: pf.name,
      rows,
    };
    fillRatios(table);
    result.tables.push(table);
    result.facts.promptfooLabel = pf.name;
    result.facts.samples = samples;
    if (!(await engineCli.unavailable())) {
      // fixed cost of the engine CLI: process start + loading its modules and the task list
      const starts: number[] = [];
      for (let r = 0; r < Math.max(3, opts.rounds); r++) {
        const res = await runChild(process.execPath, [engineBin(), 'ls'], { timeoutMs: 60_000 });
        if (!failureOf(res)) starts.push(res.wallMs);
      }
      if (starts.length) result.facts.engineStartupMs = median(starts);
      if (!opts.smoke) {
        const base: ThroughputCase = {
          samples,
          datasetFile: inputs.datasetFile,
          contents: inputs.contents,
          parallelism,
          endpoint,
          outputDir: join(inputs.dir, 'peer-profiled'),
          timeoutMs: RUN_TIMEOUT_MS,
        };
        result.facts.profileEngine200 = await profileEngineCli(base);
      }
    }
  } finally {
    await endpoint.close();
    removeTemp(inputs.dir);
  }
  return result;
}

/** 2. The same engine run again in the same output dir: every answer from the cache. */
export async function cachedRerun(opts: BenchOptions): Promise<SuiteResult> {
  const samples = opts.smoke ? 200 : 5000;
  const parallelism = 64;
  const result: SuiteResult = {
    key: 'cached',
    title: '2. Cached rerun',
    description:
      `A ${samples.toLocaleString('en-US')}-sample run (parallelism ${parallelism}, 0 ms), then the same run again in the same ` +
      'output dir, so every answer comes from the cache. In-process: the rerun itself; CLI: the whole process.',
    tables: [],
    facts: {},
    notes: [],
  };
  const inputs = await prepareInputs(opts, samples);
  const endpoint = await startEndpointChild({ datasetFile: inputs.datasetFile, latencyMs: 0 });
  const inProc: Row = { label: 'engine in-process, rerun', scope: 'work only', values: [] };
  const cli: Row = { label: 'engine CLI, rerun', scope: 'whole process', values: [] };
  const first: Row = { label: 'engine in-process, first run (not cached)', scope: 'work only', values: [] };
  let leaked = 0;
  try {
    for (const c of [engineInProcess, engineCli]) {
      const reason = await c.unavailable();
      if (reason) (c === engineInProcess ? inProc : cli).unavailable = reason;
    }
    if (inProc.unavailable) first.unavailable = inProc.unavailable;
    for (let r = 0; r < opts.rounds; r++) {
      const outputDir = join(inputs.dir, `cached-${r}`);
      const base: ThroughputCase = {
        samples,
        datasetFile: inputs.datasetFile,
        contents: inputs.contents,
        parallelism,
        endpoint,
        outputDir,
        timeoutMs: RUN_TIMEOUT_MS,
      };
      try {
        if (inProc.unavailable) {
          if (cli.unavailable) break;
          await runEngineCli(base);
        } else {
          const f = await engineInProcess.run(base);
          first.values.push(samples / f.seconds);
        }
        const before = (await endpoint.stats()).answered_ok;
        const order: [Row, () => Promise<{ seconds: number; completed: number }>][] = [];
        if (!inProc.unavailable) order.push([inProc, () => engineInProcess.run(base)]);
        if (!cli.unavailable) order.push([cli, () => runEngineCli(base)]);
        for (const [row, run] of rotate(order, r)) {
          try {
            const res = await run();
            if (res.completed < samples) (row.errors ??= []).push(`answered ${res.completed}/${samples}`);
            else row.values.push(samples / res.seconds);
            opts.log(
              `  cached round ${r + 1}: ${row.label}: ${(samples / res.seconds).toFixed(0)} samples/s`,
            );
          } catch (e) {
            (row.errors ??= []).push(errorText(e));
          }
        }
        leaked += (await endpoint.stats()).answered_ok - before;
        result.facts.samplesLinesAfterRerun = countSampleLines(outputDir);
      } catch (e) {
        (first.errors ??= []).push(errorText(e));
      } finally {
        removeTemp(outputDir);
      }
    }
    if (!opts.smoke && !cli.unavailable) {
      const outputDir = join(inputs.dir, 'cached-profiled');
      const base: ThroughputCase = {
        samples,
        datasetFile: inputs.datasetFile,
        contents: inputs.contents,
        parallelism,
        endpoint,
        outputDir,
        timeoutMs: RUN_TIMEOUT_MS,
      };
      try {
        await runEngineCli(base);
        result.facts.profileRerun = await profileEngineCli(base);
      } catch (e) {
        result.notes.push(`profiling the cached rerun failed: ${errorText(e)}`);
      } finally {
        removeTemp(outputDir);
      }
    }
  } finally {
    await endpoint.close();
    removeTemp(inputs.dir);
  }
  result.facts.requestsReachingEndpointOnRerun = leaked;
  result.tables.push({
    title: `${samples.toLocaleString('en-US')} samples, all cached`,
    unit: 'samples/s',
    better: 'higher',
    rows: [inProc, cli, first],
  });
  return result;
}

export type { EndpointHandle };
