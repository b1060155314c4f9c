/** Types shared by the engine's modules (run config, client, interceptors, benchmarks, output). */

export type EndpointType = 'chat' | 'completions' | 'completions_logprob' | 'embedding';

/** `config.params`: exactly these 9 keys are allowed (engine-spec 2.3). */
export interface EngineParams {
  limit_samples?: number | null;
  max_new_tokens?: number | null;
  max_retries?: number | null;
  parallelism?: number | null;
  task?: string | null;
  temperature?: number | null;
  request_timeout?: number | null;
  top_p?: number | null;
  extra?: Record<string, unknown> | null;
}

export const ENGINE_PARAM_KEYS = [
  'limit_samples',
  'max_new_tokens',
  'max_retries',
  'parallelism',
  'task',
  'temperature',
  'request_timeout',
  'top_p',
  'extra',
] as const;

/** The merged, validated evaluation (what run_config.yml holds). */
export interface Evaluation {
  command: string;
  framework_name: string;
  pkg_name: string;
  config: {
    type: string;
    output_dir: string;
    params: EngineParams;
    supported_endpoint_types?: EndpointType[] | null;
    required_capabilities?: string[] | null;
  };
  target: {
    api_endpoint: {
      url: string;
      model_id: string;
      type: EndpointType;
      api_key_name?: string | null;
      stream?: boolean | null;
      adapter_config?: Record<string, unknown> | null;
    };
  };
  metadata?: Record<string, unknown> | null;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | string;
  content: string;
}

/** What a benchmark asks the model for one sample. */
export interface PreparedRequest {
  /** Chat endpoints. */
  messages?: ChatMessage[];
  /** Completions endpoints. */
  prompt?: string;
  /** Per-request sampling overrides (e.g. stop sequences), merged into the body. */
  extraBody?: Record<string, unknown>;
}

/** Results in upstream's results.yml shape. */
export interface ScoreStats {
  count?: number;
  sum?: number;
  sum_squared?: number;
  min?: number;
  max?: number;
  mean?: number;
  variance?: number;
  stddev?: number;
  stderr?: number;
}
export interface Score {
  value: number;
  stats: ScoreStats;
}
export interface MetricResult {
  scores: Record<string, Score>;
}
export interface TaskResult {
  metrics: Record<string, MetricResult>;
}
export interface GroupResult {
  metrics: Record<string, MetricResult>;
  groups?: Record<string, GroupResult>;
}
export interface EvaluationResult {
  tasks: Record<string, TaskResult>;
  groups: Record<string, GroupResult>;
}
