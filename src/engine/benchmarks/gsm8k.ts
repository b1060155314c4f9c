import { applyLimitSamples, loadDatasetRecords } from '../datasets/index.js';
import {
  buildEvaluationResult,
  extractLastNumber,
  extractNumberAfterMarker,
  gsm8kGoldAnswer,
  normaliseNumber,
  numbersEqual,
} from '../scoring/index.js';
import type { EndpointType, PreparedRequest } from '../types.js';
import {
  collectSamples,
  fractionTrue,
  hasFields,
  openBenchmarkSamples,
  stringField,
  textRequest,
} from './common.js';
import type { Benchmark, BenchmarkContext, BenchmarkSample } from './types.js';

const SOURCE = { repo: 'openai/gsm8k', config: 'main', split: 'test', localFileNames: ['test.jsonl'] };
const ANSWER_MARKER = /the final answer is/i;
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

/**
 * The model's answer: the number after "The final answer is" (or "####"), else the last number.
 * Completions look for "####" first, like lm-eval's strict match.
 */
export function extractGsm8kAnswer(response: string, endpointType: EndpointType): string | null {
  const hashes = extractNumberAfterMarker(response, /####/);
  const marker = extractNumberAfterMarker(response, ANSWER_MARKER);
  const first = endpointType === 'chat' ? (marker ?? hashes) : (hashes ?? marker);
  return first ?? extractLastNumber(response);
}

const fewshotCache = new Map<string, string>();

/** Deterministic few-shot block: the first `num_fewshot` train examples (extra.fewshot_dataset_path to override). */
async function loadFewshot(ctx: BenchmarkContext): Promise<string> {
  const n = Number(ctx.extra.num_fewshot ?? 0);
  if (!Number.isInteger(n) || n <= 0 || ctx.endpointType === 'chat') return '';
  const extra = { ...ctx.extra, dataset_path: ctx.extra.fewshot_dataset_path ?? undefined };
  const key = JSON.stringify([n, extra.dataset_path ?? null, ctx.env.NEMO_EVALUATOR_DATASET_DIR ?? null]);
  const cached = fewshotCache.get(key);
  if (cached !== undefined) return cached;
  const records = await loadDatasetRecords(
    { ...SOURCE, split: 'train', localFileNames: ['train.jsonl'] },
    { extra, env: ctx.env, signal: ctx.signal, log: ctx.log },
  );
  const block = applyLimitSamples(records, n)
    .map((r) => `Question: ${String(r.question)}\nAnswer: ${String(r.answer)}\n\n`)
    .join('');
  fewshotCache.set(key, block);
  return block;
}

function fewshotFor(ctx: BenchmarkContext): string {
  const n = Number(ctx.extra.num_fewshot ?? 0);
  if (!Number.isInteger(n) || n <= 0 || ctx.endpointType === 'chat') return '';
  const extra = { ...ctx.extra, dataset_path: ctx.extra.fewshot_dataset_path ?? undefined };
  const key = JSON.stringify([n, extra.dataset_path ?? null, ctx.env.NEMO_EVALUATOR_DATASET_DIR ?? null]);
  return fewshotCache.get(key) ?? '';
}

function goldSolutionText(answer: string): string {
  const idx = answer.lastIndexOf('####');
  return (idx >= 0 ? answer.slice(0, idx) : answer).replace(/<<[^>]*>>/g, '').trim();
}

export const gsm8k: Benchmark = {
  name: 'gsm8k',
  description:
    'GSM8K grade-school math word problems (openai/gsm8k main/test, 1,319 items); exact match of the final number',
  supportedEndpointTypes: ['chat', 'completions'],
  defaults: { max_new_tokens: 1024, temperature: 0, top_p: 1, extra: { n_samples: 1, num_fewshot: 0 } },

  async loadSamples(ctx) {
    return collectSamples(await gsm8k.openSamples!(ctx));
  },

  async openSamples(ctx) {
    const stream = await openBenchmarkSamples(SOURCE, ctx, {
      check: hasFields(['question', 'answer'], 'gsm8k'),
    });
    await loadFewshot(ctx);
    return stream;
  },

  buildRequest(sample, ctx) {
    return buildPrompt(sample, ctx.endpointType, fewshotFor(ctx));
  },

  async score(sample, responses, ctx) {
    const target = gsm8kGoldAnswer(stringField(sample, 'answer', 'gsm8k'));
    const extracted = responses.map((r) => extractGsm8kAnswer(r, ctx.endpointType));
    const correct = extracted.map((e) => numbersEqual(e, target));
    return {
      sampleId: sample.id,
      scores: { exact_match: fractionTrue(correct) },
      extracted,
      correct,
      target,
    };
  },

  aggregate(scores) {
    const values = scores.map((s) => s.scores.exact_match ?? 0);
    return buildEvaluationResult('gsm8k', [{ metric: 'exact_match', score: 'exact_match', values }]);
  },

  referenceResponse(sample, correct, endpointType) {
    const answer = stringField(sample, 'answer', 'gsm8k');
    const gold = gsm8kGoldAnswer(answer);
    const value = correct ? gold : wrongNumber(gold);
    const steps = goldSolutionText(answer);
    if (endpointType === 'chat') return `${steps}\nThe final answer is ${value}`;
    return ` ${steps}\n#### ${value}`;
  },
};

function wrongNumber(gold: string): string {
  const n = Number(normaliseNumber(gold));
  return Number.isFinite(n) ? String(n + 1) : `${gold}1`;
}
