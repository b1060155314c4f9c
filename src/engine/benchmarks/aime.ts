/**
 * AIME 2024 and AIME 2025 (30 problems each, integer answers 0..999). The prompts are MATH-500's
 * (simple-evals' math prompt for chat, the Minerva prompt for completions); the integer after the last
 * `\boxed{}` (else the last `Answer:` line) must equal the gold answer ("033" = 33). Upstream runs them with
 * several responses per problem (`n_samples`): `exact_match` is their mean, and `stats` give the spread of
 * the repeat-level scores (see aggregateRepeats).
 */
import { NelError } from '../../common/errors.js';
import type { DatasetSource } from '../datasets/types.js';
import { integerAnswer } from '../scoring/math-answer.js';
import { judgeReplies, resolveExtractors, resolveScorer } from '../scoring/parts.js';
import { aggregateRepeats, openBenchmarkSamples, stringField } from './common.js';
import { cutAtStop, fewshotCount, mathReferenceReply, mathRequest } from './math500.js';
import type { Benchmark, BenchmarkSample, SampleScore } from './types.js';

/** The gold answer field: `answer` (HuggingFaceH4/aime_2024, math-ai/aime25) or `expected_answer` (NeMo-Skills). */
const ANSWER_FIELDS = ['answer', 'expected_answer'] as const;

function goldInteger(sample: BenchmarkSample, name: string): number {
  const field = ANSWER_FIELDS.find((f) => sample.data[f] !== undefined && sample.data[f] !== null);
  if (!field) {
    throw new NelError('ENGINE_DATASET', `${name}: record ${sample.index} has no "answer" field`, {
      hint: `expected {problem, answer} (or expected_answer); fields found: ${Object.keys(sample.data).slice(0, 8).join(', ') || 'none'}`,
    });
  }
  const value = integerAnswer(String(sample.data[field]));
  if (value === null || value < 0 || value > 999) {
    throw new NelError(
      'ENGINE_DATASET',
      `${name}: record ${sample.index}: ${field} ${JSON.stringify(sample.data[field])} is not an integer from 0 to 999`,
      { hint: 'AIME answers are integers 0..999; check that the file is an AIME data set' },
    );
  }
  return value;
}

function checkRecord(sample: BenchmarkSample, name: string): void {
  stringField(sample, 'problem', name);
  goldInteger(sample, name);
}

interface AimeSpec {
  name: string;
  year: number;
  source: DatasetSource;
  nSamples: number;
  mirrors: string[];
}

const METRIC = { metric: 'exact_match', score: 'exact_match' };

function defineAime(spec: AimeSpec): Benchmark {
  const { name } = spec;
  return {
    name,
    description: `AIME ${spec.year} I and II (${spec.source.repo} ${spec.source.split}, 30 problems); integer answer (boxed or Answer:), exact_match averaged over n_samples repeats`,
    supportedEndpointTypes: ['chat', 'completions'],
    dataset: spec.source,
    defaults: { max_new_tokens: 16384, temperature: 0, top_p: 1e-5, extra: { n_samples: spec.nSamples } },
    metrics: [METRIC],
    headline: METRIC,
    mirrors: spec.mirrors,

    async prepare(ctx) {
      const shots = fewshotCount(ctx, name);
      const parts = {
        extract: resolveExtractors(['math_answer'], name),
        score: resolveScorer('integer', name),
      };
      const samples = await openBenchmarkSamples(spec.source, ctx, {
        idOf: (r, i) => (r.id !== undefined && r.id !== null ? String(r.id) : String(i)),
        check: (s) => checkRecord(s, name),
      });
      return {
        samples,
        buildRequest: (sample) => mathRequest(stringField(sample, 'problem', name), ctx.endpointType, shots),
        async score(sample, responses): Promise<SampleScore> {
          const gold = String(goldInteger(sample, name));
          const replies = ctx.endpointType === 'chat' ? responses : responses.map(cutAtStop);
          const judged = await judgeReplies(replies, gold, parts, {
            endpointType: ctx.endpointType,
            index: sample.index,
            task: name,
          });
          return {
            sampleId: sample.id,
            scores: {
              exact_match: judged.correct.filter(Boolean).length / Math.max(1, judged.correct.length),
            },
            extracted: judged.extracted,
            correct: judged.correct,
            target: gold,
          };
        },
        aggregate: (scores) => aggregateRepeats(name, METRIC, 'exact_match', scores),
        referenceResponse(sample, correct, endpointType) {
          const gold = goldInteger(sample, name);
          // a wrong answer stays in 0..999; the gold one is written with AIME's leading zeros
          const value = correct ? String(gold).padStart(3, '0') : String((gold + 1) % 1000);
          return mathReferenceReply(value, endpointType);
        },
      };
    },
  };
}

export const aime24 = defineAime({
  name: 'aime24',
  year: 2024,
  source: { repo: 'HuggingFaceH4/aime_2024', split: 'train', localFileNames: ['test.jsonl'] },
  nSamples: 1,
  mirrors: ['simple_evals.AIME_2024'],
});

export const aime25 = defineAime({
  name: 'aime25',
  year: 2025,
  source: { repo: 'math-ai/aime25', split: 'test', localFileNames: ['test.jsonl'] },
  nSamples: 10,
  mirrors: ['simple_evals.AIME_2025'],
});
