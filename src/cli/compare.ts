import type { Command } from 'commander';
import { NelError } from '../common/errors.js';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { writeFileAtomic } from '../common/fs.js';
import { compareRuns, formatComparison } from '../results/compare.js';
import { printJson } from './output.js';

function wholeNumber(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new NelError('USAGE', `invalid ${name} '${v}'`, {
        hint: `use a whole number >= ${min}`,
        exitCode: 2,
      });
    return n;
  };
}

export function register(program: Command): void {
  program
    .command('compare')
    .description(
      'compare runs sample by sample: B (and C ...) against A, with the difference, a 95% CI\n' +
        '(paired bootstrap) and a p-value (McNemar exact test for 0/1 scores, bootstrap otherwise)',
    )
    .argument('<baseline>', 'the baseline run: invocation or job id (unique prefixes work)')
    .argument('<other>', 'the run compared with the baseline')
    .argument('[more...]', 'further runs, each compared with the baseline')
    .option('--json', 'print JSON')
    .option('--html <file>', 'also write an HTML report with the per-sample disagreements side by side')
    .option('--seed <n>', 'bootstrap seed', wholeNumber('--seed', 0), 0)
    .option('--resamples <n>', 'bootstrap resamples', wholeNumber('--resamples', 100), 10_000)
    .action(
      async (
        a: string,
        b: string,
        more: string[],
        opts: { json?: boolean; html?: string; seed: number; resamples: number },
      ) => {
        const ids = [a, b, ...more];
        const settings = { seed: opts.seed, resamples: opts.resamples };
        let results;
        let htmlPath: string | undefined;
        if (opts.html !== undefined) {
          htmlPath = resolve(opts.html);
          if (!existsSync(dirname(htmlPath)))
            throw new NelError('USAGE', `cannot write ${htmlPath}: ${dirname(htmlPath)} does not exist`, {
              hint: 'create the directory first, or give --html a path in an existing one',
              exitCode: 2,
            });
          const { compareRunsWithReport } = await import('../results/report/compare.js');
          const built = compareRunsWithReport(ids, settings);
          try {
            writeFileAtomic(htmlPath, built.html);
          } catch (e) {
            throw new NelError(
              'USAGE',
              `cannot write ${htmlPath}: ${(e as NodeJS.ErrnoException).code ?? e}`,
              {
                hint: '--html needs a writable path in an existing directory',
                exitCode: 2,
              },
            );
          }
          results = built.comparisons;
        } else results = compareRuns(ids, settings);
        if (opts.json) printJson(results);
        else process.stdout.write(results.map(formatComparison).join('\n\n') + '\n');
        if (htmlPath && !opts.json) process.stdout.write(`\nReport: ${htmlPath}\n`);
      },
    );
}
