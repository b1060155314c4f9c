/** A task the launcher knows how to run: which harness, which image, which endpoint type. */
export interface TaskDefinition {
  /** Bare task name, e.g. `gpqa_diamond`. */
  name: string;
  /** Harness (framework) name, e.g. `simple_evals`, or `builtin` for our engine's own benchmarks. */
  harness: string;
  /** Container image (a tag, never a digest). */
  container: string;
  /** Endpoint type sent to the engine: the first supported type unless the config overrides it. */
  endpointType: string;
  supportedEndpointTypes: string[];
  description: string;
  arch?: string;
  /** The framework defaults (FDF `defaults`), when the catalogue has them. */
  defaults?: Record<string, unknown>;
  /** True when the task is not in the catalogue (came from an explicit `container:`). */
  isUnlisted: boolean;
  /** For a built-in task run in place of an upstream one (the built-in engine chosen): `harness.task`. */
  standsFor?: string;
}

export interface HarnessInfo {
  name: string;
  container: string;
  description?: string;
  arch?: string;
  url?: string;
}

export interface TaskCatalogue {
  /** Where it came from: `built-in` or a file path. */
  source: string;
  harnesses: HarnessInfo[];
  tasks: TaskDefinition[];
}

/** What a config's `evaluation.tasks[i]` asks for (the fields that matter for resolution). */
export interface TaskQuery {
  name: string;
  container?: string | null;
  endpoint_type?: string | null;
}
