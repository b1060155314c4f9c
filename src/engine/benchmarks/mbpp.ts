/**
 * MBPP (Austin et al. 2021) as bigcode-evaluation-harness's `mbpp` task: the description and the first
 * test in a docstring as the prompt, the completion cut at bigcode's stop sequences (chat: the reply's
 * fenced code block), the code run with the task's tests, pass@k with the unbiased estimator.
 */
import { NelError } from '../../common/errors.js';
import type { DatasetRecord } from '../datasets/types.js';
import { extractCodeBlock } from '../scoring/extraction.js';
import { passAtKValues } from '../scoring/pass-at-k.js';
import { buildEvaluationResult } from '../scoring/results.js';
import type { EndpointType } from '../types.js';
import { assertCodeExecutionAllowed, scoreByExecution } from './code-execution.js';
import { samplesPerPrompt, stringField, textRequest } from './common.js';
import type { Benchmark, BenchmarkContext, BenchmarkSample, SampleStream } from './types.js';

const SOURCE = {
  repo: 'google-research-datasets/mbpp',
  config: 'full',
  split: 'test',
  localFileNames: ['mbpp.jsonl'],
};

/** The authors' test split: task ids 11..510 of the full data set (1..10 few-shot, 511..600 validation, 601..974 train). */
export const MBPP_TEST_IDS = { first: 11, last: 510 } as const;

/** bigcode's stop sequences for mbpp (a new top-level statement or a closing docstring ends the code). */
export const MBPP_STOP = ['\nclass', '\nassert', '\n"""', '\nprint', '\nif', '\n<|/', '\n```'];

export const MBPP_INSTRUCTION =
  'Write a Python function for the task described below. The test after the description shows the ' +
  "function's name and how it is called; your function must pass it. Respond with the complete code in " +
  'one ```python code block.';

/** The bigcode (InCoder-style) prompt: a docstring holding the description and the first test. */
export function mbppPrompt(sample: BenchmarkSample): string {
  return `"""\n${stringField(sample, 'text', 'mbpp')}\n${testsOf(sample)[0]}\n"""\n`;
}

/** A completion up to the first of the stop sequences (servers may ignore `stop`). */
export function cutAtStop(completion: string, stops: readonly string[] = MBPP_STOP): string {
  let end = completion.length;
  for (const s of stops) {
    const i = completion.indexOf(s);
    if (i >= 0 && i < end) end = i;
  }
  return completion.slice(0, end);
}

function testsOf(sample: BenchmarkSample): string[] {
  return sample.data.test_list as string[];
}

/**
 * The Python program for one reply, as bigcode builds it: the code (completions: prompt + completion
 * cut at the stop sequences; chat: the reply's fenced block), a newline, then the tests (`test_list`)
 * joined by newlines. `test_setup_code` goes between them only when asked: bigcode leaves it out.
 */
export function mbppProgram(
  sample: BenchmarkSample,
  reply: string,
  endpointType: EndpointType,
  withSetupCode = false,
): string {
  const code = endpointType === 'chat' ? extractCodeBlock(reply) : mbppPrompt(sample) + cutAtStop(reply);
  const setup = withSetupCode ? setupCodeOf(sample) : '';
  return `${code}\n${setup ? `${setup}\n` : ''}${testsOf(sample).join('\n')}\n`;
}

function setupCodeOf(sample: BenchmarkSample): string {
  const v = sample.data.test_setup_code;
  return typeof v === 'string' ? v : '';
}

function taskIdOf(record: DatasetRecord): number | null {
  const v = record.task_id;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  return Number.isInteger(n) ? n : null;
}

function inTestSplit(id: number | null): boolean {
  return id !== null && id >= MBPP_TEST_IDS.first && id <= MBPP_TEST_IDS.last;
}

/** A record the benchmark can use: text and code strings, a non-empty list of test strings. */
function checkRecord(sample: BenchmarkSample): void {
  const d = sample.data;
  const hint =
    'expected the MBPP layout {task_id, text, code, test_list: ["assert ..."], test_setup_code} ' +
    '(google-research mbpp.jsonl or the hub data set google-research-datasets/mbpp, config full)';
  for (const f of ['text', 'code']) {
    if (typeof d[f] !== 'string') {
      throw new NelError('ENGINE_DATASET', `mbpp: record ${sample.id} has no text field "${f}"`, { hint });
    }
  }
  const tests = d.test_list;
  if (!Array.isArray(tests) || tests.length === 0 || !tests.every((t) => typeof t === 'string')) {
    throw new NelError('ENGINE_DATASET', `mbpp: record ${sample.id} has no list of tests "test_list"`, {
      hint,
    });
  }
}

/**
 * The samples: the whole file read (MBPP is small), the test split chosen when the file holds more
 * (the authors' mbpp.jsonl has all 974 problems), then limit_samples.
 */
async function openMbppSamples(ctx: BenchmarkContext): Promise<SampleStream> {
  const { limitedCount, openDatasetRecords } = await import('../datasets/index.js');
  limitedCount(0, ctx.params.limit_samples); // a bad limit_samples fails before the data set is read
  const records = Array.from(
    (
      await openDatasetRecords(SOURCE, { extra: ctx.extra, env: ctx.env, signal: ctx.signal, log: ctx.log })
    )(),
  );
  const ids = records.map(taskIdOf);
  const mixed = ids.some(inTestSplit) && ids.some((id) => id !== null && !inTestSplit(id));
  const kept = mixed ? records.filter((_r, i) => inTestSplit(ids[i]!)) : records;
  if (mixed) {
    ctx.log(
      `mbpp: the data set holds ${records.length} problems; using the test split (task_id ${MBPP_TEST_IDS.first}..${MBPP_TEST_IDS.last}, ${kept.length} problems)`,
    );
  }
  const total = limitedCount(kept.length, ctx.params.limit_samples);
  const list: BenchmarkSample[] = kept.slice(0, total).map((data, index) => {
    const id = taskIdOf(data);
    return { id: id === null ? String(index) : String(id), index, data };
  });
  for (const s of list) checkRecord(s);
  return {
    total,
    *samples() {
      yield* list;
    },
  };
}

/** A one-line program equal to `code` (no line starts a stop sequence, so a completion is not cut). */
function asOneLine(code: string): string {
  return `exec(${JSON.stringify(code)})\n`;
}

const METRIC = { metric: 'pass@k', score: 'pass@k' };

export const mbpp: Benchmark = {
  name: 'mbpp',
  description:
    'MBPP basic Python programming problems (google-research-datasets/mbpp full/test, 500 tasks); bigcode prompt, pass@k by executing the tests',
  supportedEndpointTypes: ['chat', 'completions'],
  dataset: SOURCE,
  // bigcode-evaluation-harness's catalogue defaults (mbpp-chat / mbpp-completions) and its 3 s per program.
  defaults: {
    max_new_tokens: 2048,
    temperature: 0.1,
    top_p: 0.95,
    extra: { n_samples: 10, timeout: 3, k: [1, 10, 100] },
  },
  metrics: [METRIC],
  headline: { metric: 'pass@1', score: 'pass@1' },
  mirrors: [
    'bigcode-evaluation-harness.mbpp',
    'bigcode-evaluation-harness.mbpp-chat',
    'bigcode-evaluation-harness.mbpp-completions',
  ],

  async prepare(ctx) {
    assertCodeExecutionAllowed('mbpp', ctx.env, ctx.extra);
    const withSetup = ctx.extra.include_test_setup_code ?? false;
    if (typeof withSetup !== 'boolean') {
      throw new NelError(
        'ENGINE_CONFIG',
        `mbpp: extra.include_test_setup_code must be true or false, got ${JSON.stringify(withSetup)}`,
        {
          hint: "true runs each problem's test_setup_code before its tests; false (the default) leaves it out, as bigcode does",
        },
      );
    }
    const samples = await openMbppSamples(ctx);
    const ks = passAtKValues(ctx.extra.k, samplesPerPrompt(ctx.extra));
    return {
      samples,
      buildRequest(sample) {
        const prompt = mbppPrompt(sample);
        if (ctx.endpointType === 'chat') return textRequest(`${MBPP_INSTRUCTION}\n\n${prompt}`, 'chat');
        return textRequest(prompt, ctx.endpointType, null, { stop: MBPP_STOP });
      },
      async score(sample, responses) {
        // The extractor is the program itself: the reply's code plus the tests.
        const program = (reply: string): string => mbppProgram(sample, reply, ctx.endpointType, withSetup);
        return scoreByExecution('mbpp', ctx, sample, responses, program, testsOf(sample).join('\n'));
      },
      aggregate(scores) {
        const list = ks.map((k) => ({
          metric: `pass@${k}`,
          score: `pass@${k}`,
          values: scores.map((s) => s.scores[`pass@${k}`] ?? 0),
        }));
        return buildEvaluationResult('mbpp', list);
      },
      referenceResponse(sample, correct, endpointType) {
        const name = /^\s*assert\s+(?:not\s+)?\(?\s*([A-Za-z_]\w*)\s*\(/.exec(testsOf(sample)[0] ?? '')?.[1];
        let code: string;
        if (correct) {
          // The canonical code; with the setup code (which some tests need) when the program leaves it out.
          const setup = withSetup ? '' : setupCodeOf(sample);
          code = `${stringField(sample, 'code', 'mbpp')}\n${setup ? `${setup}\n` : ''}`;
          if (endpointType !== 'chat' && cutAtStop(code) !== code) code = asOneLine(code);
        } else {
          code = `def ${name ?? 'solution'}(*args, **kwargs):\n    raise NotImplementedError('wrong answer')\n`;
        }
        if (endpointType !== 'chat') return code;
        return `Here is the solution:\n\n\`\`\`python\n${code}\`\`\`\n`;
      },
    };
  },
};
