/**
 * `--env-file` (default `./.env` when present): KEY=VALUE lines loaded into the environment,
 * never replacing a variable that is already set. Only names are ever reported.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { NelError } from '../common/errors.js';

export interface EnvFileResult {
  /** names set from the file */
  loaded: string[];
  /** names in the file that were already set in the environment */
  skipped: string[];
  /** the file read, or null when there was none */
  path: string | null;
}

/** Parse dotenv text into [name, value] pairs; errors name the file and line, never a value. */
export function parseEnvFile(text: string, source: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) {
      throw new NelError('ENV_INVALID', `invalid line ${n + 1} in env file ${source}: expected NAME=value`, {
        hint: 'each line must be NAME=value (optionally prefixed with export); comments start with #',
      });
    }
    out.push([m[1]!, unquote(m[2]!, source, n + 1)]);
  }
  return out;
}

function unquote(raw: string, source: string, line: number): string {
  const q = raw[0];
  if (q === '"' || q === "'") {
    const end = raw.lastIndexOf(q);
    if (end === 0) {
      throw new NelError('ENV_INVALID', `unclosed quote on line ${line} in env file ${source}`, {
        hint: 'close the quote (multi-line values are not supported)',
      });
    }
    const inner = raw.slice(1, end);
    if (q === "'") return inner;
    return inner.replace(/\\(["\\nrt$])/g, (_, c: string) =>
      c === 'n' ? '\n' : c === 'r' ? '\r' : c === 't' ? '\t' : c,
    );
  }
  const hash = raw.search(/\s#/);
  return (hash === -1 ? raw : raw.slice(0, hash)).trim();
}

/**
 * Load `path` (must exist) or, when undefined, `<cwd>/.env` if present, into `opts.env`.
 * Variables already set (even to '') are kept and reported in `skipped`.
 */
export function loadEnvFile(
  path: string | undefined,
  opts: { cwd: string; env: NodeJS.ProcessEnv },
): EnvFileResult {
  let file: string;
  if (path !== undefined) {
    file = resolve(opts.cwd, path);
    if (!existsSync(file)) {
      throw new NelError('CONFIG_NOT_FOUND', `specified --env-file '${path}' does not exist`, {
        hint: 'check the path, or leave out --env-file to use ./.env when present',
      });
    }
  } else {
    file = resolve(opts.cwd, '.env');
    if (!existsSync(file)) return { loaded: [], skipped: [], path: null };
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new NelError(
      'CONFIG_NOT_FOUND',
      `cannot read env file ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`,
      {
        hint: 'check the file permissions',
      },
    );
  }
  const loaded: string[] = [];
  const skipped: string[] = [];
  for (const [name, value] of parseEnvFile(text, file)) {
    if (opts.env[name] !== undefined) {
      if (!skipped.includes(name)) skipped.push(name);
      continue;
    }
    opts.env[name] = value;
    loaded.push(name);
  }
  return { loaded, skipped, path: file };
}
