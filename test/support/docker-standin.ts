/**
 * A `docker` stand-in for tests: an executable put first on PATH that records each call as one JSON line
 * ({argv, env}) in a log file and fakes success for run/cp/rm. For `-e NAME` arguments (no `=`) it also
 * records the value NAME had in its environment, i.e. what a real container would have received.
 * The log is a test artefact that holds test values only.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DockerCall {
  argv: string[];
  /** Values of the variables passed by name (`-e NAME`); null when unset. */
  env: Record<string, string | null>;
}

export interface DockerStandin {
  binDir: string;
  logPath: string;
  calls(): DockerCall[];
  /** PATH with the stand-in first. */
  path(basePath?: string): string;
}

export function createDockerStandin(dir: string, opts: { runExitCode?: number } = {}): DockerStandin {
  const binDir = join(dir, 'bin');
  mkdirSync(binDir, { recursive: true });
  const logPath = join(dir, 'docker-calls.jsonl');
  const script = `#!${process.execPath}
const fs = require('node:fs');
const argv = process.argv.slice(2);
const env = {};
for (let i = 0; i < argv.length - 1; i++) {
  if ((argv[i] === '-e' || argv[i] === '--env') && !argv[i + 1].includes('=')) {
    const v = process.env[argv[i + 1]];
    env[argv[i + 1]] = v === undefined ? null : v;
  }
}
fs.appendFileSync(${JSON.stringify(logPath)}, JSON.stringify({ argv, env }) + '\\n');
process.exit(argv[0] === 'run' ? ${opts.runExitCode ?? 0} : 0);
`;
  const bin = join(binDir, 'docker');
  writeFileSync(bin, script);
  chmodSync(bin, 0o755);
  return {
    binDir,
    logPath,
    calls: () =>
      existsSync(logPath)
        ? readFileSync(logPath, 'utf8')
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => JSON.parse(l) as DockerCall)
        : [],
    path: (basePath = process.env.PATH ?? '/usr/bin:/bin') => `${binDir}:${basePath}`,
  };
}
