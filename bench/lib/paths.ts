/** Where things are: the repository root, the shared test data beside it, the compiled CLIs. */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder with package.json, found from bench/ (tsx) or dist/bench/ (compiled). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || dir.endsWith('/dist')) {
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root not found');
    dir = up;
  }
  return dir;
}

/** `../shared/data` beside the repository, or the folder given with --data. */
export function dataDir(given?: string): string {
  return given ? resolve(given) : resolve(repoRoot(), '..', 'shared', 'data');
}

export const nelBin = (): string => join(repoRoot(), 'dist', 'src', 'bin', 'nel.js');
export const engineBin = (): string => join(repoRoot(), 'dist', 'src', 'bin', 'nemo-evaluator.js');

/** Whether this module runs from TypeScript sources (tsx) rather than dist/. */
export const runningFromSources = (): boolean => fileURLToPath(import.meta.url).endsWith('.ts');

/** A script of the bench as a node argv: `[--import tsx] <file>` (sources) or `<file>.js` (dist). */
export function benchScriptArgs(relativeToBench: string): string[] {
  const here = dirname(fileURLToPath(import.meta.url)); // .../bench/lib
  const base = join(here, '..', relativeToBench);
  return runningFromSources() ? ['--import', 'tsx', `${base}.ts`] : [`${base}.js`];
}

/** Cache folder for peers installed at bench time (outside the repository). */
export function benchCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.NEL_BENCH_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'nel-bench');
}
