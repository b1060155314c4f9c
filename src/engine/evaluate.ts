/**
 * The evaluation loop: samples x n_samples requests through the interceptor chain with a bounded worker
 * pool, per-sample scoring as soon as a sample's responses are in, streamed samples.jsonl, and the output
 * files of engine-spec 6 (run_config.yml, results.yml, metadata.yaml, eval_factory_metrics.json, report,
 * progress, run_times, markers).
 */
import { setMaxListeners } from 'node:events';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Dispatcher } from 'undici';
import { NelError, errorMessage, isNelError, systemError } from '../common/errors.js';
import { writeFileAtomic, mkdirp } from '../common/fs.js';
import { isPlainObject, type Obj } from '../common/objects.js';
import { normaliseAdapterConfig, type AdapterConfig } from './adapters/adapter-config.js';
import { buildChain, type ChainDeps, type InterceptorChain } from './adapters/chain.js';
import { FatalInterceptorError } from './adapters/types.js';
import { builtinResolver } from './benchmarks/index.js';
import type {
  Benchmark,
  BenchmarkContext,
  BenchmarkRun,
  BenchmarkSample,
  SampleScore,
} from './benchmarks/types.js';
import { createHttpTransport } from './client/http-transport.js';
import { createModelClient, EndpointRequestError } from './client/model-client.js';
import { buildRequestBody, responseText } from './client/request-body.js';
import { runWorkerPool } from './client/worker-pool.js';
import { countPairs, createLoglikelihoodLoop } from './loglikelihood-loop.js';
import { createLogger, type Logger } from './logging.js';
import { buildResultsDocument, writeMetadata, writeResults, writeRunConfig } from './output/result-files.js';
import { writeReport } from './output/report.js';
import { ReportSamples } from '../results/report/model.js';
import { startRuntimeMonitor } from './output/run-times.js';
import { SamplesWriter, type SampleLine } from './output/samples-writer.js';
import { ProgressTracker, type ProgressStream } from './progress.js';
import {
  allowedFailures,
  evaluationTaskName,
  failurePolicyOf,
  parseOverrides,
  renderCommand,
  resolveRunConfig,
  type BenchmarkResolver,
  type RunEvalFlags,
} from './run-config.js';
import type { Evaluation, EvaluationResult, PreparedRequest } from './types.js';

export const INTERRUPTED_MARKER = '.nemo_evaluator_interrupted';
export const SERVER_ERROR_MARKER = '.nemo_evaluator_server_error';
export const SAMPLES_FILE = 'samples.jsonl';

export interface EvaluationOptions {
  /** Use this benchmark instead of looking the task up in the registry. */
  benchmark?: Benchmark;
  resolver?: BenchmarkResolver;
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  /** Replaces the keep-alive pool (tests). */
  dispatcher?: Dispatcher;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  now?: () => number;
  /** Stop sending new requests (SIGTERM/SIGINT); the abort reason is written into the outcome. */
  signal?: AbortSignal;
  /** Cancel in-flight requests. */
  hardSignal?: AbortSignal;
  /** stderr progress display; null for none. */
  progressStream?: ProgressStream | null;
  fetchImpl?: typeof fetch;
  chainFactories?: ChainDeps['factories'];
}

export interface EvaluationOutcome {
  status: 'success' | 'interrupted' | 'failed';
  outputDir: string;
  results?: EvaluationResult;
  samplesScored: number;
  requestsAnswered: number;
  error?: NelError;
  /** Abort reason when interrupted (e.g. 'SIGTERM'). */
  stopReason?: string;
}

interface PendingSample {
  sample: BenchmarkSample;
  prepared: PreparedRequest;
  responses: (string | null)[];
  remaining: number;
  /** The endpoint's error for a response that failed for good (tolerated failures only). */
  error?: string;
  emptyContent?: boolean;
  /** A log-likelihood sample's pairs (its samples.jsonl prompt). */
  pairs?: unknown;
}

/** The per-sample flag in samples.jsonl for a reply whose text is empty (content null, reasoning only). */
export const EMPTY_CONTENT_FLAG = 'empty_content';

interface WorkItem {
  sample: BenchmarkSample;
  repeat: number;
}

const NO_EXTRACTED: (string | null)[] = [];

/**
 * What is kept of a sample's score until aggregation: the metrics, without the per-response extracts
 * and the gold answer (those are already in samples.jsonl).
 */
function slimScore(score: SampleScore): SampleScore {
  const kept: SampleScore = { sampleId: score.sampleId, scores: score.scores, extracted: NO_EXTRACTED };
  if (score.correct !== undefined) kept.correct = score.correct;
  if (score.category !== undefined) kept.category = score.category;
  return kept;
}

function deleteStaleMarkers(outputDir: string): void {
  for (const m of [INTERRUPTED_MARKER, SERVER_ERROR_MARKER]) rmSync(join(outputDir, m), { force: true });
}

/** The built-in benchmark registry (src/engine/benchmarks/index.ts). */
export { builtinResolver };

function authHeaders(evaluation: Evaluation, env: NodeJS.ProcessEnv, log: Logger): Record<string, string> {
  const name = evaluation.target.api_endpoint.api_key_name;
  if (!name) return {};
  const value = env[name];
  if (!value) {
    log.warn(`environment variable ${name} (api_key_name) is not set; sending requests without an API key`);
    return {};
  }
  return { authorization: `Bearer ${value}` };
}

function reportHookConfig(adapter: AdapterConfig): { types: string[]; size: number | null } | null {
  const hook = adapter.post_eval_hooks.find((h) => h.name === 'post_eval_report' && h.enabled);
  if (!hook) return null;
  const types = Array.isArray(hook.config.report_types) ? (hook.config.report_types as string[]) : ['html'];
  const size = typeof hook.config.html_report_size === 'number' ? hook.config.html_report_size : null;
  return { types, size };
}

/** The log-likelihood pair journal: beside the request cache, when the cache answers again. */
function pairJournalPath(adapter: AdapterConfig, outputDir: string): string | null {
  const caching = adapter.interceptors.find((i) => i.name === 'caching' && i.enabled);
  if (!caching || caching.config.reuse_cached_responses !== true) return null;
  return join(cacheDirOf(adapter, outputDir), 'loglikelihood_pairs.jsonl');
}

function cacheDirOf(adapter: AdapterConfig, outputDir: string): string {
  const caching = adapter.interceptors.find((i) => i.name === 'caching' && i.enabled);
  return typeof caching?.config.cache_dir === 'string' ? caching.config.cache_dir : join(outputDir, 'cache');
}

/**
 * Prepare the output dir and write run_config.yml / metadata.yaml; returns the expanded adapter config and
 * run_config.yml as its reader sees it (for the report).
 */
export function prepareOutputDir(
  evaluation: Evaluation,
  env: NodeJS.ProcessEnv,
): { adapter: AdapterConfig; runConfig: Obj | undefined } {
  const outputDir = evaluation.config.output_dir;
  try {
    mkdirp(outputDir);
  } catch (e) {
    throw new NelError(
      'OUTPUT_DIR',
      `cannot create output dir ${outputDir}: ${(e as NodeJS.ErrnoException).code ?? e}`,
    );
  }
  const adapter = normaliseAdapterConfig(evaluation.target.api_endpoint.adapter_config, outputDir);
  evaluation.target.api_endpoint.adapter_config = adapter as unknown as Record<string, unknown>;
  try {
    deleteStaleMarkers(outputDir);
    const runConfig = writeRunConfig(outputDir, evaluation);
    if (isPlainObject(evaluation.metadata)) writeMetadata(outputDir, evaluation.metadata, env);
    return { adapter, runConfig };
  } catch (e) {
    throw systemError(e, outputDir) ?? e;
  }
}

export async function runEvaluation(
  evaluation: Evaluation,
  opts: EvaluationOptions = {},
): Promise<EvaluationOutcome> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? createLogger({ env });
  const outputDir = evaluation.config.output_dir;
  const taskName = evaluationTaskName(evaluation);
  const benchmark = opts.benchmark ?? (opts.resolver ?? builtinResolver()).get(taskName);
  if (!benchmark)
    throw new NelError('ENGINE_CONFIG', `Unknown task '${taskName}'`, { hint: 'run `nemo-evaluator ls`' });

  // run_config.yml and results.yml as their reader sees them go to the report, which then parses neither
  const { adapter, runConfig: runConfigRead } = prepareOutputDir(evaluation, env);
  const monitor = startRuntimeMonitor(outputDir, opts.now);
  const params = evaluation.config.params;
  const endpoint = evaluation.target.api_endpoint;
  const stop = opts.signal ?? new AbortController().signal;
  // One listener per in-flight request or backoff wait: up to `parallelism` at a time, by design.
  for (const s of [opts.signal, opts.hardSignal]) if (s) setMaxListeners(0, s);
  const ctx: BenchmarkContext = {
    params,
    extra: params.extra ?? {},
    endpointType: endpoint.type,
    modelId: endpoint.model_id,
    outputDir,
    env,
    log: (m) => log.info(m),
    signal: stop,
  };
  const parallelism = params.parallelism ?? 10;
  const policy = failurePolicyOf(params);
  const transport = createHttpTransport({ connections: parallelism, dispatcher: opts.dispatcher });
  let chain: InterceptorChain | null = null;
  let samplesWriter: SamplesWriter | null = null;
  let reportSamples: ReportSamples | null = null;
  let progress: ProgressTracker | null = null;
  let firstAnswer: number | null = null;
  let lastAnswer: number | null = null;
  // By sample index (holey while samples complete out of order); `scored` counts the filled slots.
  const scores: SampleScore[] = [];
  let scored = 0;
  let finished = false;
  let openIterator: Iterator<BenchmarkSample> | null = null;
  const finishCommon = async (): Promise<void> => {
    finished = true;
    chain?.flush();
    samplesWriter?.close();
    progress?.finish();
    if (chain) await chain.postEval();
    const inference = firstAnswer != null && lastAnswer != null ? (lastAnswer - firstAnswer) / 1000 : 0;
    monitor.finish({ inferenceTimeSeconds: inference });
  };
  // The job's report reads the other artifacts: written last (after results.yml when there is one).
  const writeJobReport = (resultsRead?: Obj): void => {
    const report = reportHookConfig(adapter);
    if (!report) return;
    try {
      writeReport({
        outputDir,
        cacheDir: cacheDirOf(adapter, outputDir),
        endpoint: endpoint.url,
        reportTypes: report.types,
        size: report.size,
        title: `${evaluation.config.type} - ${endpoint.model_id}`,
        headlines: () => benchmark.headline,
        samples: reportSamples ?? undefined,
        results: resultsRead,
        runConfig: runConfigRead,
      });
    } catch (e) {
      log.warn('post_eval_report failed', { error: errorMessage(e) });
    }
  };

  try {
    let run: BenchmarkRun;
    try {
      run = await benchmark.prepare(ctx);
    } catch (e) {
      if (isNelError(e)) throw e;
      throw new NelError(
        'ENGINE_DATASET',
        `cannot load the data set of '${benchmark.name}': ${errorMessage(e)}`,
      );
    }
    const stream = run.samples;
    const ll = run.loglikelihood;
    // a log-likelihood run answers each (context, continuation) pair once; progress counts pairs
    const n = ll ? 1 : typeof ctx.extra.n_samples === 'number' ? ctx.extra.n_samples : 1;
    const total = ll ? countPairs(stream, ll) : stream.total * n;
    log.info(`evaluating ${benchmark.name}`, {
      samples: stream.total,
      n_samples: n,
      requests: total,
      parallelism,
      ...(ll ? { pairs: total, batch_size: ll.batchSize } : {}),
    });
    progress = new ProgressTracker({
      outputDir,
      total,
      stream: opts.progressStream === undefined ? process.stderr : opts.progressStream,
      now: opts.now,
    });
    samplesWriter = new SamplesWriter(join(outputDir, SAMPLES_FILE));
    // The report's samples are gathered as they are written (while requests are in flight), so that the
    // report need not read samples.jsonl back at the end.
    if (reportHookConfig(adapter)?.types.includes('html')) reportSamples = new ReportSamples();
    chain = buildChain(adapter, {
      ctx: { outputDir, url: endpoint.url, log, endpointType: endpoint.type },
      transport,
      timeoutMs: (params.request_timeout ?? 60) * 1000,
      maxResponseBytes: policy.maxResponseBytes,
      signal: opts.hardSignal,
      factories: opts.chainFactories,
      fetchImpl: opts.fetchImpl,
    });
    const activeChain = chain;
    const client = createModelClient({
      send: (req) => activeChain.send(req),
      maxRetries: params.max_retries ?? 5,
      headers: authHeaders(evaluation, env, log),
      log,
      sleep: opts.sleep,
      random: opts.random,
      backoff: policy.backoff,
      // Stopping ends backoff waits at once (no retry is sent after SIGTERM).
      signal: opts.signal ?? opts.hardSignal,
    });
    const allowedFailed = allowedFailures(policy, stream.total);
    const failedSamples: { sample_id: string; error: string }[] = [];
    let emptyContent = 0;

    const pending = new Map<number, PendingSample>();
    // Samples are pulled from the stream as workers free up; a sample is held only while its requests run.
    const sampleIterator = stream.samples()[Symbol.iterator]();
    openIterator = sampleIterator;
    function* workItems(): Generator<WorkItem> {
      for (let it = sampleIterator.next(); !it.done; it = sampleIterator.next()) {
        for (let r = 0; r < n; r++) yield { sample: it.value, repeat: r };
      }
    }
    const now = opts.now ?? Date.now;
    const writer = samplesWriter;
    const tracker = progress;
    const worker = async (item: WorkItem): Promise<void> => {
      const index = item.sample.index;
      let state = pending.get(index);
      if (!state) {
        state = {
          sample: item.sample,
          prepared: run.buildRequest(item.sample),
          responses: new Array(n).fill(null),
          remaining: n,
        };
        pending.set(index, state);
      }
      const sample = state.sample;
      const body = buildRequestBody(state.prepared, {
        modelId: endpoint.model_id,
        endpointType: endpoint.type,
        params,
      });
      let text: string | null;
      try {
        const { response } = await client.complete(body, {
          requestId: '',
          sampleId: sample.id,
          repeatIndex: item.repeat,
        });
        text = responseText(response.body, endpoint.type);
        const t = now();
        firstAnswer ??= t;
        lastAnswer = t;
      } catch (e) {
        // Tolerated failures (extra.max_failed_samples): the sample is recorded with the endpoint's error.
        if (stop.aborted || !(e instanceof EndpointRequestError)) throw e;
        if (allowedFailed === 0)
          throw new EndpointRequestError(`sample ${sample.id} failed: ${e.message}`, e.hint);
        state.error ??= e.message;
        text = '';
      }
      if (text === null) {
        log.warn('response has no completion text; scored as an empty answer', { sample: sample.id });
        text = '';
      }
      if (text === '' && state.error === undefined) state.emptyContent = true;
      state.responses[item.repeat] = text;
      tracker.increment();
      if (--state.remaining > 0) return;
      pending.delete(index);
      const responses = state.responses as string[];
      await recordSample(state, await run.score(sample, responses), responses);
    };

    /** Write a scored sample (samples.jsonl, the kept score) and apply the failure policy. */
    const recordSample = async (state: PendingSample, score: SampleScore, responses: string[]) => {
      const sample = state.sample;
      const index = sample.index;
      if (state.error !== undefined) {
        // A failed sample counts as wrong, whatever its empty answer would score.
        for (const k of Object.keys(score.scores)) score.scores[k] = 0;
        if (score.correct !== undefined) score.correct = score.correct.map(() => false);
      }
      scores[index] = slimScore(score);
      scored++;
      const line: SampleLine = {
        sample_id: sample.id,
        index: sample.index,
        prompt: state.prepared.messages ?? state.prepared.prompt ?? state.pairs,
        responses,
        extracted: score.extracted,
        scores: score.scores,
        target: score.target,
      };
      if (score.details !== undefined) line.details = score.details;
      if (score.category !== undefined) line.category = score.category;
      if (score.groups !== undefined) line.groups = score.groups;
      if (state.emptyContent) {
        line.flags = [EMPTY_CONTENT_FLAG];
        emptyContent++;
      }
      if (state.error !== undefined) {
        line.error = state.error;
        failedSamples.push({ sample_id: sample.id, error: state.error });
      }
      const json = writer.write(line);
      reportSamples?.add(line as unknown as Obj, json ?? undefined);
      if (state.error !== undefined) {
        log.warn(`sample ${sample.id} failed and is counted as wrong: ${state.error}`, {
          failed: failedSamples.length,
          allowed: allowedFailed,
        });
        if (failedSamples.length > allowedFailed) {
          throw new NelError(
            'ENGINE_ENDPOINT',
            `sample ${sample.id} failed: ${state.error} (${failedSamples.length} failed samples, more than config.params.extra.max_failed_samples allows: ${allowedFailed})`,
            { hint: 'see samples.jsonl for each failed sample and its error' },
          );
        }
      }
    };

    const llLoop = ll
      ? createLoglikelihoodLoop({
          ll,
          stream,
          modelId: endpoint.model_id,
          journalPath: pairJournalPath(adapter, outputDir),
          client,
          log,
          stop,
          allowedFailed,
          onAnswer: () => {
            const t = now();
            firstAnswer ??= t;
            lastAnswer = t;
            tracker.increment();
          },
          record: (sample, pairs, score, responses, error) =>
            recordSample({ sample, prepared: {}, pairs, responses, remaining: 0, error }, score, responses),
        })
      : null;

    let failure: unknown = null;
    try {
      if (llLoop)
        await runWorkerPool(llLoop.batches(), parallelism, llLoop.worker, { shouldStop: () => stop.aborted });
      else await runWorkerPool(workItems(), parallelism, worker, { shouldStop: () => stop.aborted });
      llLoop?.finish();
    } catch (e) {
      failure = e;
    } finally {
      llLoop?.close();
    }
    const answered = tracker.count;
    if (stop.aborted) {
      await finishCommon();
      writeJobReport();
      const reason = typeof stop.reason === 'string' ? stop.reason : 'SIGTERM';
      if (reason === 'SIGTERM' && !existsSync(join(outputDir, SERVER_ERROR_MARKER))) {
        writeFileAtomic(
          join(outputDir, INTERRUPTED_MARKER),
          `interrupted by ${reason} at ${new Date().toISOString()}\n`,
        );
      }
      log.warn(
        `evaluation interrupted by ${reason}; rerun with the same output dir to resume from the cache`,
        {
          answered,
          total,
        },
      );
      return {
        status: 'interrupted',
        outputDir,
        samplesScored: scored,
        requestsAnswered: answered,
        stopReason: reason,
      };
    }
    if (failure) {
      await finishCommon();
      writeJobReport();
      if (failure instanceof FatalInterceptorError) {
        writeFileAtomic(join(outputDir, SERVER_ERROR_MARKER), `${failure.message}\n`);
        throw new NelError('ENGINE_ENDPOINT', failure.message, {
          hint: 'the raise_client_errors interceptor ended the run',
        });
      }
      if (isNelError(failure)) throw failure;
      throw new NelError('ENGINE_RUN', `evaluation failed: ${errorMessage(failure)}`);
    }
    const results = run.aggregate(scores.filter((s) => s !== undefined));
    await finishCommon();
    const doc = buildResultsDocument({ evaluation, command: renderCommand(evaluation), results, env });
    if (failedSamples.length > 0) {
      doc.failed_samples = {
        count: failedSamples.length,
        allowed: allowedFailed,
        counted_as: 'wrong',
        samples: failedSamples.slice(0, 100),
      };
      log.warn(
        `${failedSamples.length} sample(s) failed and were counted as wrong (allowed: ${allowedFailed}); see failed_samples in results.yml and the "error" of each in samples.jsonl`,
      );
    }
    if (emptyContent > 0) {
      log.warn(
        `${emptyContent} sample(s) got a reply with empty content (content null, or only reasoning) and were scored as empty answers; flagged "${EMPTY_CONTENT_FLAG}" in samples.jsonl`,
      );
    }
    writeJobReport(writeResults(outputDir, doc));
    log.info('evaluation finished', { output_dir: outputDir, samples: scored });
    return {
      status: 'success',
      outputDir,
      results,
      samplesScored: scored,
      requestsAnswered: answered,
    };
  } catch (e) {
    samplesWriter?.close();
    if (!finished) monitor.finish();
    if (stop.aborted) {
      // Stopped before or while loading the data set: nothing was scored, the rerun starts over.
      const reason = typeof stop.reason === 'string' ? stop.reason : 'SIGTERM';
      if (reason === 'SIGTERM') {
        writeFileAtomic(
          join(outputDir, INTERRUPTED_MARKER),
          `interrupted by ${reason} at ${new Date().toISOString()}\n`,
        );
      }
      return {
        status: 'interrupted',
        outputDir,
        samplesScored: 0,
        requestsAnswered: progress?.count ?? 0,
        stopReason: reason,
      };
    }
    const err = isNelError(e)
      ? e
      : (systemError(e, outputDir) ?? new NelError('ENGINE_RUN', `evaluation failed: ${errorMessage(e)}`));
    return {
      status: 'failed',
      outputDir,
      samplesScored: scored,
      requestsAnswered: progress?.count ?? 0,
      error: err,
    };
  } finally {
    try {
      openIterator?.return?.(); // closes the data file when the run stopped early
    } catch {
      /* nothing to close */
    }
    if (chain) await chain.close();
    await transport.close();
  }
}

/**
 * Resolve a run config (the parsed config_ef.yaml, CLI-style flags and overrides) and run it: the
 * programmatic equivalent of `nemo-evaluator run_eval`. Configuration errors throw NelError; run
 * failures come back as `status: 'failed'`.
 */
export async function runEngineEval(
  input: { runConfig?: unknown; flags?: RunEvalFlags; overrides?: string | Record<string, unknown> },
  opts: EvaluationOptions = {},
): Promise<EvaluationOutcome> {
  const injected = opts.benchmark;
  const resolver: BenchmarkResolver =
    opts.resolver ??
    (injected
      ? {
          get: (n) => (n === injected.name || n === `builtin.${injected.name}` ? injected : undefined),
          list: () => [injected],
        }
      : builtinResolver());
  const overrides = typeof input.overrides === 'string' ? parseOverrides(input.overrides) : input.overrides;
  const { evaluation, benchmark } = resolveRunConfig({
    runConfig: input.runConfig,
    flags: input.flags,
    overrides,
    resolver,
  });
  return runEvaluation(evaluation, { ...opts, benchmark });
}
