import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the folder with package.json), from src/ or dist/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || dir.endsWith('/dist')) {
    const up = dirname(dir);
    if (up === dir) throw new Error('repo root not found');
    dir = up;
  }
  return dir;
}

/** `../shared` beside the repository (test data; never copied into the project). */
export function sharedDir(): string {
  const d = resolve(repoRoot(), '..', 'shared');
  if (!existsSync(d)) throw new Error(`test data folder not found: ${d}`);
  return d;
}

export const sharedPath = (...parts: string[]): string => join(sharedDir(), ...parts);

/** The compiled CLI entry points (tests run against the build). */
export const nelBin = (): string => join(repoRoot(), 'dist', 'src', 'bin', 'nel.js');
export const engineBin = (): string => join(repoRoot(), 'dist', 'src', 'bin', 'nemo-evaluator.js');
