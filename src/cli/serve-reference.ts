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
  datasetPath?: string;
  accuracy: number;
  port: number;
  host: string;
  latencyMs: number;
  faultRate: number;
  faults?: FaultKind[];
  seed: number;
  retryAfter: number;
  modelId: string;
  extra?: string;
  maxSeconds?: number;
}

export function register(program: Command): void {
  program
    .command('serve-reference')
    .description(
      "serve an OpenAI-compatible endpoint that answers from a benchmark's gold answers (no model, no tokens)",
    )
    .requiredOption(
      '--benchmark <name>',
      `benchmark whose prompts it answers (${benchmarkNames().join(', ')})`,
    )
    .option(
      '--dataset-path <path>',
      "local data file or folder (default: the benchmark's data set, cache or hub)",
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
      '--extra <json>',
      'benchmark options as JSON (config.params.extra), e.g. the custom prompt_template',
    )
    .option('--max-seconds <n>', 'stop after N seconds', number('--max-seconds', 0))
    .action(async (flags: ServeReferenceFlags) => {
      let extra: Record<string, unknown> | undefined;
      if (flags.extra) {
        try {
          extra = JSON.parse(flags.extra) as Record<string, unknown>;
        } catch {
          throw new NelError('USAGE', '--extra must be a JSON object');
        }
      }
      const endpoint = await startReferenceEndpoint({
        benchmark: flags.benchmark,
        datasetPath: flags.datasetPath,
        extra,
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
