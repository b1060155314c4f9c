import type { Command } from 'commander';
import { resumeInvocation } from '../api/jobs.js';
import { c, followUpCommands } from './output.js';

export function register(program: Command): void {
  program
    .command('resume')
    .description('rerun the jobs of an invocation that did not succeed (reusing their caches)')
    .argument('<invocation_id>', 'invocation id (a unique prefix works)')
    .option('--all', 'rerun every job, successful ones included')
    .option(
      '--skip-preflight',
      'do not probe the endpoints before relaunching (also NEMO_EVALUATOR_SKIP_PREFLIGHT=1)',
    )
    .action(async (id: string, opts: { all?: boolean; skipPreflight?: boolean }) => {
      const r = await resumeInvocation(id, { all: !!opts.all, skipPreflight: !!opts.skipPreflight });
      for (const w of r.warnings)
        process.stderr.write(`${c.yellow('warning:')} ${w}
`);
      if (r.rerun.length === 0) {
        process.stdout.write(
          `Nothing to resume: every job of ${r.invocationId} succeeded (use --all to rerun them).\n`,
        );
        return;
      }
      for (const j of r.rerun) process.stdout.write(`rerunning ${j.jobId} (${j.taskName})\n`);
      for (const j of r.skipped)
        process.stdout.write(`${c.dim(`skipping ${j.jobId} (${j.taskName}): succeeded`)}\n`);
      for (const l of followUpCommands(r.invocationId, r.rerun)) process.stdout.write(l + '\n');
      if (r.failedAtOnce.length > 0) {
        for (const f of r.failedAtOnce) {
          process.stderr.write(`${c.red('error:')} ${f.jobId} (${f.taskName}) failed at once: ${f.cause}\n`);
          if (f.hint) process.stderr.write(`${c.dim('hint:')} ${f.hint}\n`);
        }
        const still = r.rerun.length - r.failedAtOnce.length;
        process.stdout.write(
          `Resumed invocation ${r.invocationId}: ${r.failedAtOnce.length} of ${r.rerun.length} job(s) failed at once` +
            (still > 0 ? `, ${still} still going (nel status ${r.invocationId})` : '') +
            '\n',
        );
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${c.green('✓')} Resumed invocation ${r.invocationId}\n`);
    });
}
