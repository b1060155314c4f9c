import type { DatasetSource } from '../datasets/types.js';
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
  /** The endpoint's model id (e.g. the tiktoken model of a log-likelihood run), when known. */
  modelId?: string;
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
  /**
   * Sub-groups of the sample along several dimensions (e.g. {subject: 'Algebra', level: '3'}), for
   * per-group results in results.yml named `<dimension>:<value>` (e.g. `level:3`).
   */
  groups?: Record<string, string>;
  /** Benchmark-specific per-sample details, written as `details` in the per-sample JSONL. */
  details?: Record<string, unknown>;
}

/** A metric as results.yml reports it: `metrics.<metric>.scores.<score>`, optionally per sub-group. */
export interface MetricSpec {
  metric: string;
  score: string;
  /** What the per-category sub-groups are (e.g. `subject`), when there are any. */
  groups?: string;
}

/**
 * One benchmark, defined once: everything the engine, the launcher's catalogue, the reference endpoint
 * and the docs show about it comes from here. Register it in src/engine/benchmarks/index.ts.
 */
export interface Benchmark {
  /** The task name (`config.type` / `params.task`), e.g. `gsm8k`. */
  name: string;
  description: string;
  /** First entry is the default endpoint type. */
  supportedEndpointTypes: EndpointType[];
  /** The default data set (hub repo, config, split); null when the user names the file (custom). */
  dataset: DatasetSource | null;
  /** Task-level params defaults (lowest layer), e.g. {max_new_tokens: 1024, temperature: 0}. */
  defaults: EngineParams;
  /** The metrics results.yml reports (`pass@k` stands for one metric per requested k). */
  metrics: MetricSpec[];
  /**
   * The one score that stands for the run (`nel status`, `nel ls runs`, comparisons): results.yml's
   * `tasks.<task>.metrics.<metric>.scores.<score>.value`. Set explicitly rather than taken from
   * `metrics`, whose first entry is not always the headline (ifeval) or is a family (`pass@k`).
   */
  headline?: { metric: string; score: string };
  /**
   * Upstream tasks (`harness.task`, as in upstream's task catalogue) whose prompt, extraction and scoring
   * this benchmark mirrors: with the built-in engine chosen (`nel run --builtin-engine`), they run here.
   * List a task only where the scores agree (docs/benchmarks.md's parity table says how well).
   */
  mirrors?: string[];
  /**
   * Start one run: check the options, open the data set (honouring limit_samples; a wrong file fails
   * here, before any request) and return the run's own state. Nothing is kept between runs.
   */
  prepare(ctx: BenchmarkContext): Promise<BenchmarkRun>;
}

/** One run of a benchmark (made by Benchmark.prepare), bound to its context. */
export interface BenchmarkRun {
  samples: SampleStream;
  /** The request for one sample (chat: messages; completions: prompt). */
  buildRequest(sample: BenchmarkSample): PreparedRequest;
  /** Score one sample given its responses (length = n_samples, default 1). */
  score(sample: BenchmarkSample, responses: string[]): Promise<SampleScore>;
  /** Aggregate all samples into upstream's results shape. */
  aggregate(scores: SampleScore[]): EvaluationResult;
  /**
   * For the reference endpoint: a reply that scores as correct (correct=true) or wrong (false)
   * for this sample, in the format the benchmark's extraction expects for `endpointType`.
   */
  referenceResponse(sample: BenchmarkSample, correct: boolean, endpointType: EndpointType): string;
  /** Set for benchmarks scored from prompt log-probabilities (the engine then sends pairs, not prompts). */
  loglikelihood?: LoglikelihoodRun;
}

/** One (context, continuation) pair of a log-likelihood benchmark. */
export interface LoglikelihoodPair {
  context: string;
  continuation: string;
}

/** What the endpoint's prompt log-probabilities give for one pair. */
export interface LoglikelihoodResult {
  /** Sum of the continuation tokens' log-probabilities. */
  loglikelihood: number;
  /** Every continuation token was the top token at its position. */
  isGreedy: boolean;
  /** Number of continuation tokens. */
  tokens: number;
}

/**
 * The log-likelihood side of a run (benchmarks scored from prompt log-probabilities on a completions
 * endpoint): the engine sends each sample's pairs, `batchSize` pairs a request, and scores a sample once
 * all its pairs are answered. `BenchmarkRun.buildRequest` / `score` are not used for such a run.
 */
export interface LoglikelihoodRun {
  /** The sample's pairs, in choice order. */
  pairs(sample: BenchmarkSample): LoglikelihoodPair[];
  /** The prompt of one pair (text, or token ids from the client-side tokenizer) and where its continuation starts. */
  encode(pair: LoglikelihoodPair): import('./loglikelihood/pairs.js').EncodedPair;
  /** Pairs per request (`extra.batch_size`, default 1). */
  batchSize: number;
  /** `logprobs` of each request (`extra.logprobs`, default 1). */
  logprobs: number;
  /** Score one sample from its pairs' results (same order as `pairs`). */
  score(sample: BenchmarkSample, results: LoglikelihoodResult[]): SampleScore;
  /** For the reference endpoint: the pair that should have the highest log-likelihood (correct = the gold one). */
  referenceChoice(sample: BenchmarkSample, correct: boolean): number;
}
