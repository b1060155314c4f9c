/** Child processes with a timeout, wall-clock timing and optional peak-RSS measurement. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  wallMs: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Peak resident set size in KiB (when measured). */
  peakRssKb: number | null;
}

export interface RunChildOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Measure peak RSS (GNU time when present, else /proc polling). */
  measureRss?: boolean;
  /** Keep at most this many characters of stdout/stderr (the tail). */
  keepChars?: number;
}

const GNU_TIME = '/usr/bin/time';
const live = new Set<ChildProcess>();

/** Kill every child still running (used on exit and on SIGINT). */
export function killAllChildren(): void {
  for (const c of live) {
    try {
      if (c.pid) process.kill(-c.pid, 'SIGKILL');
    } catch {
      c.kill('SIGKILL');
    }
  }
  live.clear();
}

function appendTail(prev: string, chunk: Buffer, keep: number): string {
  const s = prev + chunk.toString('utf8');
  return s.length > keep ? s.slice(s.length - keep) : s;
}

function readVmHwmKb(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Run `cmd args` to completion (or timeout: SIGKILL to its process group) and time it. */
export function runChild(cmd: string, args: string[], opts: RunChildOptions): Promise<ChildResult> {
  const keep = opts.keepChars ?? 64 * 1024;
  let timeFile: string | null = null;
  let argv = [cmd, ...args];
  const useGnuTime = opts.measureRss === true && existsSync(GNU_TIME);
  if (useGnuTime) {
    const dir = mkdtempSync(join(tmpdir(), 'nel-bench-time-'));
    timeFile = join(dir, 'rss');
    argv = [GNU_TIME, '-f', '%M', '-o', timeFile, ...argv];
  }
  return new Promise((resolvePromise) => {
    const started = process.hrtime.bigint();
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    live.add(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let polledPeak: number | null = null;
    child.stdout!.on('data', (c: Buffer) => (stdout = appendTail(stdout, c, keep)));
    child.stderr!.on('data', (c: Buffer) => (stderr = appendTail(stderr, c, keep)));
    const poll =
      opts.measureRss && !useGnuTime && child.pid
        ? setInterval(() => {
            const v = readVmHwmKb(child.pid!);
            if (v !== null) polledPeak = Math.max(polledPeak ?? 0, v);
          }, 50)
        : null;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, opts.timeoutMs);
    const finish = (code: number | null, signal: NodeJS.Signals | null, extraErr = ''): void => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      live.delete(child);
      let peak = polledPeak;
      if (timeFile) {
        try {
          const lines = readFileSync(timeFile, 'utf8').trim().split('\n');
          const v = Number(lines[lines.length - 1]);
          if (Number.isFinite(v) && v > 0) peak = v;
        } catch {
          /* no measurement */
        }
        rmSync(join(timeFile, '..'), { recursive: true, force: true });
      }
      resolvePromise({ code, signal, wallMs, stdout, stderr: stderr + extraErr, timedOut, peakRssKb: peak });
    };
    child.on('error', (e) => finish(null, null, `\n${e.message}`));
    child.on('close', (code, signal) => finish(code, signal));
  });
}

/** The last non-empty line of a child's stderr (or stdout), for "not available" reasons. */
export function lastLine(r: ChildResult): string {
  const text = (r.stderr.trim() || r.stdout.trim()).split('\n').filter((l) => l.trim() !== '');
  // a crash ends with "Node.js v20..."; its error line says more
  const errorLine = text.find((l) => /^\s*(?:\w*Error\b|error:)/.test(l));
  const line = errorLine ?? text[text.length - 1] ?? `exit ${r.code ?? r.signal}`;
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

/** Why a child failed, in one line; null when it succeeded. */
export function failureOf(r: ChildResult): string | null {
  if (r.timedOut) return `timed out after ${Math.round(r.wallMs / 1000)} s`;
  if (r.code === 0) return null;
  return `exit ${r.code ?? r.signal}: ${lastLine(r)}`;
}
