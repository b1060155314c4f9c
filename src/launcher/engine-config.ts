/**
 * config_ef.yaml for one task (launcher-spec 5.6): global + task `nemo_evaluator_config` deep-merged
 * (task wins), then endpoint, task type, output dir, key name and metadata filled in where absent.
 */
import { NelError, isNelError } from '../common/errors.js';
import { deepClone, deepMerge, getPath, isPlainObject, setPath, type Obj } from '../common/objects.js';
import { normaliseAdapterConfig } from '../engine/adapters/adapter-config.js';
import { validateEngineParams } from '../engine/run-config.js';
import { BUILTIN_HARNESS } from '../tasks/builtin-catalogue.js';
import { packageVersion } from '../common/version.js';
import { dumpPlainYaml } from '../common/yaml.js';
import type { TaskDefinition } from '../tasks/types.js';

export interface EngineConfigInput {
  /** The resolved launcher config (stored as metadata.launcher_resolved_config). */
  resolved: Obj;
  /** The task's entry from `evaluation.tasks`. */
  taskEntry: Obj;
  task: TaskDefinition;
  endpointUrl: string | undefined;
  modelId: string | undefined;
  apiKeyName: string | null;
  /** `/results` in a container; the task's artifacts dir in host mode. */
  outputDir: string;
  launcherCommand: string;
  version?: string;
}

/** The task-level engine config: `nemo_evaluator_config`, or its alias `config`. */
export function taskEngineOverrides(taskEntry: Obj): Obj {
  const v = taskEntry.nemo_evaluator_config ?? taskEntry.config;
  return isPlainObject(v) ? v : {};
}

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v !== '';

/**
 * For a task the built-in engine runs, check `config.params` with the engine's own validation (same
 * message as at run time), so `nel run` refuses before anything is written. Other harnesses have their
 * own params and are left alone.
 */
export function checkEngineParams(cfg: Obj, task: TaskDefinition): void {
  if (task.harness !== BUILTIN_HARNESS) return;
  try {
    validateEngineParams(getPath(cfg, 'config.params'));
  } catch (e) {
    if (!isNelError(e)) throw e;
    throw new NelError(e.code, e.message, {
      hint: `task ${task.name}: fix config.params in its nemo_evaluator_config (or the global one)${e.hint ? `; ${e.hint}` : ''}`,
    });
  }
  // The interceptor chain's settings, checked by the engine's own registry (unknown keys, types).
  const adapter = getPath(cfg, 'target.api_endpoint.adapter_config');
  if (adapter === undefined || adapter === null) return;
  try {
    normaliseAdapterConfig(adapter, null);
  } catch (e) {
    if (!isNelError(e)) throw e;
    throw new NelError(e.code, e.message, {
      hint: `task ${task.name}: fix target.api_endpoint.adapter_config in its nemo_evaluator_config (or the global one)${e.hint ? `; ${e.hint}` : ''}`,
    });
  }
}

export function buildEngineConfig(input: EngineConfigInput): Obj {
  const evaluation = isPlainObject(input.resolved.evaluation) ? input.resolved.evaluation : {};
  const globalCfg = isPlainObject(evaluation.nemo_evaluator_config) ? evaluation.nemo_evaluator_config : {};
  const cfg = deepMerge(deepClone(globalCfg), taskEngineOverrides(input.taskEntry)) as Obj;
  checkEngineParams(cfg, input.task);
  const fill = (path: string, value: unknown): void => {
    if (value === undefined) return;
    const cur = getPath(cfg, path);
    if (cur === undefined || cur === null) setPath(cfg, path, value);
  };
  fill('target.api_endpoint.url', input.endpointUrl);
  fill('target.api_endpoint.model_id', input.modelId);
  fill('target.api_endpoint.type', input.task.endpointType);
  fill(
    'config.type',
    input.task.isUnlisted && input.task.harness
      ? `${input.task.harness}.${input.task.name}`
      : input.task.name,
  );
  fill('config.output_dir', input.outputDir);
  if (input.apiKeyName) fill('target.api_endpoint.api_key_name', input.apiKeyName);
  fill('metadata.launcher_resolved_config', deepClone(input.resolved));
  fill('metadata.versioning', { nemo_evaluator_launcher: input.version ?? packageVersion() });
  fill('metadata.launcher_command', input.launcherCommand);
  const { preCmd, postCmd } = taskCommands(input.resolved, input.taskEntry);
  if (preCmd) fill('metadata.pre_cmd', preCmd);
  if (postCmd) fill('metadata.post_cmd', postCmd);
  return cfg;
}

/** The task's pre_cmd / post_cmd (task level wins over `evaluation`); '' when none. */
export function taskCommands(resolved: Obj, taskEntry: Obj): { preCmd: string; postCmd: string } {
  const evaluation = isPlainObject(resolved.evaluation) ? resolved.evaluation : {};
  const pick = (k: 'pre_cmd' | 'post_cmd'): string => {
    const t = taskEntry[k];
    if (nonEmpty(t)) return t;
    const g = evaluation[k];
    return nonEmpty(g) ? g : '';
  };
  return { preCmd: pick('pre_cmd'), postCmd: pick('post_cmd') };
}

/** config_ef.yaml text: keys sorted, like Python's yaml.safe_dump (the fast emitter: it is written per task). */
export function dumpEngineConfig(cfg: Obj): string {
  return dumpPlainYaml(cfg, { sortKeys: true });
}
