/** simple-evals style multiple-choice benchmarks (MMLU, MMLU-Pro, GPQA): shared prompt, extraction, scoring. */
import type { DatasetSource } from '../datasets/types.js';
import { optionLetters } from '../scoring/extraction.js';
import { judgeReplies, resolveExtractors, resolveScorer } from '../scoring/parts.js';
import type { EndpointType, EngineParams, PreparedRequest } from '../types.js';
import { aggregateMetric, fractionScore, openBenchmarkSamples, textRequest } from './common.js';
import type { Benchmark, BenchmarkSample } from './types.js';

/** One question in a normalised form. */
export interface MultipleChoiceItem {
  question: string;
  options: string[];
  /** 0-based index of the correct option. */
  goldIndex: number;
  /** Subject/category for per-category groups (optional). */
  category?: string;
}

/** simple-evals QUERY_TEMPLATE_MULTICHOICE, generalised to up to 10 options. */
export function multipleChoicePrompt(item: MultipleChoiceItem): string {
  const letters = optionLetters(item.options.length);
  const optionLines = item.options.map((o, i) => `${letters[i]}) ${o}`).join('\n');
  return (
    `Answer the following multiple choice question. The last line of your response should be of the following ` +
    `format: 'Answer: $LETTER' (without quotes) where LETTER is one of ${letters}. Think step by step before answering.\n\n` +
    `${item.question}\n\n${optionLines}`
  );
}

export interface MultipleChoiceSpec {
  name: string;
  description: string;
  source: DatasetSource;
  idOf?: (record: Record<string, unknown>, index: number) => string;
  /** Convert a record (upstream layout) into a question; throw NelError for a wrong layout. */
  toItem: (sample: BenchmarkSample) => MultipleChoiceItem;
  /** What the per-category groups are (e.g. `subject`). */
  categories: string;
  defaults?: EngineParams;
  /** Upstream tasks this benchmark mirrors (Benchmark.mirrors). */
  mirrors?: string[];
}

const METRIC_KEY = 'score';

/** The request for one question (the simple-evals prompt). */
export function multipleChoiceRequest(
  spec: MultipleChoiceSpec,
  sample: BenchmarkSample,
  endpointType: EndpointType,
): PreparedRequest {
  return textRequest(multipleChoicePrompt(spec.toItem(sample)), endpointType);
}

/**
 * A multiple-choice benchmark from a record -> question mapping: the first `Answer: X` (extractor
 * `answer_letter`) against the gold letter (scorer `multiple_choice`); metric `score`/`micro`, per-category
 * sub-groups.
 */
export function defineMultipleChoiceBenchmark(spec: MultipleChoiceSpec): Benchmark {
  const metric = { metric: 'score', score: 'micro', groups: spec.categories };
  return {
    name: spec.name,
    description: spec.description,
    supportedEndpointTypes: ['chat', 'completions'],
    dataset: spec.source,
    defaults: spec.defaults ?? { max_new_tokens: 4096, temperature: 0, top_p: 1, extra: { n_samples: 1 } },
    metrics: [metric],
    headline: { metric: metric.metric, score: metric.score },
    mirrors: spec.mirrors,

    async prepare(ctx) {
      const parts = {
        extract: resolveExtractors(['answer_letter'], spec.name),
        score: resolveScorer('multiple_choice', spec.name),
      };
      // the check fails on a wrong layout before any request
      const samples = await openBenchmarkSamples(spec.source, ctx, {
        idOf: spec.idOf,
        check: (s) => void spec.toItem(s),
      });
      return {
        samples,
        buildRequest: (sample) => multipleChoiceRequest(spec, sample, ctx.endpointType),
        async score(sample, responses) {
          const item = spec.toItem(sample);
          const gold = optionLetters(item.options.length)[item.goldIndex]!;
          const judged = await judgeReplies(responses, gold, parts, {
            endpointType: ctx.endpointType,
            choices: item.options,
            index: sample.index,
          });
          return fractionScore(sample, judged, METRIC_KEY, gold, item.category);
        },
        aggregate: (scores) => aggregateMetric(spec.name, metric, METRIC_KEY, scores),
        referenceResponse(sample, correct) {
          const item = spec.toItem(sample);
          const letters = optionLetters(item.options.length);
          const index = correct ? item.goldIndex : (item.goldIndex + 1) % item.options.length;
          return `Comparing the options, ${letters[index]} is the best supported.\nAnswer: ${letters[index]}`;
        },
      };
    },
  };
}
