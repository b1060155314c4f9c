/** What a throughput contender gets and returns. */
import type { EndpointHandle } from '../lib/endpoint.js';

export interface ThroughputCase {
  samples: number;
  /** gsm8k-format JSONL holding exactly `samples` distinct records. */
  datasetFile: string;
  /** The chat message content of each sample, in order (what the engine sends). */
  contents: readonly string[];
  parallelism: number;
  endpoint: EndpointHandle;
  /** A fresh, empty output folder for this run (or the previous run's, for cached reruns). */
  outputDir: string;
  timeoutMs: number;
}

export interface ThroughputRun {
  /** Seconds measured (the contender's own scope: work only, or whole process). */
  seconds: number;
  /** Samples answered. */
  completed: number;
  /** Peak RSS of a child process, KiB. */
  peakRssKb?: number | null;
}

export interface ThroughputContender {
  name: string;
  /** What the time covers, for the table. */
  scope: 'work only' | 'whole process';
  /** Null when it can run, else the reason it cannot. */
  unavailable(): Promise<string | null>;
  run(c: ThroughputCase): Promise<ThroughputRun>;
}

export const MODEL_ID = 'reference-model';
