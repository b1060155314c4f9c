/** Where a benchmark's data comes from by default: a Hugging Face hub data set (config + split). */
export interface DatasetSource {
  /** Hub repository, e.g. `openai/gsm8k`. */
  repo: string;
  /** Data set config (subset), e.g. `main`; files live under a folder of that name (or are named after it). */
  config?: string;
  /** Split, e.g. `test`. */
  split: string;
  /** Gated on the hub (needs HF_TOKEN). */
  gated?: boolean;
  /** File names that hold this data set outside the hub layout (e.g. `HumanEval.jsonl`). */
  localFileNames?: string[];
}

export interface DatasetLoadOptions {
  /** `config.params.extra`: dataset_path, dataset_revision, dataset_timeout (seconds). */
  extra: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  log?: (msg: string) => void;
  /** Base for relative dataset paths (default process.cwd()). */
  cwd?: string;
  /** Injectable fetch (tests); default global fetch. */
  fetchImpl?: typeof fetch;
}

export type DatasetRecord = Record<string, unknown>;
