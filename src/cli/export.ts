import { Option, type Command } from 'commander';
import { exportResults } from '../api/jobs.js';
import { NelError } from '../common/errors.js';
import { c } from './output.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** `--copy-logs`, `--copy-logs true|false` (upstream's optional boolean value). */
function bool(flag: string): (v: string | undefined) => boolean {
  return (v) => {
    if (v === undefined || /^(true|yes|1)$/i.test(v)) return true;
    if (/^(false|no|0)$/i.test(v)) return false;
    throw new NelError('USAGE', `${flag} takes true or false, not '${v}'`, { hint: `e.g. ${flag} false` });
  };
}

/**
 * Upstream's single-dash long flags (`-out D`, `-fname F`). Left to commander they would read as short
 * flags with a value (`-o ut`, `-f name`).
 */
const SINGLE_DASH: Record<string, string> = { '-out': '--output-dir', '-fname': '--output-filename' };

function upstreamSpellings(argv: string[]): string[] {
  return argv.map((a) => {
    const [flag, ...rest] = a.split('=');
    const long = SINGLE_DASH[flag!];
    return long ? [long, ...rest].join('=') : a;
  });
}

export function register(program: Command): void {
  const cmd = program
    .command('export')
    .description('export results of jobs or invocations (processed_results JSON or CSV)')
    .argument('<ids...>', 'invocation or job ids (unique prefixes work)')
    .option('--dest <dest>', 'destination', 'local')
    .option('--format <format>', 'json, csv or jsonl (one row per sample, from artifacts/samples.jsonl)')
    .option('--output-dir <dir>', 'where to write (default ./nemo-evaluator-launcher-results; also -out)')
    .addOption(new Option('--out <dir>', 'alias of --output-dir').hideHelp())
    .option('-f, --output-filename <name>', 'file name (default processed_results.<format>; also -fname)')
    .addOption(new Option('--fname <name>', 'alias of --output-filename').hideHelp())
    .option('--config <file>', 'YAML with an export.<dest> section')
    .option('-o, --override <key=value>', 'export.<dest>.key=value (repeatable)', collect)
    .option('--copy-logs [bool]', "copy each job's log files beside its export", bool('--copy-logs'))
    .option('--copy-artifacts [bool]', "copy each job's artifacts (default true)", bool('--copy-artifacts'))
    .option(
      '--only-required [bool]',
      'copy only results.yml, eval_factory_metrics.json, omni-info.json (default true)',
      bool('--only-required'),
    )
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
          copyLogs?: boolean;
          copyArtifacts?: boolean;
          onlyRequired?: boolean;
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
          copyLogs: opts.copyLogs,
          copyArtifacts: opts.copyArtifacts,
          onlyRequired: opts.onlyRequired,
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
  const parseOptions = cmd.parseOptions.bind(cmd);
  cmd.parseOptions = (argv: string[]) => parseOptions(upstreamSpellings(argv));
}
