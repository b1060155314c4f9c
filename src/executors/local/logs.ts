/**
 * `nel logs`: follow each job's logs/client_stdout.log. Prints the last lines of files that exist,
 * then new lines as they come; picks up files that appear later; stops by itself once every job is
 * terminal and its file is drained (unless noExit).
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openExecDb, taskNameOf, type JobRecord } from '../../launcher/exec-db.js';
import { resolveId } from '../../launcher/id-resolve.js';
import { getJobStatuses } from '../../launcher/job-status.js';
import { isTerminal, type LogLine, type StreamLogsOptions } from '../types.js';
import { pause } from '../../common/pause.js';

export type { LogLine, StreamLogsOptions } from '../types.js';

interface Followed {
  rec: JobRecord;
  file: string;
  prefix: string;
  taskName: string;
  /** Byte offset read so far; null until the file was first seen. */
  offset: number | null;
}

export const LOG_FILE = 'client_stdout.log';

/** Display prefix of a job: first 6 characters of the invocation id, a dot, the index. */
export function logPrefix(jobId: string): string {
  const dot = jobId.lastIndexOf('.');
  return `${jobId.slice(0, Math.min(6, dot))}.${jobId.slice(dot + 1)}`;
}

function fileSize(p: string): number | null {
  try {
    return statSync(p).size;
  } catch {
    return null;
  }
}

function readBytes(p: string, from: number, to: number): Buffer {
  const fd = openSync(p, 'r');
  try {
    const buf = Buffer.alloc(Math.max(0, to - from));
    const n = buf.length > 0 ? readSync(fd, buf, 0, buf.length, from) : 0;
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

const readRange = (p: string, from: number, to: number): string => readBytes(p, from, to).toString('utf8');

/** The last `n` lines of a file's first `size` bytes (reads at most the final 1 MiB). */
function tail(p: string, size: number, n: number): string[] {
  const from = Math.max(0, size - 1024 * 1024);
  const text = readRange(p, from, size);
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (from > 0) lines.shift(); // probably cut in the middle
  return n > 0 ? lines.slice(-n) : [];
}

/** Read what is new in one file; returns whether anything was read. */
function pump(f: Followed, tailLines: number, emit: (f: Followed, line: string) => void): boolean {
  const size = fileSize(f.file);
  if (size === null) return false;
  if (f.offset === null) {
    // first sight: its last lines, then follow from just after the last complete line
    const from = Math.max(0, size - 1024 * 1024);
    const buf = readBytes(f.file, from, size);
    const lastNl = buf.lastIndexOf(0x0a);
    const complete = lastNl >= 0 ? from + lastNl + 1 : from;
    for (const l of tail(f.file, complete, tailLines)) emit(f, l);
    f.offset = complete;
    return true;
  }
  if (size < f.offset) f.offset = 0; // truncated: start over
  if (size === f.offset) return false;
  const chunk = readBytes(f.file, f.offset, size);
  const lastNl = chunk.lastIndexOf(0x0a);
  if (lastNl < 0) return false; // only a partial line so far
  f.offset += lastNl + 1;
  for (const l of chunk.subarray(0, lastNl).toString('utf8').split('\n')) emit(f, l);
  return true;
}

/** Emit an unterminated last line, once the job is over. */
function flushPartial(f: Followed, emit: (f: Followed, line: string) => void): void {
  const size = fileSize(f.file);
  if (size === null || f.offset === null || size <= f.offset) return;
  emit(f, readRange(f.file, f.offset, size));
  f.offset = size;
}

/** Follow the logs of the given ids (invocations, jobs or prefixes). Throws NelError for unknown ids. */
export async function streamLogs(ids: string[], opts: StreamLogsOptions): Promise<void> {
  const db = openExecDb({ dbPath: opts.dbPath, env: opts.env });
  const followed: Followed[] = [];
  const seen = new Set<string>();
  for (const id of ids) {
    for (const jobId of resolveId(db, id).jobIds) {
      if (seen.has(jobId)) continue;
      seen.add(jobId);
      const rec = db.getJob(jobId);
      if (!rec || typeof rec.data.output_dir !== 'string') continue;
      followed.push({
        rec,
        file: join(rec.data.output_dir, 'logs', LOG_FILE),
        prefix: logPrefix(jobId),
        taskName: taskNameOf(rec) ?? jobId,
        offset: null,
      });
    }
  }
  const interval = opts.intervalMs ?? 100;
  const tailLines = opts.tailLines ?? 15;
  const emit = (f: Followed, line: string) =>
    opts.onLine({
      jobId: f.rec.job_id,
      prefix: f.prefix,
      taskName: f.taskName,
      line: line.replace(/\r$/, ''),
    });
  let lastStatusCheck = 0;
  for (;;) {
    let activity = false;
    for (const f of followed) activity = pump(f, tailLines, emit) || activity;
    if (opts.signal?.aborted) break;
    if (!opts.noExit && !activity && Date.now() - lastStatusCheck >= 500) {
      lastStatusCheck = Date.now();
      const fresh = openExecDb({ dbPath: opts.dbPath, env: opts.env });
      // the same states `nel status` shows: a job whose processes are gone counts as finished
      const states = getJobStatuses(
        fresh,
        followed.map((f) => f.rec.job_id),
      );
      const allDone =
        states.length > 0 && states.every((s) => isTerminal(s.status) || s.status === 'not_found');
      if (allDone) {
        // drain once more, then flush partial last lines
        for (const f of followed) pump(f, tailLines, emit);
        for (const f of followed) flushPartial(f, emit);
        break;
      }
    }
    await pause(interval, opts.signal); // one listener per wait, removed when it ends
  }
}
