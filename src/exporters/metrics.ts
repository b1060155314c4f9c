/**
 * Metric flattening of a results.yml (launcher-spec 9.2): `<task>_<metric>` when the score is named
 * like the metric, else `<task>_<metric>_<score>`; nested groups become `<task>_<group>_...`; each stat
 * adds `<key>_<stat>`. A key seen twice with different values is an error.
 */
import { NelError } from '../common/errors.js';
import { isPlainObject } from '../common/objects.js';

export type Metrics = Record<string, number>;

function put(out: Metrics, key: string, value: unknown, context: string): void {
  const v = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  if (typeof value === 'boolean' || value === null || value === undefined || Number.isNaN(v)) return;
  if (key in out && out[key] !== v) {
    throw new NelError(
      'EXPORT_FAILED',
      `Metric key collision in ${context}: '${key}' is both ${out[key]} and ${v}`,
      {
        hint: 'two groups or tasks flatten to the same metric name',
      },
    );
  }
  out[key] = v;
}

function flattenEntry(prefix: string, entry: unknown, out: Metrics, context: string): void {
  if (!isPlainObject(entry)) return;
  const metrics = entry.metrics;
  if (isPlainObject(metrics)) {
    for (const [metricName, metric] of Object.entries(metrics)) {
      if (!isPlainObject(metric) || !isPlainObject(metric.scores)) continue;
      for (const [scoreName, score] of Object.entries(metric.scores)) {
        if (!isPlainObject(score)) continue;
        const key =
          scoreName === metricName ? `${prefix}_${metricName}` : `${prefix}_${metricName}_${scoreName}`;
        put(out, key, score.value, context);
        if (isPlainObject(score.stats)) {
          for (const [stat, val] of Object.entries(score.stats)) put(out, `${key}_${stat}`, val, context);
        }
      }
    }
  }
  const groups = entry.groups;
  if (isPlainObject(groups)) {
    for (const [g, sub] of Object.entries(groups)) flattenEntry(`${prefix}_${g}`, sub, out, context);
  }
}

/** Flatten `results.groups` then `results.tasks` of a parsed results.yml. */
export function extractAccuracyMetrics(resultsYaml: unknown, context = 'results.yml'): Metrics {
  const out: Metrics = {};
  const results = isPlainObject(resultsYaml) ? resultsYaml.results : undefined;
  if (!isPlainObject(results)) return out;
  for (const section of ['groups', 'tasks'] as const) {
    const data = results[section];
    if (!isPlainObject(data)) continue;
    for (const [name, entry] of Object.entries(data)) flattenEntry(name, entry, out, context);
  }
  return out;
}

/** Keep only metrics whose key contains one of the filters (all when the filter list is empty). */
export function filterMetrics(metrics: Metrics, filters: string[]): Metrics {
  if (filters.length === 0) return metrics;
  return Object.fromEntries(Object.entries(metrics).filter(([k]) => filters.some((f) => k.includes(f))));
}
