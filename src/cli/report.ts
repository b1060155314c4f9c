import type { Command } from 'commander';
import { spawn, spawnSync } from 'node:child_process';
import { buildReports } from '../results/report/invocation.js';

/** Open a file in the desktop's browser with xdg-open when there is one; false when there is none. */
function openInBrowser(path: string): boolean {
  const which = spawnSync('sh', ['-c', 'command -v xdg-open'], { encoding: 'utf8' });
  if (which.status !== 0) return false;
  const child = spawn('xdg-open', [path], { detached: true, stdio: 'ignore' });
  child.on('error', () => undefined);
  child.unref();
  return true;
}

export function register(program: Command): void {
  program
    .command('report')
    .description(
      "(re)build the HTML reports from the artifacts: a job's report, or an invocation's and its jobs'",
    )
    .argument('<id>', 'invocation or job id (unique prefixes work)')
    .option('--open', 'open the report in a browser (xdg-open), else print its path')
    .option(
      '--output <file>',
      "where to write the id's report (default: report.html of the invocation or job)",
    )
    .action(async (id: string, opts: { open?: boolean; output?: string }) => {
      const built = await buildReports(id, { output: opts.output });
      if (built.kind === 'invocation') {
        for (const j of built.jobs)
          process.stdout.write(j.path ? `${j.jobId}: ${j.path}\n` : `${j.jobId}: no report (${j.problem})\n`);
      }
      process.stdout.write(`Report: ${built.path}\n`);
      if (opts.open && !openInBrowser(built.path))
        process.stdout.write(`(no xdg-open here: open ${built.path} in a browser)\n`);
    });
}
