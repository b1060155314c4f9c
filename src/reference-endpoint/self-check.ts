/**
 * A minimal evaluation loop (buildRequest -> HTTP -> score -> aggregate) used to check benchmarks
 * against the reference endpoint without the full engine. Bounded concurrency, per-request timeout,
 * a few retries on 429/5xx/network errors.
 */
import type { Benchmark, BenchmarkContext, SampleScore } from '../engine/benchmarks/types.js';
import type { EndpointType, EngineParams, EvaluationResult, PreparedRequest } from '../engine/types.js';

export interface SelfCheckOptions {
  benchmark: Benchmark;
  /** Base URL, e.g. http://127.0.0.1:8000 (the `/v1/...` path is appended). */
  url: string;
  endpointType?: EndpointType;
  params?: EngineParams;
  env?: NodeJS.ProcessEnv;
  outputDir?: string;
  concurrency?: number;
  apiKey?: string;
  timeoutMs?: number;
  maxRetries?: number;
}

export interface SelfCheckResult {
  result: EvaluationResult;
  scores: SampleScore[];
  responses: string[][];
}

export async function runSelfCheck(opts: SelfCheckOptions): Promise<SelfCheckResult> {
  const endpointType = opts.endpointType ?? opts.benchmark.supportedEndpointTypes[0];
  const params: EngineParams = { ...opts.benchmark.defaults, ...(opts.params ?? {}) };
  const extra = { ...(opts.benchmark.defaults.extra ?? {}), ...(opts.params?.extra ?? {}) };
  params.extra = extra;
  const ctx: BenchmarkContext = {
    params,
    extra,
    endpointType,
    outputDir: opts.outputDir ?? process.cwd(),
    env: opts.env ?? process.env,
    log: () => undefined,
    signal: new AbortController().signal,
  };
  const run = await opts.benchmark.prepare(ctx);
  const samples = Array.from(run.samples.samples());
  const n = Number(extra.n_samples ?? 1) || 1;
  const scores: SampleScore[] = new Array(samples.length);
  const responses: string[][] = new Array(samples.length);
  let next = 0;
  const worker = async () => {
    while (next < samples.length) {
      const i = next++;
      const request = run.buildRequest(samples[i]);
      const texts: string[] = [];
      for (let k = 0; k < n; k++) texts.push(await complete(request, endpointType, params, opts));
      responses[i] = texts;
      scores[i] = await run.score(samples[i], texts);
    }
  };
  const workers = Math.max(1, Math.min(opts.concurrency ?? 8, samples.length || 1));
  await Promise.all(Array.from({ length: workers }, worker));
  return { result: run.aggregate(scores), scores, responses };
}

async function complete(
  request: PreparedRequest,
  endpointType: EndpointType,
  params: EngineParams,
  opts: SelfCheckOptions,
): Promise<string> {
  const chat = endpointType === 'chat';
  const url = `${opts.url.replace(/\/+$/, '')}/v1/${chat ? 'chat/completions' : 'completions'}`;
  const body = {
    model: 'reference-model',
    ...(chat ? { messages: request.messages } : { prompt: request.prompt }),
    temperature: params.temperature ?? 0,
    max_tokens: params.max_new_tokens ?? 256,
    ...(request.extraBody ?? {}),
  };
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;
  const maxRetries = opts.maxRetries ?? 5;
  let lastError = '';
  for (let attempt = 0; attempt <= maxRetries; attempt++) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
      });
      const text = await res.text();
      if (res.ok) {
        const json = JSON.parse(text) as { choices: { message?: { content?: string }; text?: string }[] };
        const choice = json.choices[0];
        return (chat ? choice?.message?.content : choice?.text) ?? '';
      }
      lastError = `HTTP ${res.status}`;
      if (res.status !== 429 && res.status < 500) break;
    } catch (e) {
      lastError = (e as Error).message;
    }
  }
  throw new Error(`request to ${url} failed: ${lastError}`);
}
