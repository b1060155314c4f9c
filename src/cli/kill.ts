import type { Command } from 'commander';
import { killJobOrInvocation } from '../api/jobs.js';
import { c, printJson } from './output.js';

export function register(program: Command): void {
  program
    .command('kill')
    .description('stop a job or every job of an invocation (its containers and processes only)')
    .argument('<id>', 'invocation or job id (unique prefixes work)')
    .option('--json', 'print the upstream-shaped JSON list')
    .action(async (id: string, opts: { json?: boolean }) => {
      const results = await killJobOrInvocation(id);
      if (opts.json) printJson(results.map(({ alreadyFinished: _a, ...r }) => r));
      else {
        for (const r of results) {
          const who = r.job_id ?? r.invocation ?? id;
          if (r.status === 'killed') process.stdout.write(`${c.green('✓')} killed ${who}\n`);
          else if (r.alreadyFinished)
            process.stdout.write(`${c.dim('-')} ${'error' in r.data ? r.data.error : ''}\n`);
          else
            process.stderr.write(
              `${c.red('error:')} ${who}: ${'error' in r.data ? r.data.error : r.status}\n`,
            );
        }
      }
      if (results.some((r) => r.status === 'not_found' || (r.status === 'error' && !r.alreadyFinished)))
        process.exitCode = 1;
    });
}
