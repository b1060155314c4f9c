/** Options shared by all suites. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BenchOptions {
  smoke: boolean;
  rounds: number;
  only: string[] | null;
  dataDir: string;
  write: boolean;
  log: (line: string) => void;
}

/** A temp folder removed at the end of the run (and on SIGINT). */
const temps = new Set<string>();

export function makeTemp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `nel-bench-${prefix}-`));
  temps.add(d);
  return d;
}

export function removeTemp(d: string): void {
  rmSync(d, { recursive: true, force: true });
  temps.delete(d);
}

export function removeAllTemps(): void {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
  temps.clear();
}

export function errorText(e: unknown): string {
  const s = e instanceof Error ? e.message : String(e);
  const line = s.split('\n')[0] ?? s;
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}
