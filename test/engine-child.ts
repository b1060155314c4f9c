/** Runs the engine CLI in a child process with the test arithmetic benchmark added (engine CLI tests). */
import { main } from '../src/engine/cli.js';
import { listBenchmarks } from '../src/engine/benchmarks/index.js';
import { arithmeticBenchmark } from './engine-fixtures.js';

const size = Number(process.env.ENGINE_TEST_BENCHMARK_SIZE ?? '20');
await main(process.argv, { benchmarks: [...listBenchmarks(), arithmeticBenchmark({ size })] });
