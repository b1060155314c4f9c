import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, basename, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * `mkdir -p`: creates the missing directories one level at a time below the nearest existing ancestor.
 * Node's own `mkdirSync(p, { recursive: true })` never returns for some special locations (a path
 * under /proc, whose mkdir answers ENOENT although the parent exists); here every failure is an error
 * with its code (ENOENT, EACCES, ENOTDIR, ENOSPC, ...).
 */
export function mkdirp(path: string): void {
  const missing: string[] = [];
  let p = resolve(path);
  for (;;) {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      missing.push(p);
      const parent = dirname(p);
      if (parent === p) break;
      p = parent;
      continue;
    }
    if (!st.isDirectory()) {
      const err = new Error(`ENOTDIR: not a directory, mkdir '${path}'`) as NodeJS.ErrnoException;
      err.code = 'ENOTDIR';
      err.path = p;
      throw err;
    }
    break;
  }
  for (let i = missing.length - 1; i >= 0; i--) {
    try {
      mkdirSync(missing[i]!);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; // made meanwhile by another process
    }
  }
}

/**
 * Write a file atomically: write a temp file beside it, then rename over the target. A failed write
 * (a full disk, say) removes its temp file.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode?: number): void {
  mkdirp(dirname(path));
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, data, mode !== undefined ? { mode } : undefined);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Append one line with a single write(2) on an O_APPEND descriptor, so that concurrent appenders
 * never interleave within a line (POSIX guarantees atomic positioning for O_APPEND writes on local files).
 */
export function appendLineAtomic(path: string, line: string): void {
  mkdirp(dirname(path));
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
