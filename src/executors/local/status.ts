/**
 * The state of a local job as a pure function of its files and its exec DB record (launcher-spec 7.2):
 * killed flag, stage.exit (interrupted marker -> killed), stage.running, else pending. Unlike upstream,
 * a killed job whose directories were never created reads killed (not pending).
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { JobRecord } from '../../launcher/exec-db.js';
import type { ExecutorStatus, JobProgress, JobStatus } from '../types.js';
import { jobCause, LOST_FILE } from './cause.js';
import { reconcileLiveness } from './liveness.js';

/** The name the local executor's jobs carry in the exec DB (`executor`) and in `execution.type`. */
export const LOCAL = 'local';

const readText = (p: string): string | null => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return null;
  }
};
const mtimeMs = (p: string): number | null => {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return null;
  }
};
const isDir = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

function readIntFile(p: string): number | null {
  const t = readText(p);
  if (t === null) return null;
  const n = Number(t.trim());
  return t.trim() !== '' && Number.isInteger(n) && n >= 0 ? n : null;
}

/** Progress from artifacts/progress and artifacts/progress_total. */
export function readJobProgress(taskDir: string): JobProgress {
  const progress = readIntFile(join(taskDir, 'artifacts', 'progress'));
  const total = readIntFile(join(taskDir, 'artifacts', 'progress_total'));
  const percent =
    progress !== null && total !== null && total > 0
      ? Math.round((Math.min(progress, total) / total) * 1000) / 10
      : null;
  return { progress, total, percent };
}

/** Parse `<UTC ts> <code>`: split on the last space. Null when malformed. */
export function parseStageExit(text: string): number | null {
  const t = text.trim();
  const sp = t.lastIndexOf(' ');
  if (sp < 0) return null;
  const code = t.slice(sp + 1);
  return /^-?\d+$/.test(code) ? Number(code) : null;
}

/**
 * The state of a local job. `killed` in the DB wins, unless the task was started again after the kill
 * (a rerun by hand writes a newer stage.pre-start).
 */
export function readLocalJobStatus(rec: JobRecord): JobStatus {
  const taskDir = rec.data.output_dir;
  const hasDir = typeof taskDir === 'string' && isDir(taskDir);
  const logs = hasDir ? join(taskDir, 'logs') : '';
  const killed = rec.data.killed === true && !(hasDir && restartedAfterKill(logs, rec));
  if (!hasDir) return { state: killed ? 'killed' : 'pending', progress: null, exitCode: null };
  const progress = readJobProgress(taskDir);
  if (!isDir(logs)) return { state: killed ? 'killed' : 'pending', progress, exitCode: null };
  const exitText = readText(join(logs, 'stage.exit'));
  const exitCode = exitText === null ? null : parseStageExit(exitText);
  if (killed) return { state: 'killed', progress, exitCode };
  if (exitText === null && readText(join(logs, LOST_FILE)) !== null)
    return { state: 'failed', progress, exitCode: null };
  if (exitText !== null) {
    if (exitCode === null) return { state: 'failed', progress, exitCode };
    if (readText(join(taskDir, 'artifacts', '.nemo_evaluator_interrupted')) !== null)
      return { state: 'killed', progress, exitCode };
    return { state: exitCode === 0 ? 'success' : 'failed', progress, exitCode };
  }
  if (readText(join(logs, 'stage.running')) !== null) return { state: 'running', progress, exitCode };
  return { state: 'pending', progress, exitCode };
}

function restartedAfterKill(logs: string, rec: JobRecord): boolean {
  const killedAt = rec.data.killed_at;
  if (typeof killedAt !== 'number') return false;
  const started = mtimeMs(join(logs, 'stage.pre-start'));
  return started !== null && started > killedAt * 1000 + 1000;
}

/** The local executor's status reader (registered in ../registry.ts). */
export const localStatus: ExecutorStatus = {
  readJobStatus: readLocalJobStatus,
  reconcile: (claims) => reconcileLiveness(claims),
  cause: jobCause,
};
