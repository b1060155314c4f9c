import { extractCodeBlock } from '../scoring/extraction.js';
import { passAtKValues } from '../scoring/pass-at-k.js';
import { buildEvaluationResult } from '../scoring/results.js';
import type { EndpointType } from '../types.js';
import { assertCodeExecutionAllowed, scoreByExecution } from './code-execution.js';
import { hasFields, openBenchmarkSamples, samplesPerPrompt, stringField, textRequest } from './common.js';
import type { Benchmark, BenchmarkSample } from './types.js';

const SOURCE = {
  repo: 'openai/openai_humaneval',
  config: 'openai_humaneval',
  split: 'test',
  localFileNames: ['HumanEval.jsonl', 'human-eval.jsonl'],
};
/** bigcode-style stop sequences for completions (a new top-level statement ends the function). */
export const HUMANEVAL_STOP = ['\nclass', '\ndef', '\n#', '\n@', '\nprint', '\nif', '\n```'];
export const HUMANEVAL_INSTRUCTION =
  'Read the following function signature and docstring, and fully implement the function described. ' +
  'Your response should only contain the code for this function.';

/** Cut a completion at the first stop sequence (servers may ignore `stop`). */
export function truncateAtStop(completion: string): string {
  let end = completion.length;
  for (const s of HUMANEVAL_STOP) {
    const i = completion.indexOf(s);
    if (i >= 0 && i < end) end = i;
  }
  return completion.slice(0, end);
}

/** The Python program for one response: the function + the task's tests + `check(entry_point)`. */
export function humanevalProgram(
  sample: BenchmarkSample,
  response: string,
  endpointType: EndpointType,
): string {
  const prompt = stringField(sample, 'prompt', 'humaneval');
  const test = stringField(sample, 'test', 'humaneval');
  const entryPoint = stringField(sample, 'entry_point', 'humaneval');
  let solution: string;
  if (endpointType === 'chat') {
    const code = extractCodeBlock(response);
    const definesEntry = new RegExp(`^\\s*def\\s+${entryPoint}\\s*\\(`, 'm').test(code);
    // A full function redefines the prompt's (docstring-only) one; a bare body is appended to the prompt.
    solution = definesEntry ? `${prompt}\n    pass\n\n${code}` : prompt + indentBody(code);
  } else {
    solution = prompt + truncateAtStop(response);
  }
  return `${solution}\n\n${test}\n\ncheck(${entryPoint})\n`;
}

function indentBody(code: string): string {
  const lines = code.replace(/^\n+/, '').split('\n');
  const indented = lines.some((l) => /^\s+\S/.test(l)) && /^\s/.test(lines[0] ?? '');
  return indented ? lines.join('\n') : lines.map((l) => (l.trim() === '' ? l : `    ${l}`)).join('\n');
}

const METRIC = { metric: 'pass@k', score: 'pass@k' };

export const humaneval: Benchmark = {
  name: 'humaneval',
  description:
    'HumanEval Python code generation (openai/openai_humaneval, 164 tasks); pass@k by executing the tests',
  supportedEndpointTypes: ['completions', 'chat'],
  dataset: SOURCE,
  defaults: { max_new_tokens: 1024, temperature: 0, top_p: 1, extra: { n_samples: 1, timeout: 10, k: [1] } },
  metrics: [METRIC],
  headline: { metric: 'pass@1', score: 'pass@1' },
  // chat: simple-evals' instruction and fenced-block extraction; completions: bigcode's stop sequences
  mirrors: ['simple_evals.humaneval', 'bigcode-evaluation-harness.humaneval'],

  async prepare(ctx) {
    assertCodeExecutionAllowed('humaneval', ctx.env, ctx.extra);
    const samples = await openBenchmarkSamples(SOURCE, ctx, {
      idOf: (r, i) => (typeof r.task_id === 'string' ? r.task_id : `HumanEval/${i}`),
      check: hasFields(['prompt', 'test', 'entry_point'], 'humaneval'),
    });
    const ks = passAtKValues(ctx.extra.k, samplesPerPrompt(ctx.extra));
    return {
      samples,
      buildRequest(sample) {
        const prompt = stringField(sample, 'prompt', 'humaneval');
        if (ctx.endpointType === 'chat') return textRequest(`${HUMANEVAL_INSTRUCTION}\n\n${prompt}`, 'chat');
        return textRequest(prompt, ctx.endpointType, null, { stop: HUMANEVAL_STOP });
      },
      async score(sample, responses) {
        // The extractor of this benchmark is the program itself: the reply's function plus the tests.
        const program = (reply: string): string => humanevalProgram(sample, reply, ctx.endpointType);
        return scoreByExecution(
          'humaneval',
          ctx,
          sample,
          responses,
          program,
          stringField(sample, 'entry_point', 'humaneval'),
        );
      },
      aggregate(scores) {
        const list = ks.map((k) => ({
          metric: `pass@${k}`,
          score: `pass@${k}`,
          values: scores.map((s) => s.scores[`pass@${k}`] ?? 0),
        }));
        return buildEvaluationResult('humaneval', list);
      },
      referenceResponse(sample, correct, endpointType) {
        const body = correct
          ? stringField(sample, 'canonical_solution', 'humaneval')
          : '    import os\n    os._exit(3)\n';
        if (endpointType !== 'chat') return body;
        return `Here is the implementation:\n\n\`\`\`python\n${stringField(sample, 'prompt', 'humaneval')}${body}\`\`\`\n`;
      },
    };
  },
};
