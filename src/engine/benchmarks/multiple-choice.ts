/** simple-evals style multiple-choice benchmarks (MMLU, MMLU-Pro, GPQA): shared prompt, extraction, scoring. */
import type { DatasetSource } from '../datasets/index.js';
import {
  buildEvaluationResult,
  extractAnswerLetter,
  optionLetters,
  type MetricValues,
} from '../scoring/index.js';
import type { EngineParams } from '../types.js';
import { collectSamples, fractionTrue, openBenchmarkSamples, textRequest } from './common.js';
import type { Benchmark, BenchmarkContext, BenchmarkSample, SampleScore, SampleStream } from './types.js';

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
  defaults?: EngineParams;
}

/** Build a Benchmark from a record -> question mapping. Metric `score`/`micro`, per-category sub-groups. */
export function defineMultipleChoiceBenchmark(spec: MultipleChoiceSpec): Benchmark {
  const open = (ctx: BenchmarkContext): Promise<SampleStream> =>
    // the check fails on a wrong layout before any request
    openBenchmarkSamples(spec.source, ctx, { idOf: spec.idOf, check: (s) => void spec.toItem(s) });
  return {
    name: spec.name,
    description: spec.description,
    supportedEndpointTypes: ['chat', 'completions'],
    defaults: spec.defaults ?? { max_new_tokens: 4096, temperature: 0, top_p: 1, extra: { n_samples: 1 } },

    async loadSamples(ctx) {
      return collectSamples(await open(ctx));
    },

    openSamples: open,

    buildRequest(sample, ctx) {
      return textRequest(multipleChoicePrompt(spec.toItem(sample)), ctx.endpointType);
    },

    async score(sample, responses) {
      const item = spec.toItem(sample);
      const letters = optionLetters(item.options.length);
      const gold = letters[item.goldIndex];
      const extracted = responses.map((r) => extractAnswerLetter(r, letters));
      const correct = extracted.map((e) => e === gold);
      const result: SampleScore = {
        sampleId: sample.id,
        scores: { score: fractionTrue(correct) },
        extracted,
        correct,
        target: gold,
      };
      if (item.category) result.category = item.category;
      return result;
    },

    aggregate(scores) {
      const values = scores.map((s) => s.scores.score ?? 0);
      const byCategory: Record<string, MetricValues[]> = {};
      for (const s of scores) {
        const category = s.category;
        if (!category) continue;
        byCategory[category] ??= [{ metric: 'score', score: 'micro', values: [] }];
        byCategory[category][0].values.push(s.scores.score ?? 0);
      }
      return buildEvaluationResult(spec.name, [{ metric: 'score', score: 'micro', values }], byCategory);
    },

    referenceResponse(sample, correct) {
      const item = spec.toItem(sample);
      const letters = optionLetters(item.options.length);
      const index = correct ? item.goldIndex : (item.goldIndex + 1) % item.options.length;
      return `Comparing the options, ${letters[index]} is the best supported.\nAnswer: ${letters[index]}`;
    },
  };
}
