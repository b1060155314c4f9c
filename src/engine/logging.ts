/** Engine log lines on stderr: `[I 2026-11-28T10:00:00Z] message key=value`. Level from NEMO_EVALUATOR_LOG_LEVEL / LOG_LEVEL. */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { mkdirp } from '../common/fs.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function parseLogLevel(value: string | undefined): LogLevel {
  const v = (value ?? '').trim().toUpperCase();
  if (v === 'D' || v === 'DEBUG') return 'debug';
  if (v === 'W' || v === 'WARN' || v === 'WARNING') return 'warn';
  if (v === 'E' || v === 'ERROR' || v === 'F' || v === 'FATAL' || v === 'CRITICAL') return 'error';
  return 'info';
}

function formatField(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

export function createLogger(
  opts: { level?: LogLevel; write?: (line: string) => void; env?: NodeJS.ProcessEnv } = {},
): Logger {
  const env = opts.env ?? process.env;
  const level = opts.level ?? parseLogLevel(env.NEMO_EVALUATOR_LOG_LEVEL ?? env.LOG_LEVEL);
  const toStderr = opts.write ?? ((line: string) => process.stderr.write(line));
  // NEMO_EVALUATOR_LOG_DIR: also append every line to <dir>/main.log.
  const logDir = env.NEMO_EVALUATOR_LOG_DIR;
  const write = logDir
    ? (line: string): void => {
        toStderr(line);
        try {
          mkdirp(logDir);
          appendFileSync(join(logDir, 'main.log'), line);
        } catch {
          /* the log file is best effort */
        }
      }
    : toStderr;
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[lvl] < ORDER[level]) return;
    const ts = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const extra = fields
      ? Object.entries(fields)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => ` ${k}=${formatField(v)}`)
          .join('')
      : '';
    write(`[${lvl[0]!.toUpperCase()} ${ts}] ${msg}${extra}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
