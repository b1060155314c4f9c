import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describeJobs, getJobScores } from '../api/jobs.js';
import { formatValue, headlineLabel } from '../results/scores.js';

/** The scores block of each finished job: headline, every metric, and where its report is. */
export function formatJobScores(jobs: Awaited<ReturnType<typeof getJobScores>>): string {
  const out: string[] = [];
  for (const j of jobs) {
    out.push(`Scores of ${j.job_id}${j.task ? ` (${j.task})` : ''}`);
    if ('error' in j.scores) out.push(`├── results.yml unreadable: ${j.scores.error}`);
    else {
      const { headline, metrics, groups } = j.scores;
      const from = headline?.source === 'definition' ? 'the benchmark definition' : 'the results layout';
      out.push(
        headline
          ? `├── Headline: ${headlineLabel(headline)} = ${formatValue(headline.value)} (chosen by ${from})`
          : '├── Headline: none (results.yml holds no scores)',
      );
      const entries = Object.entries(metrics);
      out.push(`├── Metrics (${entries.length}):`);
      for (const [k, v] of entries) out.push(`│   ├── ${k} = ${formatValue(v)}`);
      const n = Object.keys(groups).length;
      if (n > 0) out.push(`├── Sub-groups: ${n} (per-group scores in results.yml)`);
    }
    const report = join(j.dir, 'artifacts', 'report.html');
    out.push(`└── Report: ${existsSync(report) ? report : 'none (no artifacts/report.html)'}`);
    out.push('');
  }
  return out.length > 0 ? out.join('\n') + '\n' : '';
}

export function register(program: Command): void {
  program
    .command('info')
    .description(
      "show where jobs' artifacts and logs are, their scores and report; print their config; copy them",
    )
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
        let text = await describeJobs(ids, opts);
        // the full view (no selecting flag) also shows each finished job's scores, before the footer
        if (!opts.config && !opts.artifacts && !opts.logs) {
          const scores = formatJobScores(await getJobScores(ids));
          const at = text.lastIndexOf('\nExec DB: ');
          if (scores) text = at >= 0 ? text.slice(0, at + 1) + scores + text.slice(at + 1) : text + scores;
        }
        process.stdout.write(text);
      },
    );
}
