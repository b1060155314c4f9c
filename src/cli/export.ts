import { Option, type Command } from 'commander';
import { exportResults } from '../api/jobs.js';
import { c } from './output.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function register(program: Command): void {
  program
    .command('export')
    .description('export results of jobs or invocations (processed_results JSON or CSV)')
    .argument('<ids...>', 'invocation or job ids (unique prefixes work)')
    .option('--dest <dest>', 'destination', 'local')
    .option('--format <format>', 'json or csv')
    .option('--output-dir <dir>', 'where to write (default ./nemo-evaluator-launcher-results)')
    .addOption(new Option('--out <dir>', 'alias of --output-dir').hideHelp())
    .option('--output-filename <name>', 'file name (default processed_results.<format>)')
    .addOption(new Option('--fname <name>', 'alias of --output-filename').hideHelp())
    .option('--config <file>', 'YAML with an export.<dest> section')
    .option('-o, --override <key=value>', 'export.<dest>.key=value (repeatable)', collect)
    .option('--job-dirs <dir>', 'find jobs missing from the exec DB under DIR (repeatable)', collect)
    .option('--log-metrics <name>', 'keep only metrics containing NAME (repeatable)', collect)
    .action(
      async (
        ids: string[],
        opts: {
          dest: string;
          format?: string;
          outputDir?: string;
          out?: string;
          outputFilename?: string;
          fname?: string;
          config?: string;
          override?: string[];
          jobDirs?: string[];
          logMetrics?: string[];
        },
      ) => {
        process.stdout.write(`Exporting ${ids.length} id(s) to ${opts.dest}...\n`);
        const r = await exportResults(ids, {
          dest: opts.dest,
          format: opts.format,
          outputDir: opts.outputDir ?? opts.out,
          outputFilename: opts.outputFilename ?? opts.fname,
          configFile: opts.config,
          overrides: opts.override,
          jobDirs: opts.jobDirs,
          logMetrics: opts.logMetrics,
        });
        for (const f of r.failures) {
          const what = f.error.includes(f.jobId) ? f.error : `${f.jobId}: ${f.error}`;
          process.stderr.write(`${c.red('error:')} ${what}\n`);
        }
        for (const f of r.files) process.stdout.write(`wrote ${f}\n`);
        process.stdout.write(`Export completed: ${JSON.stringify(r.metadata)}\n`);
        if (!r.success) process.exitCode = 1;
      },
    );
}
