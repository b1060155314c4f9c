/**
 * Process helpers for the local executor: liveness of recorded PIDs, checked against their start time
 * so a recycled PID is never taken for the process that was recorded.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { LaunchedScript } from '../types.js';

/** argv of a live process, or null when it is gone or unreadable. */
export function processArgv(pid: number): string[] | null {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (raw === '') return null; // zombie
    return raw.replace(/\0$/, '').split('\0');
  } catch {
    return null;
  }
}

let bootTimeMs: number | undefined;
/** Start time of a process (ms since epoch), from /proc/<pid>/stat and /proc/stat btime. */
export function processStartMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]); // field 22 overall; fields[0] is field 3
    if (bootTimeMs === undefined) {
      const m = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
      bootTimeMs = m ? Number(m[1]) * 1000 : 0;
    }
    return bootTimeMs + (ticks / 100) * 1000;
  } catch {
    return null;
  }
}

export function isZombieOrGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** Whether any process is left in the process group. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  // Signal 0 reaches zombies too, so a group whose members all exited but are not reaped yet still
  // counts as alive here; callers wait a bounded time for it.
  return true;
}

/** Whether a recorded supervisor is still that very process (same argv, started then), not a recycled PID. */
export function supervisorStillRunning(s: LaunchedScript): boolean {
  const argv = processArgv(s.pid);
  if (!argv || argv.length !== s.argv.length || argv.some((a, i) => a !== s.argv[i])) return false;
  const started = processStartMs(s.pid);
  return started === null || started <= Date.parse(s.startedAt) + 5000;
}

/** The host-mode engine PID from logs/stage.pid, only if that process started before the file was written. */
export function hostEnginePid(taskDir: string): number | null {
  return livePidFromFile(join(taskDir, 'logs', 'stage.pid'));
}

/**
 * The PID in a file written by that process (or its shell), if it is still alive and started before
 * the file was written (so a recycled PID does not count).
 */
export function livePidFromFile(file: string): number | null {
  let pid: number;
  let written: number;
  try {
    pid = Number(readFileSync(file, 'utf8').trim());
    written = statSync(file).mtimeMs;
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 1) return null;
  const started = processStartMs(pid);
  if (started === null || isZombieOrGone(pid)) return null;
  return started <= written + 2000 ? pid : null;
}

/** The file in the invocation dir that lists the supervisor processes started for it. */
export const LAUNCH_RECORD = '.nel-launch.json';

export interface LaunchRecordFile {
  invocation_id: string;
  scripts: LaunchedScript[];
}

export function readLaunchRecord(invocationDir: string): LaunchRecordFile | null {
  try {
    const v = JSON.parse(readFileSync(join(invocationDir, LAUNCH_RECORD), 'utf8')) as LaunchRecordFile;
    return v && Array.isArray(v.scripts) ? v : null;
  } catch {
    return null;
  }
}
