/**
 * A job's scores, read from its artifacts/results.yml: every metric flat, plus the headline (the one
 * score that stands for the run).
 *
 * Flat keys are `<metric>.<score>` from `results.tasks.<task>.metrics.<metric>.scores.<score>.value`;
 * when results.yml holds several tasks, each key is prefixed `<task>/`. Per-category sub-groups
 * (`results.groups.<task>.groups.<sub>`) are kept apart in `groups`.
 *
 * The headline comes from the benchmark definition (`Benchmark.headline`) when the results.yml task
 * names a built-in benchmark and holds that metric and score. Otherwise (tasks run by other harnesses,
 * in NVIDIA's containers, or custom benchmarks) it is read from the structure: the first task's first
 * metric, and in it the score named like the metric, else its first score.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../common/errors.js';
import { isPlainObject } from '../common/objects.js';
import { readResultsSection } from './results-yaml.js';

/** Which metric and score a task's headline is (Benchmark.headline). */
export interface HeadlineSpec {
  metric: string;
  score: string;
}

/** Task name (results.yml `tasks` key) -> its defined headline. */
export type HeadlineLookup = (task: string) => HeadlineSpec | undefined;

export interface Headline extends HeadlineSpec {
  task: string;
  value: number;
  /** The flat key in `metrics`. */
  key: string;
  /** `definition`: the benchmark's own headline; `structure`: read from results.yml's layout. */
  source: 'definition' | 'structure';
}

export interface JobScores {
  /** results.yml's task names, in file order. */
  tasks: string[];
  /** Flat `<metric>.<score>` (several tasks: `<task>/<metric>.<score>`) -> value. */
  metrics: Record<string, number>;
  /** Sub-group name (e.g. an MMLU subject) -> its flat metrics. */
  groups: Record<string, Record<string, number>>;
  headline: Headline | null;
}

function numberOf(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

/** `metrics.<m>.scores.<s>.value` of one results entry, as [metric, score, value] in file order. */
function scoreTriples(entry: unknown): [string, string, number][] {
  const out: [string, string, number][] = [];
  const metrics = isPlainObject(entry) ? entry.metrics : undefined;
  if (!isPlainObject(metrics)) return out;
  for (const [m, metric] of Object.entries(metrics)) {
    if (!isPlainObject(metric) || !isPlainObject(metric.scores)) continue;
    for (const [s, score] of Object.entries(metric.scores)) {
      const v = isPlainObject(score) ? numberOf(score.value) : undefined;
      if (v !== undefined) out.push([m, s, v]);
    }
  }
  return out;
}

const flatKey = (metric: string, score: string) => `${metric}.${score}`;

/** The headline read from the layout alone: first metric; its score named like it, else its first. */
function structuralHeadline(triples: [string, string, number][]): [string, string, number] | undefined {
  const first = triples[0];
  if (!first) return undefined;
  const ofMetric = triples.filter((t) => t[0] === first[0]);
  return ofMetric.find((t) => t[1] === t[0]) ?? first;
}

/** Scores of a parsed results.yml. `headlines` gives the built-in benchmarks' definitions. */
export function scoresFromResults(doc: unknown, headlines?: HeadlineLookup): JobScores {
  const results = isPlainObject(doc) ? doc.results : undefined;
  const tasks = isPlainObject(results) && isPlainObject(results.tasks) ? results.tasks : {};
  const names = Object.keys(tasks);
  const prefix = (t: string) => (names.length > 1 ? `${t}/` : '');
  const metrics: Record<string, number> = {};
  let headline: Headline | null = null;
  for (const task of names) {
    const triples = scoreTriples(tasks[task]);
    for (const [m, s, v] of triples) metrics[prefix(task) + flatKey(m, s)] = v;
    if (headline) continue;
    const spec = headlines?.(task);
    const defined = spec && triples.find(([m, s]) => m === spec.metric && s === spec.score);
    const chosen = defined ?? structuralHeadline(triples);
    if (chosen) {
      const [metric, score, value] = chosen;
      headline = {
        task,
        metric,
        score,
        value,
        key: prefix(task) + flatKey(metric, score),
        source: defined ? 'definition' : 'structure',
      };
    }
  }
  const groups: Record<string, Record<string, number>> = {};
  const top = isPlainObject(results) && isPlainObject(results.groups) ? results.groups : {};
  for (const [task, group] of Object.entries(top)) {
    const subs = isPlainObject(group) && isPlainObject(group.groups) ? group.groups : {};
    for (const [sub, entry] of Object.entries(subs)) {
      const flat: Record<string, number> = {};
      for (const [m, s, v] of scoreTriples(entry)) flat[flatKey(m, s)] = v;
      if (Object.keys(flat).length > 0) groups[prefix(task) + sub] = flat;
    }
  }
  return { tasks: names, metrics, groups, headline };
}

/** Where a job's results.yml is, given its task (output) dir. */
export const resultsPathOf = (taskDir: string): string => join(taskDir, 'artifacts', 'results.yml');

/**
 * A job's scores; `null` when it has no results.yml; `{error}` when the file cannot be read. The
 * `results:` section is read by a fast reader (results-yaml.ts); the YAML parser is loaded only for a
 * file that reader does not handle.
 */
export async function readJobScores(
  taskDir: string,
  headlines?: HeadlineLookup,
): Promise<JobScores | { error: string } | null> {
  const file = resultsPathOf(taskDir);
  if (!existsSync(file)) return null;
  try {
    const text = readFileSync(file, 'utf8');
    let doc: unknown = readResultsSection(text);
    if (doc === undefined) doc = (await import('../common/yaml.js')).parseYaml(text, file);
    return scoresFromResults(doc, headlines);
  } catch (e) {
    return { error: errorMessage(e).split('\n')[0]! };
  }
}

/**
 * The built-in benchmarks' headlines. Loads the benchmark registry, so callers ask for it only once they
 * know a job has finished (the registry is not needed to list jobs).
 */
export async function loadBuiltinHeadlines(): Promise<HeadlineLookup> {
  const { getBenchmark } = await import('../engine/benchmarks/index.js');
  return (task) => getBenchmark(task)?.headline;
}

/** `0.7500`: four decimals, as the score tables show values; whole numbers as they are. */
export function formatValue(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(4);
}

/** `exact_match` when the score is named like the metric, else `metric.score` (e.g. `score.micro`). */
export function headlineLabel(h: HeadlineSpec): string {
  return h.metric === h.score ? h.metric : flatKey(h.metric, h.score);
}
