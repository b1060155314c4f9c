import type { Command } from 'commander';
import { buildEngineImage } from '../runtime/engine-image.js';

export function register(program: Command): void {
  program
    .command('build-image')
    .description(
      'build the engine image (nemo-evaluator-ts:<version> and :latest) without any registry; prints the image reference last',
    )
    .option('--tag <name:version>', 'image reference to build instead of the default')
    .option('--rebuild-base', 'rebuild the Debian base image even if it exists')
    .action((opts: { tag?: string; rebuildBase?: boolean }) => {
      const result = buildEngineImage({ tag: opts.tag, rebuildBase: opts.rebuildBase });
      process.stdout.write(`${result.image}\n`);
    });
}
