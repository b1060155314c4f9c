import { NelError } from '../../common/errors.js';
import { buildEvaluationResult, extractCodeBlock, passAtK, passAtKValues } from '../scoring/index.js';
import type { EndpointType } from '../types.js';
import { assertCodeExecutionAllowed, runPythonProgram } from './code-execution.js';
import {
  collectSamples,
  hasFields,
  openBenchmarkSamples,
  samplesPerPrompt,
  stringField,
  textRequest,
} from './common.js';
import type { Benchmark, BenchmarkContext, BenchmarkSample } from './types.js';

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

function timeoutSeconds(ctx: BenchmarkContext): number {
  const t = Number(ctx.extra.timeout ?? 10);
  return Number.isFinite(t) && t > 0 ? t : 10;
}

export const humaneval: Benchmark = {
  name: 'humaneval',
  description:
    'HumanEval Python code generation (openai/openai_humaneval, 164 tasks); pass@k by executing the tests',
  supportedEndpointTypes: ['completions', 'chat'],
  defaults: { max_new_tokens: 1024, temperature: 0, top_p: 1, extra: { n_samples: 1, timeout: 10, k: [1] } },

  async loadSamples(ctx) {
    return collectSamples(await humaneval.openSamples!(ctx));
  },

  async openSamples(ctx) {
    assertCodeExecutionAllowed('humaneval', ctx.env, ctx.extra);
    return openBenchmarkSamples(SOURCE, ctx, {
      idOf: (r, i) => (typeof r.task_id === 'string' ? r.task_id : `HumanEval/${i}`),
      check: hasFields(['prompt', 'test', 'entry_point'], 'humaneval'),
    });
  },

  buildRequest(sample, ctx) {
    const prompt = stringField(sample, 'prompt', 'humaneval');
    if (ctx.endpointType === 'chat') return textRequest(`${HUMANEVAL_INSTRUCTION}\n\n${prompt}`, 'chat');
    return textRequest(prompt, ctx.endpointType, null, { stop: HUMANEVAL_STOP });
  },

  async score(sample, responses, ctx) {
    assertCodeExecutionAllowed('humaneval', ctx.env, ctx.extra);
    const runs = await Promise.all(
      responses.map((r) =>
        runPythonProgram(humanevalProgram(sample, r, ctx.endpointType), {
          timeoutSeconds: timeoutSeconds(ctx),
          memoryMb: Number(ctx.extra.memory_limit_mb ?? 2048) || 2048,
          signal: ctx.signal,
          python:
            typeof ctx.extra.python === 'string'
              ? ctx.extra.python
              : (ctx.env.NEMO_EVALUATOR_PYTHON ?? 'python3'),
        }),
      ),
    );
    const missing = runs.find((r) => r.status === 'python3 not found');
    if (missing) {
      throw new NelError(
        'ENGINE_RUN',
        'humaneval needs python3 to run the tests, and python3 was not found on PATH',
        {
          hint: 'install python3, or run in the engine container',
        },
      );
    }
    const correct = runs.map((r) => r.passed);
    const n = responses.length;
    const c = correct.filter(Boolean).length;
    const scores: Record<string, number> = {};
    for (const k of passAtKValues(ctx.extra.k, n)) scores[`pass@${k}`] = passAtK(n, c, k);
    return {
      sampleId: sample.id,
      scores,
      extracted: runs.map((r) => r.status),
      correct,
      target: stringField(sample, 'entry_point', 'humaneval'),
    };
  },

  aggregate(scores, ctx) {
    const n = samplesPerPrompt(ctx.extra);
    const ks = passAtKValues(ctx.extra.k, n);
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
