/**
 * MATH-500 (the 500-problem test subset of Hendrycks' MATH chosen for PRM800K). Chat: simple-evals'
 * math prompt; completions: the 4-shot Minerva prompt. The final answer (last `\boxed{}`, else the last
 * `Answer:` line) is compared with the gold answer by mathematical equivalence (scoring/math-answer.ts).
 * Results: `exact_match`, plus groups per subject and per level.
 */
import { NelError } from '../../common/errors.js';
import { integerAnswer, mathAnswersEqual, problemAllowsAnyOrder } from '../scoring/math-answer.js';
import { judgeReplies, resolveExtractors, type Scorer } from '../scoring/parts.js';
import type { EndpointType, PreparedRequest } from '../types.js';
import { aggregateRepeats, hasFields, openBenchmarkSamples, stringField, textRequest } from './common.js';
import type { Benchmark, BenchmarkContext, BenchmarkSample, SampleScore } from './types.js';

const SOURCE = { repo: 'HuggingFaceH4/MATH-500', split: 'test', localFileNames: ['test.jsonl'] };

/** simple-evals' math prompt (openai/simple-evals math_eval.py QUERY_TEMPLATE). */
export function mathChatPrompt(problem: string): string {
  return (
    'Solve the following math problem step by step. The last line of your response should be of the form ' +
    'Answer: $ANSWER (without quotes) where $ANSWER is the answer to the problem.\n\n' +
    `${problem}\n\n` +
    'Remember to put your answer on its own line after "Answer:", and you do not need to use a \\boxed command.'
  );
}

/** The four worked examples of the Minerva prompt (Lewkowycz et al. 2022, as lm-evaluation-harness minerva_math). */
const MINERVA_EXAMPLES: readonly { problem: string; solution: string; answer: string }[] = [
  {
    problem: 'Find the domain of the expression  $\\frac{\\sqrt{x-2}}{\\sqrt{5-x}}$.}',
    solution:
      'The expressions inside each square root must be non-negative. Therefore, $x-2 \\ge 0$, so $x\\ge2$, and ' +
      '$5 - x \\ge 0$, so $x \\le 5$. Also, the denominator cannot be equal to zero, so $5-x>0$, which gives $x<5$. ' +
      'Therefore, the domain of the expression is $\\boxed{[2,5)}$.',
    answer: '[2,5)',
  },
  {
    problem:
      'If $\\det \\mathbf{A} = 2$ and $\\det \\mathbf{B} = 12,$ then find $\\det (\\mathbf{A} \\mathbf{B}).$',
    solution:
      'We have that $\\det (\\mathbf{A} \\mathbf{B}) = (\\det \\mathbf{A})(\\det \\mathbf{B}) = (2)(12) = \\boxed{24}.$',
    answer: '24',
  },
  {
    problem:
      'Terrell usually lifts two 20-pound weights 12 times. If he uses two 15-pound weights instead, how many ' +
      'times must Terrell lift them in order to lift the same total weight?',
    solution:
      'If Terrell lifts two 20-pound weights 12 times, he lifts a total of $2\\cdot 12\\cdot20=480$ pounds of ' +
      'weight.  If he lifts two 15-pound weights instead for $n$ times, he will lift a total of $2\\cdot15\\cdot ' +
      'n=30n$ pounds of weight.  Equating this to 480 pounds, we can solve for $n$:\n\\begin{align*}\n30n&=480\\\\\n' +
      '\\Rightarrow\\qquad n&=480/30=\\boxed{16}\n\\end{align*}',
    answer: '16',
  },
  {
    problem:
      'If the system of equations\n\n\\begin{align*}\n6x-4y&=a,\\\\\n6y-9x &=b.\n\\end{align*}has a solution ' +
      '$(x, y)$ where $x$ and $y$ are both nonzero,\nfind $\\frac{a}{b},$ assuming $b$ is nonzero.',
    solution:
      'If we multiply the first equation by $-\\frac{3}{2}$, we obtain\n\n$$6y-9x=-\\frac{3}{2}a.$$Since we also ' +
      'know that $6y-9x=b$, we have\n\n$$-\\frac{3}{2}a=b\\Rightarrow\\frac{a}{b}=\\boxed{-\\frac{2}{3}}.$$',
    answer: '-\\frac{2}{3}',
  },
];

/** Completions stop here (the start of the next problem); replies are cut there too. */
export const MATH_COMPLETION_STOP = ['Problem:'];

/** The Minerva-style completions prompt with the first `shots` worked examples. */
export function mathCompletionPrompt(problem: string, shots: number): string {
  const examples = MINERVA_EXAMPLES.slice(0, shots).map(
    (e) =>
      `Problem:\n${e.problem}\n\nSolution:\n${e.solution}\nFinal Answer: The final answer is $${e.answer}$. I hope it is correct.`,
  );
  return [...examples, `Problem:\n${problem}\n\nSolution:`].join('\n\n');
}

/** A completion up to the first stop sequence (servers may ignore `stop`). */
export function cutAtStop(reply: string): string {
  let end = reply.length;
  for (const s of MATH_COMPLETION_STOP) {
    const i = reply.indexOf(s);
    if (i >= 0 && i < end) end = i;
  }
  return reply.slice(0, end);
}

/** `extra.num_fewshot` for the completions prompt: 0..4, default 4. */
export function fewshotCount(ctx: BenchmarkContext, benchmark: string): number {
  const raw = ctx.extra.num_fewshot ?? 4;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > MINERVA_EXAMPLES.length) {
    throw new NelError(
      'ENGINE_CONFIG',
      `${benchmark}: num_fewshot must be an integer from 0 to ${MINERVA_EXAMPLES.length}, got ${JSON.stringify(raw)}`,
      { hint: 'the completions prompt has up to 4 worked examples (the Minerva prompt); chat ignores it' },
    );
  }
  return n;
}

/** The request for a math problem: the chat prompt, or the completions prompt with its stop sequence. */
export function mathRequest(problem: string, endpointType: EndpointType, shots: number): PreparedRequest {
  if (endpointType === 'chat') return textRequest(mathChatPrompt(problem), 'chat');
  return textRequest(mathCompletionPrompt(problem, shots), endpointType, null, {
    stop: MATH_COMPLETION_STOP,
  });
}

/** A reference reply ending in `value`: boxed after a short solution (chat), or Minerva's closing line. */
export function mathReferenceReply(value: string, endpointType: EndpointType): string {
  const steps = 'Working through the problem step by step and simplifying gives the result.';
  if (endpointType === 'chat') return `${steps}\n\nAnswer: $\\boxed{${value}}$`;
  return ` ${steps}\nFinal Answer: The final answer is $${value}$. I hope it is correct.`;
}

/** An answer that is not the gold one: the next integer, the gold plus one, else a text answer. */
export function wrongMathAnswer(gold: string, equal: (a: string, b: string) => boolean): string {
  const n = integerAnswer(gold);
  const candidates = [
    ...(n !== null ? [String(n + 1)] : []),
    `(${gold})+1`,
    '\\text{no solution}',
    '\\text{none of these}',
  ];
  return candidates.find((c) => !equal(c, gold)) ?? '\\text{none of these}';
}

const METRIC = { metric: 'exact_match', score: 'exact_match', groups: 'subject and level' };
const NAME = 'math500';

function goldOf(sample: BenchmarkSample): string {
  return stringField(sample, 'answer', NAME);
}

export const math500: Benchmark = {
  name: NAME,
  description:
    'MATH-500 competition math (HuggingFaceH4/MATH-500 test, 500 problems); final answer (boxed or Answer:) judged by mathematical equivalence',
  supportedEndpointTypes: ['chat', 'completions'],
  dataset: SOURCE,
  defaults: { max_new_tokens: 16384, temperature: 0, top_p: 1e-5, extra: { n_samples: 1 } },
  metrics: [METRIC],
  headline: { metric: METRIC.metric, score: METRIC.score },
  // simple-evals' prompt and Answer: extraction; its grader model's equivalence judgement is replaced by
  // the rule-based math_equivalent scorer (docs/benchmarks.md says where the two can differ)
  mirrors: ['simple_evals.math_test_500'],

  async prepare(ctx) {
    const shots = fewshotCount(ctx, NAME);
    const extract = resolveExtractors(['math_answer'], NAME);
    const samples = await openBenchmarkSamples(SOURCE, ctx, {
      idOf: (r, i) => (typeof r.unique_id === 'string' ? r.unique_id : String(i)),
      check: hasFields(['problem', 'answer'], NAME),
    });
    return {
      samples,
      buildRequest: (sample) => mathRequest(stringField(sample, 'problem', NAME), ctx.endpointType, shots),
      async score(sample, responses): Promise<SampleScore> {
        const gold = goldOf(sample);
        const unorderedLists = problemAllowsAnyOrder(stringField(sample, 'problem', NAME));
        const scorer: Scorer = (e, target) => ({ correct: mathAnswersEqual(e, target, { unorderedLists }) });
        const replies = ctx.endpointType === 'chat' ? responses : responses.map(cutAtStop);
        const judged = await judgeReplies(
          replies,
          gold,
          { extract, score: scorer },
          { endpointType: ctx.endpointType, index: sample.index, task: NAME },
        );
        const groups: Record<string, string> = {};
        if (sample.data.subject !== undefined && sample.data.subject !== null)
          groups.subject = String(sample.data.subject);
        if (sample.data.level !== undefined && sample.data.level !== null)
          groups.level = String(sample.data.level);
        return {
          sampleId: sample.id,
          scores: { exact_match: judged.correct.filter(Boolean).length / Math.max(1, judged.correct.length) },
          extracted: judged.extracted,
          correct: judged.correct,
          target: gold,
          groups,
        };
      },
      aggregate: (scores) => aggregateRepeats(NAME, METRIC, 'exact_match', scores),
      referenceResponse(sample, correct, endpointType) {
        const gold = goldOf(sample);
        const value = correct ? gold : wrongMathAnswer(gold, (a, b) => mathAnswersEqual(a, b));
        return mathReferenceReply(value, endpointType);
      },
    };
  },
};
