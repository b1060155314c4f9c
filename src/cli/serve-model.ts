import { Command, InvalidArgumentError } from 'commander';
import { NelError } from '../common/errors.js';

function number(name: string, min: number, max = Infinity) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}]`);
    return n;
  };
}

interface ServeModelFlags {
  model?: string;
  port: number;
  host: string;
  servedModelName?: string;
  threads: number;
  ctxSize?: number;
  writeRandomModel?: string;
  seed: number;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('serve-model')
    .description(
      'serve a GGUF model on the CPU (llama.cpp) as an OpenAI-compatible endpoint with vLLM semantics: ' +
        "/v1/completions (echo, logprobs), /v1/chat/completions (the model's chat template), /v1/models, /health",
    )
    .option('--model <file.gguf>', 'the GGUF model file to serve')
    .option('--port <port>', 'port (0 = any free port)', number('--port', 0, 65535), 8000)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option(
      '--served-model-name <name>',
      "model id of /v1/models and of requests (default: the model's name)",
    )
    .option(
      '--threads <n>',
      'CPU threads (more than 1 is often slower on small machines)',
      number('--threads', 1, 1024),
      1,
    )
    .option(
      '--ctx-size <n>',
      "context size in tokens (default: the model's, at most 8192)",
      number('--ctx-size', 16),
    )
    .option(
      '--write-random-model <file.gguf>',
      'instead of serving: write a tiny llama model with random, seeded weights (for smoke tests) and exit',
    )
    .option('--seed <n>', 'seed of --write-random-model', number('--seed', 0), 1)
    .option('--quiet', 'no line per request')
    .action(async (flags: ServeModelFlags) => {
      if (flags.writeRandomModel !== undefined) {
        const { writeRandomLlamaGguf } = await import('../model-server/gguf-writer.js');
        const m = writeRandomLlamaGguf(flags.writeRandomModel, { seed: flags.seed });
        process.stdout.write(
          `wrote ${m.path} (${m.bytes} bytes, ${m.vocabulary.tokens.length} tokens, random weights, seed ${flags.seed})\n`,
        );
        return;
      }
      if (!flags.model) {
        throw new NelError('USAGE', 'serve-model needs --model FILE.gguf', {
          hint: 'or write a test model first: nel serve-model --write-random-model /tmp/tiny.gguf',
        });
      }
      const { startModelServer } = await import('../model-server/server.js');
      const server = await startModelServer({
        modelPath: flags.model,
        host: flags.host,
        port: flags.port,
        servedModelName: flags.servedModelName,
        threads: flags.threads,
        contextSize: flags.ctxSize,
        log: flags.quiet ? undefined : (line) => process.stderr.write(line + '\n'),
      });
      process.stdout.write(
        `serving ${server.modelId} (${flags.model}, context ${server.model.contextSize}, ${flags.threads} thread(s)) on ${server.url}\n`,
      );
      await new Promise<void>((resolveWait) => {
        process.once('SIGTERM', () => resolveWait());
        process.once('SIGINT', () => resolveWait());
      });
      const stats = server.stats();
      await server.close();
      process.stderr.write(`served ${stats.requests} requests\n`);
    });
}
