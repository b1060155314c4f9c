import { Command, InvalidArgumentError } from 'commander';
import { NelError } from '../common/errors.js';
import {
  FAULT_KINDS,
  benchmarkNames,
  startReferenceEndpoint,
  type FaultKind,
} from '../reference-endpoint/index.js';

function number(name: string, min: number, max = Infinity) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be a number in [${min}, ${max}]`);
    return n;
  };
}

function faultList(value: string): FaultKind[] {
  const kinds = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const k of kinds) {
    if (!FAULT_KINDS.includes(k as FaultKind)) {
      throw new InvalidArgumentError(`unknown fault "${k}" (use ${FAULT_KINDS.join(', ')})`);
    }
  }
  return kinds as FaultKind[];
}

interface ServeReferenceFlags {
  benchmark: string;
  datasetPath: string[];
  accuracy: number;
  port: number;
  host: string;
  latencyMs: number;
  faultRate: number;
  faults?: FaultKind[];
  seed: number;
  retryAfter: number;
  modelId: string;
  extra: string[];
  maxSeconds?: number;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/**
 * `--dataset-path` / `--extra` values: `VALUE` for every benchmark, or `NAME=VALUE` for one of them.
 * A value that itself holds `=` (a path, JSON) is only split when its prefix names a listed benchmark.
 */
function perBenchmark(values: string[], names: string[], flag: string): Map<string | null, string> {
  const out = new Map<string | null, string>();
  for (const v of values) {
    const eq = v.indexOf('=');
    const name = eq > 0 ? v.slice(0, eq) : '';
    const key = names.includes(name) ? name : null;
    if (key === null && names.length > 1 && flag === '--dataset-path') {
      throw new NelError('USAGE', `${flag} ${v}: with several benchmarks, write NAME=PATH`, {
        hint: `e.g. ${flag} ${names[0]}=./data.jsonl`,
      });
    }
    out.set(key, key === null ? v : v.slice(eq + 1));
  }
  return out;
}

function parseExtra(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // refused below
  }
  throw new NelError('USAGE', '--extra must be a JSON object', { hint: `got ${text.slice(0, 60)}` });
}

export function register(program: Command): void {
  program
    .command('serve-reference')
    .description(
      "serve an OpenAI-compatible endpoint that answers from a benchmark's gold answers (no model, no tokens)",
    )
    .requiredOption(
      '--benchmark <names>',
      `benchmark(s) whose prompts it answers, comma-separated (${benchmarkNames().join(', ')})`,
    )
    .option(
      '--dataset-path <[name=]path>',
      "local data file or folder (default: the benchmark's data set, cache or hub); NAME=PATH per benchmark, repeatable",
      collect,
      [],
    )
    .option('--accuracy <fraction>', 'fraction of samples answered correctly', number('--accuracy', 0, 1), 1)
    .option('--port <port>', 'port (0 = any free port)', number('--port', 0, 65535), 0)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--latency-ms <ms>', 'delay before each answer', number('--latency-ms', 0), 0)
    .option(
      '--fault-rate <fraction>',
      'fraction of requests that get an injected fault',
      number('--fault-rate', 0, 1),
      0,
    )
    .option(
      '--faults <kinds>',
      `comma-separated fault kinds (${FAULT_KINDS.join(', ')}); default 429,500,reset`,
      faultList,
    )
    .option('--seed <n>', 'seed of the deterministic fault sequence', number('--seed', 0), 1)
    .option('--retry-after <seconds>', 'Retry-After sent with 429', number('--retry-after', 0), 1)
    .option('--model-id <id>', 'model id reported by /v1/models', 'reference-model')
    .option(
      '--extra <[name=]json>',
      'benchmark options as JSON (config.params.extra), e.g. the custom prompt_template; NAME=JSON per benchmark, repeatable',
      collect,
      [],
    )
    .option('--max-seconds <n>', 'stop after N seconds', number('--max-seconds', 0))
    .action(async (flags: ServeReferenceFlags) => {
      const names = flags.benchmark
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean);
      const paths = perBenchmark(flags.datasetPath, names, '--dataset-path');
      const extras = perBenchmark(flags.extra, names, '--extra');
      const endpoint = await startReferenceEndpoint({
        benchmarks: names.map((name) => ({
          benchmark: name,
          datasetPath: paths.get(name) ?? paths.get(null),
          extra: parseExtra(extras.get(name) ?? extras.get(null)),
        })),
        accuracy: flags.accuracy,
        port: flags.port,
        host: flags.host,
        latencyMs: flags.latencyMs,
        faultRate: flags.faultRate,
        faults: flags.faults,
        seed: flags.seed,
        retryAfterSeconds: flags.retryAfter,
        modelId: flags.modelId,
      });
      process.stdout.write(`listening on ${endpoint.url}\n`);
      await new Promise<void>((resolveWait) => {
        const stop = () => resolveWait();
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
        if (flags.maxSeconds !== undefined) setTimeout(stop, flags.maxSeconds * 1000).unref();
      });
      const stats = endpoint.stats();
      await endpoint.close();
      process.stderr.write(`served ${stats.total} requests (${JSON.stringify(stats.by_status)})\n`);
    });
}
