/** Test helpers over Benchmark.prepare: a run's samples as a list, a context with the usual defaults. */
import type { Benchmark, BenchmarkContext, BenchmarkSample } from '../../src/engine/benchmarks/types.js';

/** The samples one run of `benchmark` opens (the same checks as a real run, before any request). */
export async function runSamples(benchmark: Benchmark, ctx: BenchmarkContext): Promise<BenchmarkSample[]> {
  return Array.from((await benchmark.prepare(ctx)).samples.samples());
}

/** A run context: `extra`, chat, no environment, a silent log; `params` and the rest may be overridden. */
export function benchmarkContext(
  extra: Record<string, unknown>,
  more: Partial<BenchmarkContext> = {},
): BenchmarkContext {
  return {
    params: {},
    extra,
    endpointType: 'chat',
    outputDir: process.cwd(),
    env: {},
    log: () => undefined,
    signal: new AbortController().signal,
    ...more,
  };
}
