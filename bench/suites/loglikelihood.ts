/**
 * 7. Log-likelihood throughput: (context, continuation) pairs per second of arc_challenge (the real test
 * set, prompt log-probabilities from the reference endpoint in its own process) at the configured batch
 * size and parallelism, the engine in-process against a raw undici loop that sends the same request
 * bodies and reads the same replies (the floor).
 */
import { Pool } from 'undici';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getBenchmark } from '../../src/engine/benchmarks/index.js';
import {
  loglikelihoodBody,
  pairResult,
  replyChoices,
} from '../../src/engine/benchmarks/loglikelihood/pairs.js';
import type { EncodedPair } from '../../src/engine/benchmarks/loglikelihood/pairs.js';
import { parsePromptLogprobsReply } from '../../src/engine/client/logprob-reply.js';
import { runEngineEval } from '../../src/engine/evaluate.js';
import { silentLogger } from '../../src/engine/logging.js';
import { errorText, makeTemp, removeTemp, type BenchOptions } from '../lib/context.js';
import { startEndpointChild } from '../lib/endpoint.js';
import type { GoalVerdict } from '../lib/goals.js';
import { fillRatios, medianOf, type Row, type SuiteResult, type Table } from '../lib/results.js';
import { fmt, median, rotate } from '../lib/stats.js';

export const LOGLIK_LABELS = {
  floor: 'raw undici loop, same bodies (floor)',
  engine: 'engine in-process (runEngineEval)',
  requests: 'the same engine runs, first to last answer',
} as const;
const GOAL_RATIO = 0.8;
const BATCH = 8;
const PARALLELISM = 16;

/** The batches the engine sends, encoded the same way (data set order, BATCH pairs a request). */
async function batchesOf(file: string, limit: number): Promise<EncodedPair[][]> {
  const b = getBenchmark('arc_challenge')!;
  const run = await b.prepare({
    params: { limit_samples: limit },
    extra: { dataset_path: file },
    endpointType: 'completions',
    outputDir: process.cwd(),
    env: {},
    log: () => undefined,
    signal: new AbortController().signal,
  });
  const ll = run.loglikelihood!;
  const pairs: EncodedPair[] = [];
  for (const s of run.samples.samples()) for (const p of ll.pairs(s)) pairs.push(ll.encode(p));
  const out: EncodedPair[][] = [];
  for (let i = 0; i < pairs.length; i += BATCH) out.push(pairs.slice(i, i + BATCH));
  return out;
}

async function floorLoop(url: string, batches: EncodedPair[][]): Promise<number> {
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections: PARALLELISM, pipelining: 1, keepAliveTimeout: 30_000 });
  let next = 0;
  let pairs = 0;
  const started = process.hrtime.bigint();
  try {
    await Promise.all(
      Array.from({ length: PARALLELISM }, async () => {
        while (next < batches.length) {
          const batch = batches[next++]!;
          const res = await pool.request({
            path: '/v1/completions',
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(loglikelihoodBody('bench-model', batch, { maxTokens: 0, logprobs: 1 })),
          });
          const body = parsePromptLogprobsReply(Buffer.from(await res.body.arrayBuffer()));
          const choices = replyChoices(body, batch.length);
          batch.forEach((e, k) => pairResult(choices[k], e, 0, k));
          pairs += batch.length;
        }
      }),
    );
  } finally {
    await pool.close();
  }
  return pairs / (Number(process.hrtime.bigint() - started) / 1e9);
}

/** The engine's whole run, and its pairs over its own first-to-last-answer time (eval_factory_metrics.json). */
async function engineRun(
  url: string,
  file: string,
  limit: number,
  pairs: number,
): Promise<{ whole: number; requests: number | null }> {
  const out = makeTemp('loglik');
  try {
    const started = process.hrtime.bigint();
    const outcome = await runEngineEval(
      {
        runConfig: {
          config: {
            type: 'arc_challenge',
            output_dir: out,
            params: {
              parallelism: PARALLELISM,
              limit_samples: limit,
              extra: { dataset_path: file, batch_size: BATCH },
            },
          },
          target: {
            api_endpoint: { url: `${url}/v1/completions`, model_id: 'bench-model', type: 'completions' },
          },
        },
      },
      { log: silentLogger, progressStream: null },
    );
    const whole = pairs / (Number(process.hrtime.bigint() - started) / 1e9);
    if (outcome.status !== 'success') throw new Error(outcome.error?.message ?? outcome.status);
    const metrics = JSON.parse(readFileSync(join(out, 'eval_factory_metrics.json'), 'utf8')) as {
      evaluation?: { inference_time_seconds?: unknown };
    };
    const seconds = metrics.evaluation?.inference_time_seconds;
    return { whole, requests: typeof seconds === 'number' && seconds > 0 ? pairs / seconds : null };
  } finally {
    removeTemp(out);
  }
}

export async function loglikelihoodThroughput(opts: BenchOptions): Promise<SuiteResult> {
  const limit = opts.smoke ? 200 : 1172;
  // A round takes well under a second: many alternating rounds, so that the host's noise does not decide
  // (on 2 cores the floor's rounds are bimodal: ~0.3 s when it and the endpoint each get a core, ~0.5 s
  // when they share one; 12 rounds left the median to chance, 24 settle it).
  const rounds = opts.smoke ? 2 : Math.max(24, opts.rounds * 8);
  const file = join(opts.dataDir, 'arc_challenge', 'ARC-Challenge-Test.jsonl');
  const result: SuiteResult = {
    key: 'loglikelihood',
    title: '7. Log-likelihood throughput',
    description:
      `arc_challenge, ${limit} questions (4 choices each, one pair per choice) a round, batch size ${BATCH}, ` +
      `parallelism ${PARALLELISM}, the reference endpoint (echo + logprobs) in its own process at 0 ms latency. ` +
      'The floor sends the same request bodies with a raw undici pool and reads each reply into log-likelihoods ' +
      "with the engine's own reply reader (parsePromptLogprobsReply, pairResult); " +
      'the engine run is the whole in-process evaluation (data set, interceptor chain with the request cache, ' +
      `scoring, samples.jsonl, results.yml, report.html), each round into a fresh output dir. Median of ${rounds} ` +
      'alternating rounds after one warm-up run each. The third row is not a contender: the same engine runs, ' +
      "their pairs over the run's own first-to-last-answer time (eval_factory_metrics.json), i.e. without " +
      'loading the data set before the first request and writing results.yml and report.html after the last ' +
      'answer (the goal is on the whole run).',
    tables: [],
    facts: { batch_size: BATCH, parallelism: PARALLELISM, questions: limit },
    notes: [],
  };
  const rows = new Map<string, Row>([
    [LOGLIK_LABELS.floor, { label: LOGLIK_LABELS.floor, scope: 'work only', values: [] }],
    [LOGLIK_LABELS.engine, { label: LOGLIK_LABELS.engine, scope: 'whole run', values: [] }],
    [LOGLIK_LABELS.requests, { label: LOGLIK_LABELS.requests, scope: 'request phase', values: [] }],
  ]);
  const endpoint = await startEndpointChild({ datasetFile: file, latencyMs: 0, benchmark: 'arc_challenge' });
  try {
    const batches = await batchesOf(file, limit);
    const pairs = batches.reduce((n, b) => n + b.length, 0);
    result.facts.pairs = pairs;
    const contenders: { label: string; run: () => Promise<{ whole: number; requests?: number | null }> }[] = [
      { label: LOGLIK_LABELS.floor, run: async () => ({ whole: await floorLoop(endpoint.url, batches) }) },
      { label: LOGLIK_LABELS.engine, run: () => engineRun(endpoint.url, file, limit, pairs) },
    ];
    for (const c of contenders) await c.run().catch(() => 0); // warm-up, not counted
    // the bench process's CPU time of each round (both contenders run in it; the endpoint has its own)
    const cpu = new Map<string, { cpuMs: number[]; wallMs: number[] }>(
      contenders.map((c) => [c.label, { cpuMs: [], wallMs: [] }]),
    );
    for (let round = 0; round < rounds; round++) {
      for (const c of rotate(contenders, round)) {
        const row = rows.get(c.label)!;
        try {
          const before = process.cpuUsage();
          const { whole: v, requests } = await c.run();
          const used = process.cpuUsage(before);
          cpu.get(c.label)!.cpuMs.push((used.user + used.system) / 1000);
          cpu.get(c.label)!.wallMs.push((pairs / v) * 1000);
          row.values.push(v);
          if (requests != null) rows.get(LOGLIK_LABELS.requests)!.values.push(requests);
          opts.log(`  loglikelihood round ${round + 1}: ${c.label}: ${v.toFixed(0)} pairs/s`);
        } catch (e) {
          (row.errors ??= []).push(errorText(e));
          opts.log(`  loglikelihood round ${round + 1}: ${c.label}: FAILED ${errorText(e)}`);
        }
      }
    }
    for (const [label, t] of cpu) {
      if (t.cpuMs.length === 0) continue;
      const row = rows.get(label)!;
      row.note = `per round: CPU ${fmt(median(t.cpuMs))} ms (median) in ${fmt(median(t.wallMs))} ms; wall ${fmt(Math.min(...t.wallMs))}-${fmt(Math.max(...t.wallMs))} ms`;
      result.facts[`${label === LOGLIK_LABELS.floor ? 'floor' : 'engine'}_cpu_ms`] = median(t.cpuMs);
    }
    const stats = await endpoint.stats();
    if (stats.unknown_prompts > 0) result.notes.push(`${stats.unknown_prompts} prompts were not indexed`);
  } finally {
    await endpoint.close();
  }
  const table: Table = {
    title: `Batch size ${BATCH}, parallelism ${PARALLELISM}`,
    unit: 'pairs/s',
    better: 'higher',
    floor: LOGLIK_LABELS.floor,
    rows: [...rows.values()],
  };
  fillRatios(table);
  result.tables.push(table);
  return result;
}

/** The goal: the engine at >= 0.8x the floor's pairs per second. */
export function loglikelihoodGoals(results: SuiteResult[], smoke: boolean): GoalVerdict[] {
  const goal = `Log-likelihood pairs at batch ${BATCH}, parallelism ${PARALLELISM}: >= ${GOAL_RATIO}x the raw client floor (pairs/s)`;
  const s = results.find((r) => r.key === 'loglikelihood');
  const t = s?.tables[0];
  const engine = medianOf(t, LOGLIK_LABELS.engine);
  const floor = medianOf(t, LOGLIK_LABELS.floor);
  if (engine === null || floor === null) {
    const row = t?.rows.find((r) => r.values.length === 0);
    return [
      {
        goal,
        measured: 'n/a',
        status: 'N/A',
        why: row?.errors?.[0] ?? (s ? 'not measured' : 'suite not run'),
      },
    ];
  }
  const ratio = engine / floor;
  const v: GoalVerdict = {
    goal,
    measured: `${fmt(engine)} vs ${fmt(floor)} pairs/s = ${ratio.toFixed(2)}x${smoke ? ' (smoke sizes: indicative only)' : ''}`,
    status: ratio >= GOAL_RATIO ? 'PASS' : 'MISS',
  };
  if (v.status === 'MISS') {
    v.why = `${((1 - ratio / GOAL_RATIO) * 100).toFixed(0)}% short of ${GOAL_RATIO}x: each pair costs about ${fmt((1 / engine - 1 / floor) * 1e6)} µs more than in the floor`;
    const fc = s?.facts.floor_cpu_ms;
    const ec = s?.facts.engine_cpu_ms;
    if (typeof fc === 'number' && typeof ec === 'number')
      v.why += `; a round takes ${fmt(ec)} ms of CPU in the engine's process and ${fmt(fc)} ms in the floor's (the endpoint runs in its own)`;
  }
  return [v];
}
