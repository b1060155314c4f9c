import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync, writeFileSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Write a file atomically: write a temp file beside it, then rename over the target. */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode?: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  writeFileSync(tmp, data, mode !== undefined ? { mode } : undefined);
  renameSync(tmp, path);
}

/**
 * Append one line with a single write(2) on an O_APPEND descriptor, so that concurrent appenders
 * never interleave within a line (POSIX guarantees atomic positioning for O_APPEND writes on local files).
 */
export function appendLineAtomic(path: string, line: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const buf = Buffer.from(line.endsWith('\n') ? line : line + '\n', 'utf8');
  const fd = openSync(path, 'a');
  try {
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
