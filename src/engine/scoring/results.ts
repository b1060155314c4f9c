import type { EvaluationResult, GroupResult, MetricResult } from '../types.js';
import { computeStats, mean, scoreFromValues } from './stats.js';

/** One metric's per-sample values: results.yml `metrics.<metric>.scores.<score>`. */
export interface MetricValues {
  metric: string;
  score: string;
  values: number[];
  /**
   * The values whose spread `stats` describe, when not `values` themselves (e.g. the per-repeat scores of
   * a run with several responses per sample); `value` stays the mean of `values`.
   */
  spread?: number[];
}

/** Build `metrics` from per-sample values. */
export function buildMetrics(list: readonly MetricValues[]): Record<string, MetricResult> {
  const metrics: Record<string, MetricResult> = {};
  for (const m of list) {
    metrics[m.metric] ??= { scores: {} };
    metrics[m.metric].scores[m.score] = m.spread
      ? { value: mean(m.values), stats: computeStats(m.spread) }
      : scoreFromValues(m.values);
  }
  return metrics;
}

/**
 * Upstream's results shape for one task: the task's metrics under `tasks.<task>`, mirrored under
 * `groups.<task>`, with optional sub-groups (e.g. per subject) nested under that group.
 */
export function buildEvaluationResult(
  task: string,
  list: readonly MetricValues[],
  subgroups?: Record<string, readonly MetricValues[]>,
): EvaluationResult {
  const group: GroupResult = { metrics: buildMetrics(list) };
  if (subgroups && Object.keys(subgroups).length > 0) {
    group.groups = {};
    for (const name of Object.keys(subgroups).sort())
      group.groups[name] = { metrics: buildMetrics(subgroups[name]) };
  }
  return { tasks: { [task]: { metrics: buildMetrics(list) } }, groups: { [task]: group } };
}
