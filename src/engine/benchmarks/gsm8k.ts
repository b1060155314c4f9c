import { gsm8kGoldAnswer, normaliseNumber } from '../scoring/extraction.js';
import { judgeReplies, resolveExtractors, resolveScorer } from '../scoring/parts.js';
import type { EndpointType, PreparedRequest } from '../types.js';
import {
  aggregateMetric,
  fractionScore,
  hasFields,
  openBenchmarkSamples,
  stringField,
  textRequest,
} from './common.js';
import type { Benchmark, BenchmarkContext, BenchmarkSample } from './types.js';

const SOURCE = { repo: 'openai/gsm8k', config: 'main', split: 'test', localFileNames: ['test.jsonl'] };
const STOP_SEQUENCES = ['Question:', '</s>', '<|im_end|>'];

export const GSM8K_INSTRUCTION =
  'Solve the following math problem step by step. The last line of your response should be of the form ' +
  '"The final answer is <number>" where <number> is the final numerical answer, without units.';

/** Chat (0-shot, instruction + question) or completions (`Question: ...\nAnswer:` with optional few-shot). */
function buildPrompt(sample: BenchmarkSample, endpointType: EndpointType, fewshot: string): PreparedRequest {
  const question = stringField(sample, 'question', 'gsm8k');
  if (endpointType === 'chat') return textRequest(`${GSM8K_INSTRUCTION}\n\n${question}`, 'chat');
  return textRequest(`${fewshot}Question: ${question}\nAnswer:`, endpointType, null, {
    stop: STOP_SEQUENCES,
  });
}

/** Deterministic few-shot block: the first `num_fewshot` train examples (extra.fewshot_dataset_path to override). */
async function loadFewshot(ctx: BenchmarkContext): Promise<string> {
  const n = Number(ctx.extra.num_fewshot ?? 0);
  if (!Number.isInteger(n) || n <= 0 || ctx.endpointType === 'chat') return '';
  const extra = { ...ctx.extra, dataset_path: ctx.extra.fewshot_dataset_path ?? undefined };
  const { applyLimitSamples, loadDatasetRecords } = await import('../datasets/index.js');
  const records = await loadDatasetRecords(
    { ...SOURCE, split: 'train', localFileNames: ['train.jsonl'] },
    { extra, env: ctx.env, signal: ctx.signal, log: ctx.log },
  );
  return applyLimitSamples(records, n)
    .map((r) => `Question: ${String(r.question)}\nAnswer: ${String(r.answer)}\n\n`)
    .join('');
}

function goldSolutionText(answer: string): string {
  const idx = answer.lastIndexOf('####');
  return (idx >= 0 ? answer.slice(0, idx) : answer).replace(/<<[^>]*>>/g, '').trim();
}

const METRIC = { metric: 'exact_match', score: 'exact_match' };
const EXTRACTOR = 'final_answer_number';

export const gsm8k: Benchmark = {
  name: 'gsm8k',
  description:
    'GSM8K grade-school math word problems (openai/gsm8k main/test, 1,319 items); exact match of the final number',
  supportedEndpointTypes: ['chat', 'completions'],
  dataset: SOURCE,
  defaults: { max_new_tokens: 1024, temperature: 0, top_p: 1, extra: { n_samples: 1, num_fewshot: 0 } },
  metrics: [METRIC],
  headline: METRIC,
  mirrors: ['lm-evaluation-harness.gsm8k'],

  async prepare(ctx) {
    const parts = {
      extract: resolveExtractors([EXTRACTOR], 'gsm8k'),
      score: resolveScorer('number', 'gsm8k'),
    };
    const samples = await openBenchmarkSamples(SOURCE, ctx, {
      check: hasFields(['question', 'answer'], 'gsm8k'),
    });
    const fewshot = await loadFewshot(ctx);
    return {
      samples,
      buildRequest: (sample) => buildPrompt(sample, ctx.endpointType, fewshot),
      async score(sample, responses) {
        const target = gsm8kGoldAnswer(stringField(sample, 'answer', 'gsm8k'));
        const judged = await judgeReplies(responses, target, parts, {
          endpointType: ctx.endpointType,
          index: sample.index,
        });
        return fractionScore(sample, judged, METRIC.metric, target);
      },
      aggregate: (scores) => aggregateMetric('gsm8k', METRIC, METRIC.metric, scores),
      referenceResponse(sample, correct, endpointType) {
        const answer = stringField(sample, 'answer', 'gsm8k');
        const gold = gsm8kGoldAnswer(answer);
        const value = correct ? gold : wrongNumber(gold);
        const steps = goldSolutionText(answer);
        if (endpointType === 'chat') return `${steps}\nThe final answer is ${value}`;
        return ` ${steps}\n#### ${value}`;
      },
    };
  },
};

function wrongNumber(gold: string): string {
  const n = Number(normaliseNumber(gold));
  return Number.isFinite(n) ? String(n + 1) : `${gold}1`;
}
