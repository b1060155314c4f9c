/**
 * Multiple-choice benchmarks scored from log-likelihoods, as lm-evaluation-harness's `multiple_choice`
 * tasks: each choice is a (context, continuation) pair; `acc` is whether the gold pair has the highest
 * log-likelihood (the first one on ties, as numpy's argmax), `acc_norm` the same over the log-likelihood
 * divided by the choice's length in characters, and `mc2` the normalised probability mass of the true
 * choices (TruthfulQA MC2).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { NelError } from '../../../common/errors.js';
import type { DatasetRecord, DatasetSource } from '../../datasets/types.js';
import { buildEvaluationResult } from '../../scoring/results.js';
import type {
  Benchmark,
  BenchmarkContext,
  BenchmarkSample,
  LoglikelihoodPair,
  LoglikelihoodResult,
  MetricSpec,
  SampleScore,
  SampleStream,
} from '../types.js';
import { encodePair } from './pairs.js';
import { loadPairTokenizer } from './tokenizer.js';

/** One question as pairs. */
export interface LoglikelihoodItem {
  pairs: LoglikelihoodPair[];
  /** Index of the gold pair (acc, acc_norm). */
  gold: number;
  /** The texts whose lengths in characters divide the log-likelihoods for acc_norm (the harness's choices). */
  normTexts?: string[];
  /** 1 for a true choice, 0 for a false one (mc2). */
  labels?: number[];
  /** Shown as `target` in samples.jsonl (default: the gold pair's continuation). */
  target?: unknown;
}

export type LoglikelihoodMetric = 'acc' | 'acc_norm' | 'mc2';

export interface LoglikelihoodSpec {
  name: string;
  description: string;
  source: DatasetSource;
  mirrors?: string[];
  /** results.yml metric names and what each computes (`mc2` is reported as `acc`, as the harness names it). */
  metrics: { name: string; kind: LoglikelihoodMetric }[];
  /** The headline metric (first by default). */
  headline?: string;
  idOf?: (record: DatasetRecord, index: number) => string;
  /** The record (upstream layout) as pairs; throws NelError for a wrong layout. */
  toItem(sample: BenchmarkSample): LoglikelihoodItem;
  /**
   * The field a labels file beside the data file fills in (PIQA's `dev-labels.lst`: one label a line,
   * for records that do not carry it), if any.
   */
  labelsFileField?: string;
}

/** Index of the largest value (the first on ties), as numpy's argmax. */
export function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/** The probability mass of the true choices among all (exp of the log-likelihoods, normalised). */
export function mc2Score(lls: readonly number[], labels: readonly number[]): number {
  const top = Math.max(...lls);
  let all = 0;
  let truth = 0;
  lls.forEach((ll, i) => {
    const p = Math.exp(ll - top);
    all += p;
    if (labels[i] === 1) truth += p;
  });
  return all > 0 ? truth / all : 0;
}

function positiveInt(extra: Record<string, unknown>, key: string, fallback: number): number {
  const v = extra[key];
  if (v === undefined || v === null || v === '') return fallback;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw new NelError(
      'ENGINE_CONFIG',
      `config.params.extra.${key} must be an integer >= 1, got ${String(v)}`,
      { hint: `give a whole number of 1 or more, or leave config.params.extra.${key} out for its default` },
    );
  }
  return n;
}

/**
 * Records of the data set with a labels file joined in (PIQA's layout), limit_samples applied, each read
 * as its item (`items`), so that a wrong layout fails before any request.
 */
async function openItems(
  spec: LoglikelihoodSpec,
  ctx: BenchmarkContext,
  items: WeakMap<BenchmarkSample, LoglikelihoodItem>,
): Promise<SampleStream> {
  const { resolveDataFiles, parseDataFile, limitedCount } = await import('../../datasets/index.js');
  const opts = { extra: ctx.extra, env: ctx.env, signal: ctx.signal, log: ctx.log };
  limitedCount(0, ctx.params.limit_samples);
  const files = await resolveDataFiles(spec.source, opts);
  const records: DatasetRecord[] = [];
  for (const f of files) {
    const rows = await parseDataFile(f);
    const field = spec.labelsFileField;
    if (field && rows.some((r) => r[field] === undefined)) {
      const labelsFile = join(dirname(f), `${basename(f, extname(f))}-labels.lst`);
      if (!existsSync(labelsFile)) {
        throw new NelError(
          'ENGINE_DATASET',
          `${spec.name}: the records of ${f} have no "${field}" and there is no ${labelsFile}`,
          {
            hint: `give each record a "${field}", or put the labels file (one label a line) beside the data file`,
          },
        );
      }
      const labels = readFileSync(labelsFile, 'utf8')
        .split(/\r?\n/)
        .filter((l) => l.trim() !== '');
      if (labels.length !== rows.length) {
        throw new NelError(
          'ENGINE_DATASET',
          `${spec.name}: ${labelsFile} has ${labels.length} labels for ${rows.length} records in ${f}`,
          {
            hint: 'the labels file must have one line per record, in the same order',
          },
        );
      }
      rows.forEach((r, i) => (r[field] ??= labels[i]!.trim()));
    }
    for (const r of rows) records.push(r);
  }
  const total = limitedCount(records.length, ctx.params.limit_samples);
  const idOf = spec.idOf ?? ((_r: DatasetRecord, i: number) => String(i));
  const samples: BenchmarkSample[] = [];
  for (let i = 0; i < total; i++) {
    const sample = { id: idOf(records[i]!, i), index: i, data: records[i]! };
    items.set(sample, spec.toItem(sample));
    samples.push(sample);
  }
  return { total, samples: () => samples };
}

/** A benchmark scored from the log-likelihoods of its choices. */
export function defineLoglikelihoodBenchmark(spec: LoglikelihoodSpec): Benchmark {
  const metrics: MetricSpec[] = spec.metrics.map((m) => ({ metric: m.name, score: m.name }));
  const headline = spec.headline ?? spec.metrics[0]!.name;
  return {
    name: spec.name,
    description: spec.description,
    supportedEndpointTypes: ['completions'],
    dataset: spec.source,
    defaults: { temperature: 0, extra: { batch_size: 1 } },
    metrics,
    headline: { metric: headline, score: headline },
    mirrors: spec.mirrors,

    async prepare(ctx) {
      if (ctx.endpointType !== 'completions') {
        throw new NelError(
          'ENGINE_CONFIG',
          `${spec.name} needs a completions endpoint with prompt log-probabilities (got ${ctx.endpointType})`,
          {
            hint: 'set target.api_endpoint.type to completions and point the URL at /v1/completions',
          },
        );
      }
      const batchSize = positiveInt(ctx.extra, 'batch_size', 1);
      const logprobs = positiveInt(ctx.extra, 'logprobs', 1);
      const maxLength = ctx.extra.max_length == null ? undefined : positiveInt(ctx.extra, 'max_length', 1);
      const fewshot = Number(ctx.extra.num_fewshot ?? 0);
      if (fewshot > 0) {
        ctx.log(
          `${spec.name}: extra.num_fewshot ${fewshot} is not supported by the built-in engine; evaluating 0-shot`,
        );
      }
      // each sample's pairs are built once (requests, scoring and the reference endpoint all read them)
      const items = new WeakMap<BenchmarkSample, LoglikelihoodItem>();
      const samples = await openItems(spec, ctx, items);
      const tokenizer = await loadPairTokenizer({
        extra: ctx.extra,
        env: ctx.env,
        modelId: ctx.modelId,
        signal: ctx.signal,
        log: ctx.log,
      });
      if (tokenizer) ctx.log(`${spec.name}: client-side tokenizer ${tokenizer.name}`);
      const itemOf = (sample: BenchmarkSample): LoglikelihoodItem => {
        let item = items.get(sample);
        if (!item) items.set(sample, (item = spec.toItem(sample)));
        return item;
      };
      const score = (sample: BenchmarkSample, results: LoglikelihoodResult[]): SampleScore => {
        const item = itemOf(sample);
        const lls = results.map((r) => r.loglikelihood);
        const pred = argmax(lls);
        const normTexts = item.normTexts ?? item.pairs.map((p) => p.continuation);
        const normed = lls.map((ll, i) => ll / Math.max(1, normTexts[i]!.length));
        const predNorm = argmax(normed);
        const scores: Record<string, number> = {};
        for (const m of spec.metrics) {
          if (m.kind === 'acc') scores[m.name] = pred === item.gold ? 1 : 0;
          else if (m.kind === 'acc_norm') scores[m.name] = predNorm === item.gold ? 1 : 0;
          else
            scores[m.name] = mc2Score(
              lls,
              item.labels ?? item.pairs.map((_p, i) => (i === item.gold ? 1 : 0)),
            );
        }
        return {
          sampleId: sample.id,
          scores,
          extracted: [String(pred)],
          target: item.target ?? item.gold,
          details: {
            loglikelihoods: lls,
            is_greedy: results.map((r) => r.isGreedy),
            continuation_tokens: results.map((r) => r.tokens),
            pred,
            pred_norm: predNorm,
          },
        };
      };
      return {
        samples,
        buildRequest: (sample) => {
          const first = itemOf(sample).pairs[0]!;
          return { prompt: first.context + first.continuation };
        },
        async score() {
          throw new Error(`${spec.name} is scored from log-likelihoods`);
        },
        aggregate: (scores) =>
          buildEvaluationResult(
            spec.name,
            spec.metrics.map((m) => ({
              metric: m.name,
              score: m.name,
              values: scores.map((s) => s.scores[m.name] ?? 0),
            })),
          ),
        referenceResponse: () => '',
        loglikelihood: {
          pairs: (sample) => itemOf(sample).pairs,
          encode: (pair) => encodePair(pair, tokenizer, maxLength),
          batchSize,
          logprobs,
          score,
          referenceChoice(sample, correct) {
            const item = itemOf(sample);
            return correct ? item.gold : (item.gold + 1) % item.pairs.length;
          },
        },
      };
    },
  };
}
