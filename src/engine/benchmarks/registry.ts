/**
 * The benchmark registry: every list of benchmarks (the engine's `ls` and run configs, the launcher's
 * `builtin` catalogue, the reference endpoint, the docs table) is read from here.
 */
import type { Benchmark } from './types.js';

const registered = new Map<string, Benchmark>();

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** Add a benchmark; returns a function that removes it again. A name is registered once. */
export function registerBenchmark(benchmark: Benchmark): () => void {
  if (!NAME.test(benchmark.name)) throw new Error(`invalid benchmark name "${benchmark.name}"`);
  if (registered.has(benchmark.name)) throw new Error(`benchmark "${benchmark.name}" is already registered`);
  if (benchmark.supportedEndpointTypes.length === 0) {
    throw new Error(`benchmark "${benchmark.name}" supports no endpoint type`);
  }
  registered.set(benchmark.name, benchmark);
  return () => {
    if (registered.get(benchmark.name) === benchmark) registered.delete(benchmark.name);
  };
}

/** A benchmark by task name; accepts `gsm8k` and `builtin.gsm8k`. */
export function getBenchmark(name: string): Benchmark | undefined {
  return registered.get(name.trim().replace(/^builtin\./, ''));
}

/** All registered benchmarks, in registration (catalogue) order. */
export function listBenchmarks(): Benchmark[] {
  return [...registered.values()];
}

/** The registry as a resolver (run configs, the engine CLI). */
export function builtinResolver(): { get(name: string): Benchmark | undefined; list(): Benchmark[] } {
  return { get: (n) => getBenchmark(n), list: () => listBenchmarks() };
}
