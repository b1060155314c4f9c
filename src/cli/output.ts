/** Output helpers shared by the CLI commands: colours, tables, errors. */
import { isNelError, systemError } from '../common/errors.js';

export const useColor = (): boolean =>
  !!process.stdout.isTTY && !process.env.NEMO_EVALUATOR_DISABLE_COLOR && !process.env.NO_COLOR;

const wrap = (code: string) => (s: string) => (useColor() ? `\x1b[${code}m${s}\x1b[0m` : s);
export const c = {
  red: wrap('31'),
  green: wrap('32'),
  yellow: wrap('33'),
  blue: wrap('34'),
  magenta: wrap('35'),
  cyan: wrap('36'),
  bold: wrap('1'),
  dim: wrap('2'),
};

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** A plain space-aligned table with a header and a dash rule. */
export function formatTable(headers: string[], rows: string[][]): string {
  const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');
  const widths = headers.map((h, i) =>
    Math.max(visible(h).length, ...rows.map((r) => visible(r[i] ?? '').length)),
  );
  const pad = (s: string, w: number) => s + ' '.repeat(Math.max(0, w - visible(s).length));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => pad(cell, widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Print an error as one line (plus a hint line) on stderr and return the exit code to use. */
export function reportError(e: unknown, verbose = false): number {
  const sys = isNelError(e) ? null : systemError(e);
  if (sys) e = sys;
  if (isNelError(e)) {
    process.stderr.write(`${c.red('error:')} ${e.message}\n`);
    if (e.hint) process.stderr.write(`${c.dim('hint:')} ${e.hint}\n`);
    if (verbose && e.stack) process.stderr.write(e.stack + '\n');
    return e.exitCode;
  }
  const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
  process.stderr.write(`${c.red('error:')} ${msg}\n`);
  if (verbose && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
  else process.stderr.write(`${c.dim('hint:')} this looks like a bug; rerun with --verbose for details\n`);
  return 1;
}

/** The follow-up commands printed after a launch or a resume. */
export function followUpCommands(
  invocationId: string,
  jobs: { jobId: string; taskName: string }[],
): string[] {
  const lines = [
    `To check status: nel status ${invocationId}`,
    `To follow logs: nel logs ${invocationId}`,
    `To view job info: nel info ${invocationId}`,
    `To kill all jobs: nel kill ${invocationId}`,
  ];
  for (const j of jobs) lines.push(`  nel kill ${j.jobId}  # ${j.taskName}`);
  return lines;
}
