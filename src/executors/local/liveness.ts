/**
 * Telling a live job from a dead one, for `nel status` and `nel run --wait`. The files of a job say
 * RUNNING (or PENDING) until its script writes stage.exit; when that script was killed, nothing ever
 * will. Only jobs that claim RUNNING or PENDING are probed, and cheaply:
 *
 * - the script running a job writes its PID to logs/stage.script.pid; while that process lives (same
 *   start time), the files are trusted. Older job dirs without the file fall back to the invocation's
 *   supervisors (.nel-launch.json);
 * - when the script is gone: in host mode, a live engine (logs/stage.pid) means RUNNING still; in
 *   Docker mode one `docker ps -a` (for all such jobs together) finds the job's containers by label: a
 *   running client container means RUNNING; an exited one decides SUCCESS/FAILED by its exit code,
 *   which is written to stage.exit (so the state sticks) before the job's containers are removed;
 * - nothing left of the job: FAILED, with the cause written to logs/stage.lost.
 */
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  containersWithLabelSync,
  removeContainersSync,
  type LabelledContainer,
} from '../../runtime/docker.js';
import type { Claim } from '../types.js';
import { LOST_FILE } from './cause.js';
import { hostEnginePid, livePidFromFile, readLaunchRecord, supervisorStillRunning } from './procs.js';

/** Written by a job's script when it starts the job: the PID of that script. */
export const OWNER_FILE = 'stage.script.pid';

/** A launch or resume whose supervisor is not recorded yet is trusted this long. */
const START_GRACE_MS = 10_000;

export type { Claim } from '../types.js';

const utc = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function note(logs: string, line: string, now: number): void {
  try {
    appendFileSync(join(logs, 'stdout.log'), `${utc(now)} ${line}\n`);
  } catch {
    /* the note is a courtesy */
  }
}

/** Record that nothing of the job is left: stage.lost holds the cause (read back as FAILED). */
function markLost(c: Claim, cause: string, hint: string, now: number): void {
  const logs = join(c.rec.data.output_dir as string, 'logs');
  const line = `error: ${cause} (hint: ${hint})`;
  try {
    writeFileSync(join(logs, LOST_FILE), line + '\n');
  } catch {
    /* reported anyway */
  }
  note(logs, `nel status: ${line}`, now);
  c.entry.status = 'failed';
  c.entry.cause = cause;
  c.entry.hint = hint;
}

/**
 * Correct the entries of jobs whose files claim RUNNING or PENDING but whose processes are gone.
 * Mutates the entries (status, cause, hint) and writes stage.exit / stage.lost so the state sticks.
 */
export function reconcileLiveness(claims: Claim[], now = Date.now()): void {
  const launches = new Map<string, ReturnType<typeof readLaunchRecord>>();
  const launchOf = (invDir: string) => {
    if (!launches.has(invDir)) launches.set(invDir, readLaunchRecord(invDir));
    return launches.get(invDir)!;
  };
  /**
   * Whether a supervisor of the invocation lives: true/false, or null when the supervisor of this
   * attempt (started at `attemptMs`) is not recorded yet (a launch or resume in progress, trusted
   * for a few seconds) or there is no launch record at all.
   */
  const supervisorAlive = (invDir: string, attemptMs: number): boolean | null => {
    const rec = launchOf(invDir);
    if (!rec) return null;
    if (rec.scripts.some(supervisorStillRunning)) return true;
    const recorded = rec.scripts.some((sc) => Date.parse(sc.startedAt) >= attemptMs - 1000);
    return recorded || now - attemptMs >= START_GRACE_MS ? false : null;
  };
  const dockerProbe: Claim[] = [];
  for (const c of claims) {
    const st = c.entry.status;
    if (st !== 'running' && st !== 'pending') continue;
    const taskDir = c.rec.data.output_dir;
    if (typeof taskDir !== 'string') continue;
    const logs = join(taskDir, 'logs');
    const ownerFile = join(logs, OWNER_FILE);
    if (existsSync(ownerFile)) {
      if (livePidFromFile(ownerFile) !== null) continue;
    } else {
      const resumedAt = typeof c.rec.data.resumed_at === 'number' ? c.rec.data.resumed_at : 0;
      const attemptMs = Math.max(c.rec.timestamp, resumedAt) * 1000;
      if (supervisorAlive(dirname(taskDir), attemptMs) !== false) continue;
    }
    const inv = c.rec.invocation_id;
    if (st === 'pending') {
      if (!existsSync(join(logs, 'stage.pre-start')) && !existsSync(ownerFile)) {
        markLost(
          c,
          'the job never started: the script that was to run it is gone (killed?)',
          `nel resume ${inv} runs it`,
          now,
        );
        continue;
      }
    }
    if (c.rec.data.use_docker === false) {
      if (hostEnginePid(taskDir) !== null) continue; // the engine outlived its script: still working
      markLost(
        c,
        "the job's processes are gone (killed?)",
        `nel resume ${inv} continues from the cache`,
        now,
      );
    } else {
      dockerProbe.push(c);
    }
  }
  if (dockerProbe.length === 0) return;
  const containers = containersWithLabelSync('nel.job');
  if (containers === null) return; // docker cannot be asked: leave the claims as they are
  const byJob = new Map<string, LabelledContainer[]>();
  for (const k of containers) byJob.set(k.value, [...(byJob.get(k.value) ?? []), k]);
  const remove: string[] = [];
  for (const c of dockerProbe) {
    const mine = byJob.get(c.rec.job_id) ?? [];
    const clients = mine.filter((k) => (k.labels['nel.role'] ?? 'client') === 'client');
    if (clients.some((k) => k.state !== 'exited' && k.state !== 'dead')) continue; // still evaluating
    const logs = join(c.rec.data.output_dir as string, 'logs');
    const exited = clients.find((k) => k.exitCode !== null);
    if (exited && c.entry.status === 'running') {
      const code = exited.exitCode!;
      const interrupted = existsSync(
        join(c.rec.data.output_dir as string, 'artifacts', '.nemo_evaluator_interrupted'),
      );
      try {
        writeFileSync(join(logs, 'stage.exit'), `${utc(now)} ${code}\n`);
      } catch {
        /* reported below anyway */
      }
      note(
        logs,
        `nel status: the job's script is gone; its container exited with code ${code}; recorded in stage.exit`,
        now,
      );
      c.entry.status = interrupted ? 'killed' : code === 0 ? 'success' : 'failed';
    } else {
      markLost(
        c,
        "the job's processes are gone (killed?)",
        `nel resume ${c.rec.invocation_id} continues from the cache`,
        now,
      );
    }
    remove.push(...mine.map((k) => k.id));
  }
  removeContainersSync(remove);
}
