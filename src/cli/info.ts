import type { Command } from 'commander';
import { describeJobs } from '../api/jobs.js';

export function register(program: Command): void {
  program
    .command('info')
    .description("show where jobs' artifacts and logs are; print their config; copy them")
    .argument('<ids...>', 'invocation or job ids (unique prefixes work)')
    .option('--config', "print each job's stored config as YAML")
    .option('--artifacts', 'show the artifacts location')
    .option('--logs', 'show the logs location')
    .option('--copy-logs <dir>', 'copy the log files to DIR/<job_id>/logs')
    .option('--copy-artifacts <dir>', 'copy the artifacts to DIR/<job_id>/artifacts')
    .action(
      async (
        ids: string[],
        opts: {
          config?: boolean;
          artifacts?: boolean;
          logs?: boolean;
          copyLogs?: string;
          copyArtifacts?: string;
        },
      ) => {
        process.stdout.write(await describeJobs(ids, opts));
      },
    );
}
