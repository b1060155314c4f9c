import type { EndpointType, EngineParams, EvaluationResult, PreparedRequest } from '../types.js';

/** One item of a benchmark's data set. */
export interface BenchmarkSample {
  /** Stable id within the data set (e.g. `HumanEval/0`, or the 0-based row index as a string). */
  id: string;
  /** 0-based position in the data set (after limit_samples). */
  index: number;
  /** The record as loaded, in the upstream data set's own layout. */
  data: Record<string, unknown>;
}

/** A data set's samples, counted up front and read as they are pulled. */
export interface SampleStream {
  /** Number of samples `samples()` yields (after limit_samples). */
  total: number;
  /** The samples in order; each call starts over. */
  samples(): Iterable<BenchmarkSample>;
}

export interface BenchmarkContext {
  /** Merged params (task defaults < run config < flags < overrides). */
  params: EngineParams;
  /** `params.extra` (never null here). */
  extra: Record<string, unknown>;
  endpointType: EndpointType;
  /** The engine's output dir (for scratch files such as code-execution sandboxes). */
  outputDir: string;
  env: NodeJS.ProcessEnv;
  /** Engine log (stderr). */
  log: (msg: string) => void;
  /** Aborted on SIGTERM/SIGINT. */
  signal: AbortSignal;
}

/** Score of one sample over its n_samples responses. */
export interface SampleScore {
  sampleId: string;
  /** Metric name -> value for this sample (e.g. {exact_match: 1}). Aggregated by the benchmark. */
  scores: Record<string, number>;
  /** What was extracted from each response (for the per-sample JSONL). */
  extracted: (string | null)[];
  /** Optional per-response correctness, for pass@k style metrics. */
  correct?: boolean[];
  /** Gold answer as shown in the per-sample JSONL. */
  target?: unknown;
  /** Sub-group of the sample (e.g. MMLU subject), for per-category groups in results.yml. */
  category?: string;
}

export interface Benchmark {
  /** The task name (`config.type` / `params.task`), e.g. `gsm8k`. */
  name: string;
  description: string;
  /** First entry is the default endpoint type. */
  supportedEndpointTypes: EndpointType[];
  /** Task-level params defaults (lowest layer), e.g. {max_new_tokens: 1024, temperature: 0}. */
  defaults: EngineParams;
  /** Load the data set (honouring params.limit_samples); see datasets/. */
  loadSamples(ctx: BenchmarkContext): Promise<BenchmarkSample[]>;
  /**
   * Optional streaming form of loadSamples (same samples, same checks): the evaluation uses it when
   * present, so that a large data set is not held in memory.
   */
  openSamples?(ctx: BenchmarkContext): Promise<SampleStream>;
  /** Build the request for one sample (chat: messages; completions: prompt). */
  buildRequest(sample: BenchmarkSample, ctx: BenchmarkContext): PreparedRequest;
  /** Score one sample given its responses (length = n_samples, default 1). */
  score(sample: BenchmarkSample, responses: string[], ctx: BenchmarkContext): Promise<SampleScore>;
  /** Aggregate all samples into upstream's results shape. */
  aggregate(scores: SampleScore[], ctx: BenchmarkContext): EvaluationResult;
  /**
   * For the reference endpoint: a reply that scores as correct (correct=true) or wrong (false)
   * for this sample, in the format the benchmark's extraction expects.
   */
  referenceResponse(sample: BenchmarkSample, correct: boolean, endpointType: EndpointType): string;
}
