/** Machine, date and commit for the report header. */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { repoRoot } from './paths.js';

export interface MachineInfo {
  cpuModel: string;
  cpuCount: number;
  memoryGiB: number;
  node: string;
  platform: string;
  date: string;
  commit: string;
  dirty: boolean;
  /** 1-minute load average when the report was written. */
  load1: number;
}

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, {
      cwd: repoRoot(),
      encoding: 'utf8',
      timeout: 10_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return null;
  }
}

export function machineInfo(now: Date = new Date()): MachineInfo {
  const c = cpus();
  return {
    cpuModel: c[0]?.model.trim() ?? 'unknown',
    cpuCount: c.length,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    date: now.toISOString().replace(/\.\d+Z$/, 'Z'),
    commit: git(['rev-parse', '--short', 'HEAD']) ?? 'unknown',
    load1: loadavg()[0] ?? 0,
    dirty: (git(['status', '--porcelain', '--untracked-files=no']) ?? '') !== '',
  };
}
