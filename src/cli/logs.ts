import type { Command } from 'commander';
import { streamLogs } from '../api/jobs.js';
import { c } from './output.js';

const COLORS = [c.red, c.green, c.yellow, c.magenta, c.cyan];

export function register(program: Command): void {
  program
    .command('logs')
    .description("follow jobs' engine logs (logs/client_stdout.log); exits when every job has finished")
    .argument('<ids...>', 'invocation or job ids (unique prefixes work)')
    .option('--no-exit', 'keep following after the jobs finished (stop with Ctrl-C)')
    .action(async (ids: string[], opts: { exit: boolean }) => {
      const colorOf = new Map<string, (s: string) => string>();
      const ac = new AbortController();
      const onSigint = () => ac.abort();
      process.once('SIGINT', onSigint);
      try {
        await streamLogs(ids, {
          noExit: !opts.exit,
          signal: ac.signal,
          onLine: ({ jobId, prefix, line }) => {
            if (!colorOf.has(jobId)) colorOf.set(jobId, COLORS[colorOf.size % COLORS.length]!);
            process.stdout.write(line === '' ? '\n' : `${colorOf.get(jobId)!(prefix + ':')} ${line}\n`);
          },
        });
      } finally {
        process.removeListener('SIGINT', onSigint);
      }
    });
}
