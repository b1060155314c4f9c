/**
 * Upstream tasks on the built-in engine: a built-in benchmark lists the upstream tasks (`harness.task`)
 * whose scoring it mirrors (Benchmark.mirrors); with the built-in engine chosen (`nel run
 * --builtin-engine`, `execution.builtin_engine: true`) such a task runs on this tool's engine instead of
 * its harness's container, with its nemo_evaluator_config unchanged.
 */
import { NelError } from '../common/errors.js';
import { listBenchmarks } from '../engine/benchmarks/registry.js';
import { BUILTIN_HARNESS, builtinEngineTasks } from './builtin-catalogue.js';
import { builtinCatalogue, resolveTask } from './catalogue.js';
import type { TaskCatalogue, TaskDefinition } from './types.js';

/** The config key that chooses the built-in engine (what `--builtin-engine` sets). */
export const BUILTIN_ENGINE_KEY = 'execution.builtin_engine';

/** `harness.task` -> the built-in benchmark that mirrors it, from the benchmark definitions. */
export function builtinEquivalents(): Map<string, string> {
  const out = new Map<string, string>();
  for (const b of listBenchmarks()) for (const m of b.mirrors ?? []) if (!out.has(m)) out.set(m, b.name);
  return out;
}

/** The built-in benchmark an upstream task has as its equivalent, if any (any endpoint type). */
export function equivalentName(task: Pick<TaskDefinition, 'harness' | 'name'>): string | undefined {
  if (task.harness === BUILTIN_HARNESS) return task.name;
  return builtinEquivalents().get(`${task.harness}.${task.name}`);
}

/**
 * The built-in task that runs in place of `task`, for the task's endpoint type; undefined when there is
 * none (no mirror, or the mirror does not serve that endpoint type). A built-in task is its own.
 */
export function builtinEquivalentOf(task: TaskDefinition, cat: TaskCatalogue): TaskDefinition | undefined {
  if (task.harness === BUILTIN_HARNESS) return task;
  // an upstream task this catalogue does not list (`simple_evals.AIME_2024` with the v0.1.28-era
  // built-in catalogue) maps too: the mirror names `harness.task` exactly
  const name = equivalentName(task);
  const def = name ? cat.tasks.find((t) => t.harness === BUILTIN_HARNESS && t.name === name) : undefined;
  if (!def || !def.supportedEndpointTypes.includes(task.endpointType)) return undefined;
  return { ...def, endpointType: task.endpointType, standsFor: `${task.harness}.${task.name}` };
}

/** The one-line refusal for tasks without an equivalent (nothing is written before it). */
export function noEquivalentError(tasks: TaskDefinition[]): NelError {
  const list = tasks.map((t) =>
    t.harness ? `${t.name} (${t.harness}.${t.name}, ${t.endpointType})` : t.name,
  );
  return new NelError(
    'CONFIG_INVALID',
    `no built-in equivalent for ${tasks.length === 1 ? 'task' : 'tasks'} ${list.join(', ')}`,
    {
      hint: 'run without --builtin-engine (execution.builtin_engine) for these, leave them out with -t, or see `nel ls tasks --builtin-engine` for the tasks that have one',
    },
  );
}

/**
 * What a failed image pull's hint suggests for a task (written into each local job record at launch, so
 * that `nel status` reads it without loading the benchmarks): its built-in version, when there is one.
 */
export function builtinAlternativeHint(name: string): string {
  const task = name.split('.').pop() ?? '';
  const sameName = builtinEngineTasks().some(([n]) => n === task);
  if (sameName && name === `${BUILTIN_HARNESS}.${task}`)
    return "or drop the task's container: setting to run it in the built-in engine image (no registry needed)";
  let equivalent: string | undefined;
  try {
    equivalent = equivalentName(resolveTask(builtinCatalogue(), { name }));
  } catch {
    // an ambiguous or unknown name: no equivalent to name
  }
  if (equivalent) {
    return `or run it on the built-in engine: nel run ... --builtin-engine (its equivalent there: ${equivalent}; no registry needed)`;
  }
  if (sameName)
    return `or run it on the built-in engine instead (task name ${BUILTIN_HARNESS}.${task}; no registry needed)`;
  return `the built-in engine has no ${task || 'such'} task yet (nel ls tasks --builtin-engine lists the upstream tasks it runs)`;
}
