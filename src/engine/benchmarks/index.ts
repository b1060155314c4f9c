/** The built-in benchmarks (harness `builtin`). */
import { custom } from './custom.js';
import { gpqaDiamond } from './gpqa-diamond.js';
import { gsm8k } from './gsm8k.js';
import { humaneval } from './humaneval.js';
import { mmlu } from './mmlu.js';
import { mmluPro } from './mmlu-pro.js';
import type { Benchmark } from './types.js';

export type { Benchmark, BenchmarkContext, BenchmarkSample, SampleScore } from './types.js';

const BENCHMARKS: readonly Benchmark[] = [gsm8k, humaneval, mmlu, mmluPro, gpqaDiamond, custom];

/** A benchmark by task name; accepts `gsm8k` and `builtin.gsm8k`. */
export function getBenchmark(name: string): Benchmark | undefined {
  const bare = name.trim().replace(/^builtin\./, '');
  return BENCHMARKS.find((b) => b.name === bare);
}

/** All built-in benchmarks, in catalogue order. */
export function listBenchmarks(): Benchmark[] {
  return [...BENCHMARKS];
}

/** The built-in registry as a resolver (run configs, the engine CLI). */
export function builtinResolver(): { get(name: string): Benchmark | undefined; list(): Benchmark[] } {
  return { get: (n) => getBenchmark(n), list: () => listBenchmarks() };
}
