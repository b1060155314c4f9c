/** Code shared by the built-in benchmarks: loading samples, building requests, scoring, aggregating. */
import { NelError } from '../../common/errors.js';
import type { DatasetRecord, DatasetSource } from '../datasets/types.js';
import { buildEvaluationResult, type MetricValues } from '../scoring/results.js';
import type { EndpointType, EvaluationResult, PreparedRequest } from '../types.js';
import type { BenchmarkContext, BenchmarkSample, MetricSpec, SampleScore, SampleStream } from './types.js';

/** Data sets up to this many records are kept from the counting pass instead of being read twice. */
export const STREAM_KEEP_RECORDS = 10_000;

/**
 * A benchmark's samples as a stream (honouring limit_samples): a first pass counts the records and runs
 * `check` on each kept one, so a wrong file fails before any request is sent. Up to STREAM_KEEP_RECORDS
 * records are kept from that pass; a larger data set is read again as the samples are pulled, so nothing
 * proportional to it is held.
 */
export async function openBenchmarkSamples(
  source: DatasetSource,
  ctx: BenchmarkContext,
  opts: {
    idOf?: (record: DatasetRecord, index: number) => string;
    /** Throws for a record the benchmark cannot use. */
    check?: (sample: BenchmarkSample) => void;
  } = {},
): Promise<SampleStream> {
  // The data set readers (Parquet, CSV) are loaded only when a run opens its data.
  const { limitedCount, openDatasetRecords } = await import('../datasets/index.js');
  const records = await openDatasetRecords(source, {
    extra: ctx.extra,
    env: ctx.env,
    signal: ctx.signal,
    log: ctx.log,
  });
  const idOf = opts.idOf ?? ((_r: DatasetRecord, i: number) => String(i));
  const limit = ctx.params.limit_samples;
  limitedCount(0, limit); // a bad limit_samples fails before the data set is read
  const cap = typeof limit === 'number' && limit >= 1 ? limit : Infinity;
  let count = 0;
  let firstBad: { index: number; error: unknown } | null = null;
  let kept: DatasetRecord[] | null = [];
  for (const data of records()) {
    if (count >= cap) break;
    if (kept) {
      if (kept.length < STREAM_KEEP_RECORDS) kept.push(data);
      else kept = null;
    }
    if (opts.check && !firstBad) {
      try {
        opts.check({ id: idOf(data, count), index: count, data });
      } catch (e) {
        firstBad = { index: count, error: e };
      }
    }
    count++;
  }
  const total = limitedCount(count, limit);
  if (firstBad && firstBad.index < total) throw firstBad.error;
  return {
    total,
    *samples() {
      if (total === 0) return;
      let index = 0;
      for (const data of kept ?? records()) {
        yield { id: idOf(data, index), index, data };
        if (++index >= total) return;
      }
    },
  };
}

/** A sample's score from its responses' correctness: `key` = the fraction correct. */
export function fractionScore(
  sample: BenchmarkSample,
  judged: { extracted: (string | null)[]; correct: boolean[] },
  key: string,
  target: unknown,
  category?: string,
): SampleScore {
  const result: SampleScore = {
    sampleId: sample.id,
    scores: { [key]: fractionTrue(judged.correct) },
    extracted: judged.extracted,
    correct: judged.correct,
    target,
  };
  if (category) result.category = category;
  return result;
}

/** Upstream's results for one metric from the per-sample `key` values, with per-category groups when asked. */
export function aggregateMetric(
  task: string,
  metric: MetricSpec,
  key: string,
  scores: readonly SampleScore[],
): EvaluationResult {
  const values = scores.map((s) => s.scores[key] ?? 0);
  const list: MetricValues[] = [{ metric: metric.metric, score: metric.score, values }];
  if (!metric.groups) return buildEvaluationResult(task, list);
  const byCategory: Record<string, MetricValues[]> = {};
  for (const s of scores) {
    for (const name of subgroupNames(s)) {
      byCategory[name] ??= [{ metric: metric.metric, score: metric.score, values: [] }];
      byCategory[name]![0]!.values.push(s.scores[key] ?? 0);
    }
  }
  return buildEvaluationResult(task, list, byCategory);
}

/** The sub-groups a sample counts in: its category, and `<dimension>:<value>` for each of its groups. */
export function subgroupNames(s: SampleScore): string[] {
  const names = s.category ? [s.category] : [];
  for (const [dimension, value] of Object.entries(s.groups ?? {})) names.push(`${dimension}:${value}`);
  return names;
}

/**
 * Upstream's results for one metric of a benchmark run with `n_samples` responses per sample (repeats):
 * `value` is the mean of the per-sample `key` values (each the fraction of its responses that are
 * correct, so the mean over all responses). With n > 1, `stats` describe the n repeat-level scores
 * (repeat r = the fraction of samples whose r-th response is correct): count = n, stddev = their
 * population spread, stderr = stddev / sqrt(n - 1) (computeStats). With one response per sample, `stats` describe the
 * per-sample values, as aggregateMetric's. Sub-groups (when `metric.groups` is set) are computed the same
 * way over their members.
 */
export function aggregateRepeats(
  task: string,
  metric: MetricSpec,
  key: string,
  scores: readonly SampleScore[],
): EvaluationResult {
  const summarise = (subset: readonly SampleScore[]): MetricValues => {
    const values = subset.map((s) => s.scores[key] ?? 0);
    const n = subset.reduce((m, s) => Math.max(m, s.correct?.length ?? 0), 0);
    if (n <= 1) return { metric: metric.metric, score: metric.score, values };
    const spread: number[] = [];
    for (let r = 0; r < n; r++) {
      const flags = subset.flatMap((s) => (s.correct && r < s.correct.length ? [s.correct[r]!] : []));
      spread.push(fractionTrue(flags));
    }
    return { metric: metric.metric, score: metric.score, values, spread };
  };
  const list = [summarise(scores)];
  if (!metric.groups) return buildEvaluationResult(task, list);
  const members: Record<string, SampleScore[]> = {};
  for (const s of scores) for (const name of subgroupNames(s)) (members[name] ??= []).push(s);
  const subgroups: Record<string, MetricValues[]> = {};
  for (const [name, subset] of Object.entries(members)) subgroups[name] = [summarise(subset)];
  return buildEvaluationResult(task, list, subgroups);
}

/** Every sample of a stream, in order (for callers that need the whole list). */
export function collectSamples(stream: SampleStream): BenchmarkSample[] {
  return Array.from(stream.samples());
}

/** A check for openBenchmarkSamples: the record has each of `fields` (not null). */
export function hasFields(fields: readonly string[], benchmark: string): (s: BenchmarkSample) => void {
  return (s) => requireFields([s], fields, benchmark);
}

/** A user prompt as a chat request (optional system message) or a completions prompt. */
export function textRequest(
  userText: string,
  endpointType: EndpointType,
  systemPrompt?: string | null,
  extraBody?: Record<string, unknown>,
): PreparedRequest {
  const request: PreparedRequest =
    endpointType === 'chat'
      ? {
          messages: [
            ...(systemPrompt ? [{ role: 'system', content: systemPrompt }] : []),
            { role: 'user', content: userText },
          ],
        }
      : { prompt: systemPrompt ? `${systemPrompt}\n${userText}` : userText };
  if (extraBody) request.extraBody = extraBody;
  return request;
}

/** `extra.n_samples` (responses per sample), default 1. */
export function samplesPerPrompt(extra: Record<string, unknown>): number {
  const n = Number(extra.n_samples ?? 1);
  return Number.isInteger(n) && n >= 1 ? n : 1;
}

/** A string field of a record, or a clear error naming the record. */
export function stringField(sample: BenchmarkSample, field: string, benchmark: string): string {
  const v = sample.data[field];
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new NelError('ENGINE_DATASET', `${benchmark}: record ${sample.id} has no text field "${field}"`, {
    hint: `the data set must use the upstream record layout (fields: ${Object.keys(sample.data).slice(0, 8).join(', ') || 'none'} found)`,
  });
}

/** Check that all records have the given fields, so a wrong file fails before any request is sent. */
export function requireFields(
  samples: readonly BenchmarkSample[],
  fields: readonly string[],
  benchmark: string,
): void {
  for (const s of samples) {
    for (const f of fields) {
      if (s.data[f] === undefined || s.data[f] === null) {
        throw new NelError('ENGINE_DATASET', `${benchmark}: record ${s.index} has no field "${f}"`, {
          hint: `expected the upstream record layout with fields ${fields.join(', ')}`,
        });
      }
    }
  }
}

/** Fraction of true values (0 for none). */
export function fractionTrue(flags: readonly boolean[]): number {
  return flags.length === 0 ? 0 : flags.filter(Boolean).length / flags.length;
}

export { mulberry32 } from '../../common/random.js';
