import type { Command } from 'commander';
import { getStatusWithScores, type ScoredStatusEntry } from '../api/jobs.js';
import { c, formatTable, printJson } from './output.js';

const CELLS: Record<string, [string, (s: string) => string]> = {
  success: ['✓ SUCCESS', c.green],
  failed: ['✗ FAILED', c.red],
  running: ['▶ RUNNING', c.yellow],
  pending: ['⧗ PENDING', c.cyan],
  killed: ['✗ KILLED', c.magenta],
  not_found: ['? NOT FOUND', c.dim],
  error: ['✗ ERROR', c.red],
  unknown: ['? UNKNOWN', c.dim],
};

function progressCell(s: ScoredStatusEntry): string {
  const p = s.progress && s.progress !== 'unknown' ? s.progress : null;
  if (!p || p.progress === null) return '-';
  if (p.total === null) return String(p.progress);
  return `${p.progress}/${p.total}` + (p.percent !== null ? ` (${p.percent.toFixed(1)}%)` : '');
}

function locationCell(s: ScoredStatusEntry): string {
  // executors whose jobs run elsewhere record the directory there (remote_rundir_path)
  const dir = s.data.output_dir ?? s.data.remote_rundir_path;
  if (typeof dir !== 'string') return '-';
  const parts = dir.split('/').filter(Boolean);
  return parts.length >= 2 ? `<output_dir>/${parts.slice(-2).join('/')}` : dir;
}

/** The headline score, e.g. `0.7500 exact_match` or `0.6500 score.micro`; `-` until the job has one. */
function scoreCell(s: ScoredStatusEntry): string {
  if (s.scores_error) return c.red('unreadable');
  const h = s.headline;
  if (!h) return '-';
  const label = h.metric === h.score ? h.metric : `${h.metric}.${h.score}`;
  return `${Number.isInteger(h.value) ? String(h.value) : h.value.toFixed(4)} ${c.dim(label)}`;
}

/** The status table; a Score column appears when any entry carries scores (getStatusWithScores). */
export function formatStatusTable(statuses: ScoredStatusEntry[]): string {
  if (statuses.length === 0) return 'No jobs found.';
  const withScores = statuses.some((s) => s.headline !== undefined || s.scores_error !== undefined);
  const rows = statuses.map((s) => {
    const [label, color] = CELLS[s.status] ?? [s.status, (x: string) => x];
    return [
      s.job_id ?? s.invocation ?? '-',
      color(label),
      progressCell(s),
      ...(withScores ? [scoreCell(s)] : []),
      typeof s.data.container === 'string' && s.data.container ? s.data.container : '-',
      locationCell(s),
    ];
  });
  const headers = ['Job ID', 'Status', 'Progress', ...(withScores ? ['Score'] : []), 'Container', 'Location'];
  const table = formatTable(headers, rows);
  const causes: string[] = [];
  for (const s of statuses) {
    if ((s.status !== 'failed' && s.status !== 'unknown') || !s.cause) continue;
    const mark = s.status === 'failed' ? c.red('✗') : c.dim('?');
    causes.push(`${mark} ${s.job_id ?? s.invocation ?? '-'}: ${s.cause}`);
    if (s.hint) causes.push(`  ${c.dim('hint:')} ${s.hint}`);
  }
  return causes.length > 0 ? `${table}\n\n${causes.join('\n')}` : table;
}

export function register(program: Command): void {
  program
    .command('status')
    .description('show the state and progress of jobs (default: the most recent invocation)')
    .argument('[ids...]', 'invocation or job ids (unique prefixes work)')
    .option('--json', 'print JSON (finished jobs carry `metrics` and `headline` from results.yml)')
    .action(async (ids: string[], opts: { json?: boolean }) => {
      const { statuses, warnings } = await getStatusWithScores(ids);
      for (const w of warnings) process.stderr.write(`${c.yellow('warning:')} ${w}\n`);
      const missing = statuses.filter((s) => s.status === 'not_found');
      if (opts.json) printJson(statuses);
      else {
        const found = statuses.filter((s) => s.status !== 'not_found');
        if (found.length > 0 || missing.length === 0) process.stdout.write(formatStatusTable(found) + '\n');
        for (const m of missing) {
          process.stderr.write(
            `${c.red('error:')} no invocation or job matches '${m.job_id ?? m.invocation ?? ''}'\n`,
          );
        }
        if (missing.length > 0) process.stderr.write(`${c.dim('hint:')} list invocations with nel ls runs\n`);
      }
      if (missing.length > 0) process.exitCode = 1;
    });
}
