/** `nel run --wait`: poll job states until every job is terminal, and render progress as it goes. */
import { openExecDb } from './exec-db.js';
import { getJobStatuses } from './job-status.js';
import { isTerminal, type StatusEntry } from '../executors/types.js';
import { pause } from '../common/pause.js';

export interface WaitOptions {
  env?: NodeJS.ProcessEnv;
  dbPath?: string;
  intervalMs?: number;
  signal?: AbortSignal;
  onUpdate?: (statuses: StatusEntry[]) => void;
}

/** Poll until all jobs of the invocation are terminal (or the signal aborts); returns the last statuses. */
export async function waitForInvocation(
  invocationId: string,
  opts: WaitOptions = {},
): Promise<StatusEntry[]> {
  const interval = opts.intervalMs ?? 1000;
  for (;;) {
    const db = openExecDb({ dbPath: opts.dbPath, env: opts.env });
    const statuses = getJobStatuses(db, [invocationId]);
    opts.onUpdate?.(statuses);
    const done =
      statuses.length > 0 && statuses.every((s) => isTerminal(s.status) || s.status === 'not_found');
    if (done || opts.signal?.aborted) return statuses;
    await pause(interval, opts.signal); // one listener per wait, removed when it ends
  }
}

export interface ProgressRendererOptions {
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  tty?: boolean;
  /** Plain mode: print a line per job at most this often (default 5000 ms) or when its state changes. */
  plainEveryMs?: number;
  now?: () => number;
}

interface RateSample {
  t: number;
  n: number;
}

/** Text of one job's progress line: `<job> <state> answered/total (pct%) rate/s`. */
export function formatProgressLine(s: StatusEntry, rate: number | null, taskName?: string): string {
  const p = s.progress && s.progress !== 'unknown' ? s.progress : null;
  const answered =
    p && p.progress !== null ? (p.total !== null ? `${p.progress}/${p.total}` : `${p.progress}`) : '-';
  const pct = p && p.percent !== null ? ` (${p.percent.toFixed(1)}%)` : '';
  const r = rate !== null && rate > 0 ? ` ${rate.toFixed(1)} req/s` : '';
  const name = taskName ? ` ${taskName}` : '';
  return `${s.job_id}${name}: ${s.status.toUpperCase()} ${answered}${pct}${r}`;
}

/**
 * An onUpdate callback: on a TTY it redraws one line per job in place; otherwise it prints plain lines
 * every few seconds and whenever a job changes state.
 */
export function createProgressRenderer(
  opts: ProgressRendererOptions = {},
): (statuses: StatusEntry[]) => void {
  const stream = opts.stream ?? process.stdout;
  const tty = opts.tty ?? !!stream.isTTY;
  const now = opts.now ?? Date.now;
  const every = opts.plainEveryMs ?? 5000;
  const first = new Map<string, RateSample>();
  const lastState = new Map<string, string>();
  let lastPlain = 0;
  let drawn = 0;
  const rateOf = (s: StatusEntry): number | null => {
    const p = s.progress && s.progress !== 'unknown' ? s.progress.progress : null;
    if (p === null || !s.job_id) return null;
    const t = now();
    const f = first.get(s.job_id);
    if (!f) {
      first.set(s.job_id, { t, n: p });
      return null;
    }
    const dt = (t - f.t) / 1000;
    return dt > 0 ? (p - f.n) / dt : null;
  };
  return (statuses) => {
    const lines = statuses.map((s) => formatProgressLine(s, s.status === 'running' ? rateOf(s) : null));
    if (tty) {
      let out = drawn > 0 ? `\x1b[${drawn}A` : '';
      for (const l of lines) out += `\r\x1b[2K${l}\n`;
      stream.write(out);
      drawn = lines.length;
      return;
    }
    const t = now();
    const changed = statuses.some((s) => lastState.get(s.job_id ?? '') !== s.status);
    for (const s of statuses) lastState.set(s.job_id ?? '', s.status);
    if (!changed && t - lastPlain < every) return;
    lastPlain = t;
    stream.write(lines.join('\n') + '\n');
  };
}
