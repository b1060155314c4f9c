/**
 * Typed errors with a stable code, a one-line message and a hint.
 * The CLI prints `error: <message>` and `hint: <hint>` and exits with `exitCode`;
 * library code only throws.
 */
export type ErrorCode =
  | 'CONFIG_NOT_FOUND'
  | 'CONFIG_PARSE'
  | 'CONFIG_GROUP'
  | 'CONFIG_OVERRIDE'
  | 'CONFIG_INTERPOLATION'
  | 'CONFIG_MISSING_VALUE'
  | 'CONFIG_INVALID'
  | 'TASK_NOT_FOUND'
  | 'TASK_AMBIGUOUS'
  | 'TASK_UNLISTED'
  | 'TASK_FILTER'
  | 'ENV_UNSET'
  | 'ENV_INVALID'
  | 'UNTRUSTED_CMD'
  | 'OUTPUT_DIR'
  | 'DOCKER_UNAVAILABLE'
  | 'LAUNCH_FAILED'
  | 'JOB_NOT_FOUND'
  | 'ID_AMBIGUOUS'
  | 'EXPORT_FAILED'
  | 'USAGE'
  | 'ENGINE_CONFIG'
  | 'ENGINE_DATASET'
  | 'ENGINE_ENDPOINT'
  | 'ENGINE_RUN'
  | 'IMAGE_BUILD'
  | 'INTERNAL';

export class NelError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly exitCode: number;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { hint?: string; exitCode?: number; cause?: unknown } = {},
  ) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'NelError';
    this.code = code;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? 1;
  }
}

export function isNelError(e: unknown): e is NelError {
  return e instanceof NelError;
}

/** One line, whatever the error: for messages that wrap lower-level failures. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n')[0] ?? String(e);
  return String(e);
}

const SYSTEM_ERRORS: Record<string, { what: string; hint: string }> = {
  ENOSPC: { what: 'no space left on device', hint: 'free some space there, or choose another location' },
  EDQUOT: { what: 'disk quota exceeded', hint: 'free some space there, or choose another location' },
  EROFS: { what: 'read-only file system', hint: 'choose a writable location' },
  EACCES: { what: 'permission denied', hint: 'choose a location you can write, or fix its permissions' },
  EPERM: { what: 'operation not permitted', hint: 'choose a location you can write, or fix its permissions' },
  ENOTDIR: { what: 'not a directory', hint: 'a part of the path is a file' },
  EISDIR: { what: 'is a directory', hint: 'give the path of a file, not of a directory' },
  EMFILE: { what: 'too many open files', hint: 'raise the limit (ulimit -n) or run fewer tasks at once' },
};

/**
 * A file-system error (ENOSPC, EACCES, ...) as a NelError `<what>: <path>` with a hint, or null when
 * `e` is not one. Used where such an error would otherwise reach the user as an internal error.
 */
export function systemError(e: unknown, fallbackPath?: string): NelError | null {
  const err = e as NodeJS.ErrnoException | undefined;
  const code = typeof err?.code === 'string' ? err.code : undefined;
  const known = code ? SYSTEM_ERRORS[code] : undefined;
  if (!known) return null;
  const path = err?.path ?? fallbackPath;
  return new NelError('OUTPUT_DIR', path ? `${known.what}: ${path}` : `${known.what} (${code})`, {
    hint: known.hint,
    cause: e,
  });
}
