/**
 * The built-in benchmarks (harness `builtin`), one registration line each. Adding a benchmark: one file
 * beside these that exports a Benchmark (see types.ts; common.ts, multiple-choice.ts and custom.ts's
 * defineDataBenchmark do most of the work), plus one line here.
 */
import { aime24, aime25 } from './aime.js';
import { custom } from './custom.js';
import { gpqaDiamond } from './gpqa-diamond.js';
import { gsm8k } from './gsm8k.js';
import { humaneval } from './humaneval.js';
import { ifeval } from './ifeval/index.js';
import {
  arcChallenge,
  hellaswag,
  piqa,
  truthfulqaMc1,
  truthfulqaMc2,
  winogrande,
} from './loglikelihood/tasks.js';
import { math500 } from './math500.js';
import { mbpp } from './mbpp.js';
import { mgsm } from './mgsm.js';
import { mmlu } from './mmlu.js';
import { mmluPro } from './mmlu-pro.js';
import { registerBenchmark } from './registry.js';

registerBenchmark(gsm8k);
registerBenchmark(humaneval);
registerBenchmark(mmlu);
registerBenchmark(mmluPro);
registerBenchmark(gpqaDiamond);
registerBenchmark(math500);
registerBenchmark(aime24);
registerBenchmark(aime25);
registerBenchmark(mgsm);
registerBenchmark(ifeval);
registerBenchmark(mbpp);
registerBenchmark(arcChallenge);
registerBenchmark(hellaswag);
registerBenchmark(piqa);
registerBenchmark(winogrande);
registerBenchmark(truthfulqaMc1);
registerBenchmark(truthfulqaMc2);
registerBenchmark(custom);

export { builtinResolver, getBenchmark, listBenchmarks, registerBenchmark } from './registry.js';
export { defineDataBenchmark, type DataBenchmarkDefinition } from './custom.js';
export type {
  Benchmark,
  BenchmarkContext,
  BenchmarkRun,
  BenchmarkSample,
  MetricSpec,
  SampleScore,
} from './types.js';
