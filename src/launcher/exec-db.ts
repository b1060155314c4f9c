/**
 * The execution DB: an append-only JSONL file compatible with upstream's `exec.v1.jsonl`.
 * Each record is one line written with a single O_APPEND write, so concurrent writers never interleave.
 * When loaded, the last record of a job wins and invocations keep their jobs in first-seen order.
 *
 * Reading large DBs fast: an index file beside the JSONL (`<db>.index`, e.g. `exec.v1.jsonl.index`)
 * records, per job, the byte offset of its latest record plus a per-invocation summary. It is keyed by
 * the byte offset it has read up to and a fingerprint of the file's first bytes, and is brought up to
 * date incrementally from that offset. The JSONL stays the source of truth: a missing, stale or damaged index is rebuilt from it.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  ftruncateSync,
  fsyncSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { writeFileAtomic, mkdirp } from '../common/fs.js';
import { NelError, errorMessage } from '../common/errors.js';
import { pyJsonDumps } from '../common/pyjson.js';
import { isPlainObject, type Obj } from '../common/objects.js';

export interface JobRecord {
  invocation_id: string;
  job_id: string;
  /** Epoch seconds (float) when the job was created. */
  timestamp: number;
  executor: string;
  data: Obj;
  config: Obj;
}

export interface InvocationTime {
  invocation_id: string;
  earliest_job_ts: number;
  executor: string;
}

export interface InvocationSummary {
  invocation_id: string;
  /** Earliest creation timestamp of its jobs, epoch seconds. */
  earliest_job_ts: number;
  num_jobs: number;
  /** The executor, or `mixed` when jobs differ. */
  executor: string;
  /** Sorted unique task names. */
  benchmarks: string[];
}

/** `$NEMO_EVALUATOR_EXEC_DB_FILE` or `~/.nemo-evaluator/exec-db/exec.v1.jsonl`. */
export function execDbPath(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.NEMO_EVALUATOR_EXEC_DB_FILE;
  if (override && override.trim() !== '') return override;
  return join(env.HOME || homedir(), '.nemo-evaluator', 'exec-db', 'exec.v1.jsonl');
}

/** One record as upstream writes it: Python json.dumps with default separators, keys in insertion order. */
export function serializeJobRecord(rec: JobRecord): string {
  return pyJsonDumps(
    {
      invocation_id: rec.invocation_id,
      job_id: rec.job_id,
      timestamp: rec.timestamp,
      executor: rec.executor,
      data: rec.data,
      config: rec.config,
    },
    false,
  );
}

/** Fail with one line when the DB path exists but is not a regular file (a directory, say). */
export function assertDbPathUsable(dbPath: string): void {
  let st;
  try {
    st = statSync(dbPath);
  } catch {
    return; // missing: created on the first append
  }
  if (st.isDirectory()) {
    throw new NelError('USAGE', `the exec DB path ${dbPath} is a directory, not a file`, {
      hint: 'move the directory away, or point NEMO_EVALUATOR_EXEC_DB_FILE at a file',
    });
  }
}

/**
 * Append records in one write(2) on an O_APPEND descriptor, so concurrent appenders never interleave
 * within a line. When the file does not end with a newline (an append cut short by a full disk or a
 * crash), a newline is written first, in the same write, so the new records start on a fresh line.
 * A write that fails part-way is undone when no other writer appended meanwhile.
 */
export function appendJobRecords(dbPath: string, recs: JobRecord[]): void {
  if (recs.length === 0) return;
  assertDbPathUsable(dbPath);
  const body = recs.map((r) => serializeJobRecord(r) + '\n').join('');
  let fd: number;
  try {
    mkdirp(dirname(dbPath));
    fd = openSync(dbPath, 'a+');
  } catch (e) {
    throw dbWriteError(dbPath, e);
  }
  let before = 0;
  let written = 0;
  try {
    before = fstatSync(fd).size;
    let prefix = '';
    if (before > 0) {
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, before - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    const buf = Buffer.from(prefix + body, 'utf8');
    while (written < buf.length) written += writeSync(fd, buf, written, buf.length - written);
    fsyncSync(fd);
  } catch (e) {
    try {
      if (written > 0 && fstatSync(fd).size === before + written) ftruncateSync(fd, before);
    } catch {
      /* readers skip the partial line; the next append starts on a fresh line */
    }
    throw dbWriteError(dbPath, e);
  } finally {
    closeSync(fd);
  }
}

function dbWriteError(dbPath: string, e: unknown): NelError {
  const code = (e as NodeJS.ErrnoException).code;
  const what =
    code === 'ENOSPC'
      ? 'no space left on device'
      : code === 'EISDIR'
        ? 'it is a directory'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'EROFS'
            ? 'read-only file system'
            : errorMessage(e);
  return new NelError('LAUNCH_FAILED', `cannot write the exec DB ${dbPath}: ${what}`, {
    hint: 'free space or fix permissions there, or point NEMO_EVALUATOR_EXEC_DB_FILE at a writable file',
  });
}

/** Append one record (one atomic write, on a fresh line). */
export function appendJobRecord(dbPath: string, rec: JobRecord): void {
  appendJobRecords(dbPath, [rec]);
}

/**
 * Parse one line into a record; null for a damaged line: not JSON, or JSON of the wrong shape (no
 * string ids and executor, no numeric timestamp, data/config not objects).
 */
export function parseRecordLine(line: string): JobRecord | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (!isPlainObject(v)) return null;
  const { invocation_id, job_id, executor, timestamp, data, config } = v;
  if (typeof invocation_id !== 'string' || typeof job_id !== 'string' || typeof executor !== 'string')
    return null;
  if (invocation_id === '' || job_id === '') return null;
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp) || timestamp <= 0) return null;
  if (!isPlainObject(data)) return null;
  if (config !== undefined && !isPlainObject(config)) return null;
  return { invocation_id, job_id, executor, timestamp, data, config: config ?? {} };
}

/** Task name of a job from its stored config (`evaluation.tasks[index].name`). */
export function taskNameOf(rec: JobRecord): string | undefined {
  const idx = Number(rec.job_id.slice(rec.job_id.lastIndexOf('.') + 1));
  const evaluation = rec.config.evaluation;
  const tasks = isPlainObject(evaluation) ? evaluation.tasks : undefined;
  if (Array.isArray(tasks) && Number.isInteger(idx)) {
    const t = tasks[idx];
    if (isPlainObject(t) && typeof t.name === 'string') return t.name;
  }
  const dir = rec.data.output_dir;
  if (typeof dir === 'string') {
    const base = dir.split('/').filter(Boolean).pop() ?? '';
    return base.replace(/\.\d+$/, '') || undefined;
  }
  return undefined;
}

const INDEX_MAGIC = 'nel-exec-index';
const INDEX_VERSION = 5;
const FINGERPRINT_BYTES = 4096;

/**
 * Per invocation: [earliest timestamp, executors joined by '\n', task names joined by '\n',
 * flat job list [id, byte offset of its latest record, byte length, ...]]. A job id that is
 * `<invocation>.<n>` is stored as `.<n>`.
 */
type IndexedInvocation = [number, string, string, (string | number)[]];

/**
 * The index in memory: either the bytes of the index file, searched without decoding all of it (a
 * status call parses one line), or parsed entries (after the JSONL grew and the index was updated).
 */
interface IndexState {
  /** Bytes of the JSONL consumed (always ends after a newline). */
  offset: number;
  /** sha1 of the first min(offset, 4096) bytes: detects a replaced or rewritten file. */
  fingerprint: string;
  damagedLines: number;
  /** Newline-terminated lines consumed (the line number of the line ending at `offset`). */
  lines: number;
  /** 1-based number of the first damaged line, 0 when none. */
  firstDamagedLine: number;
  /** Parsed entries; insertion order is the first-seen order of invocations. Null while `raw` is used. */
  entries: Map<string, IndexedInvocation> | null;
  /** The index file's entry lines, starting with the newline that ends the header line. */
  raw: Buffer | null;
  /** `raw` lines are in non-decreasing earliest-timestamp order. */
  sortedByTime?: boolean;
}

function emptyIndex(): IndexState {
  return {
    offset: 0,
    fingerprint: '',
    damagedLines: 0,
    lines: 0,
    firstDamagedLine: 0,
    entries: new Map(),
    raw: null,
  };
}

const splitList = (s: string): string[] => (s === '' ? [] : s.split('\n'));
const executorOf = (joined: string): string =>
  joined === '' ? 'unknown' : joined.includes('\n') ? 'mixed' : joined;

/** The index beside the JSONL: a line-oriented text file (format below). */
export const indexPathFor = (dbPath: string): string => `${dbPath}.index`;

// ---- index file format ----------------------------------------------------------------------
// Line 1: `nel-exec-index <TAB> 5 <TAB> offset <TAB> fingerprint <TAB> damaged lines <TAB> 1 when the
// earliest timestamps never decrease from line to line (so the newest are read from the tail), else 0
// <TAB> lines consumed <TAB> number of the first damaged line (0: none)`.
// Then one line per invocation, first-seen order: `lower-cased id <TAB> id when it differs, else
// empty <TAB> earliest ts <TAB> executor label <TAB> JSON [executors, task names, flat job list]`.
// Tabs, newlines and backslashes in ids and the label are backslash-escaped (escaping keeps prefixes,
// so a prefix search is a byte search for `\n<escaped lower-cased prefix>`); the JSON has none raw.

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const UNESCAPES: Record<string, string> = { '\\': '\\', t: '\t', n: '\n', r: '\r' };
const escapeField = (s: string): string =>
  /[\\\t\n\r]/.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]!) : s;
const unescapeField = (s: string): string =>
  s.includes('\\') ? s.replace(/\\(.)/g, (_m, c: string) => UNESCAPES[c] ?? c) : s;

function encodeLine(id: string, e: IndexedInvocation): string {
  const lower = id.toLowerCase();
  return (
    `${escapeField(lower)}\t${lower === id ? '' : escapeField(id)}\t${e[0]}\t` +
    `${escapeField(executorOf(e[1]))}\t${JSON.stringify([e[1], e[2], e[3]])}\n`
  );
}

interface RawLine {
  id: string;
  ts: number;
  executor: string;
  /** Where the JSON column starts and the line ends (exclusive), in the raw buffer. */
  jsonStart: number;
  end: number;
}

/** The columns of the line starting at `start` (just after its newline); null when damaged. */
function rawLineAt(buf: Buffer, start: number): RawLine | null {
  const end = buf.indexOf(0x0a, start);
  if (end < 0) return null;
  const tabs: number[] = [];
  let p = start;
  for (let k = 0; k < 4; k++) {
    p = buf.indexOf(0x09, p);
    if (p < 0 || p > end) return null;
    tabs.push(p++);
  }
  const [t1, t2, t3, t4] = tabs as [number, number, number, number];
  const id = unescapeField(buf.toString('utf8', t2 > t1 + 1 ? t1 + 1 : start, t2 > t1 + 1 ? t2 : t1));
  const ts = Number(buf.toString('latin1', t2 + 1, t3));
  if (id === '' || !Number.isFinite(ts)) return null;
  return { id, ts, executor: unescapeField(buf.toString('utf8', t3 + 1, t4)), jsonStart: t4 + 1, end };
}

function decodeEntry(buf: Buffer, line: RawLine): IndexedInvocation | null {
  try {
    const v = JSON.parse(buf.toString('utf8', line.jsonStart, line.end)) as unknown;
    if (!Array.isArray(v) || v.length !== 3) return null;
    const [executors, tasks, flat] = v as unknown[];
    if (typeof executors !== 'string' || typeof tasks !== 'string' || !Array.isArray(flat)) return null;
    return [line.ts, executors, tasks, flat as (string | number)[]];
  } catch {
    return null;
  }
}

/** Every line of a raw index, in order; null when any is damaged. */
function rawLines(buf: Buffer): RawLine[] | null {
  const out: RawLine[] = [];
  for (let p = 1; p < buf.length;) {
    const line = rawLineAt(buf, p);
    if (!line) return null;
    out.push(line);
    p = line.end + 1;
  }
  return out;
}

/**
 * Start offsets of the lines whose lower-cased id starts with `lowerPrefix` (or equals it: `exact`),
 * lazily, so a caller looking for one id stops at its line.
 */
function* findRawLines(buf: Buffer, lowerPrefix: string, exact: boolean): Generator<number> {
  const needle = Buffer.from(`\n${escapeField(lowerPrefix)}${exact ? '\t' : ''}`, 'utf8');
  for (let p = buf.indexOf(needle); p >= 0 && p < buf.length - 1; p = buf.indexOf(needle, p + 1)) {
    yield p + 1;
  }
}

function serializeIndex(idx: IndexState, entries: Map<string, IndexedInvocation>): string {
  const parts: string[] = [];
  let sorted = true;
  let last = -Infinity;
  for (const [id, e] of entries) {
    parts.push(encodeLine(id, e));
    if (e[0] < last) sorted = false;
    last = e[0];
  }
  const head = [
    INDEX_MAGIC,
    INDEX_VERSION,
    idx.offset,
    idx.fingerprint,
    idx.damagedLines,
    sorted ? 1 : 0,
    idx.lines,
    idx.firstDamagedLine,
  ];
  return `${head.join('\t')}\n${parts.join('')}`;
}

function readIndex(path: string): IndexState | null {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch {
    return null;
  }
  const nl = buf.indexOf(0x0a);
  if (nl < 0 || buf[buf.length - 1] !== 0x0a) return null; // a complete file ends with a newline
  const head = buf.toString('latin1', 0, nl).split('\t');
  if (head.length !== 8 || head[0] !== INDEX_MAGIC || head[1] !== String(INDEX_VERSION)) return null;
  const offset = Number(head[2]);
  const damagedLines = Number(head[4]);
  const lines = Number(head[6]);
  const firstDamagedLine = Number(head[7]);
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(damagedLines)) return null;
  if (!Number.isSafeInteger(lines) || !Number.isSafeInteger(firstDamagedLine)) return null;
  return {
    offset,
    fingerprint: head[3]!,
    damagedLines,
    lines,
    firstDamagedLine,
    entries: null,
    raw: buf.subarray(nl),
    sortedByTime: head[5] === '1',
  };
}

/** Thrown when a raw index turns out damaged: the caller rebuilds from the JSONL. */
class IndexDamaged extends Error {}

/** The parsed entries of an index (all of a raw index decoded). */
function entriesOf(idx: IndexState): Map<string, IndexedInvocation> {
  if (idx.entries) return idx.entries;
  const buf = idx.raw!;
  const lines = rawLines(buf);
  if (!lines) throw new IndexDamaged();
  const entries = new Map<string, IndexedInvocation>();
  for (const line of lines) {
    const e = decodeEntry(buf, line);
    if (!e) throw new IndexDamaged();
    entries.set(line.id, e);
  }
  idx.entries = entries;
  idx.raw = null;
  idx.sortedByTime = false;
  return entries;
}

export interface ExecDbOptions {
  /** Keep the index file up to date (default true). Without it the whole JSONL is read each time. */
  useIndex?: boolean;
}

/** A loaded view of the exec DB. Records are read from the JSONL on demand by byte offset. */
export class ExecDb {
  readonly path: string;
  /** Warnings collected while loading (at most one about damaged lines). */
  readonly warnings: string[] = [];
  private index: IndexState = emptyIndex();
  private cache = new Map<string, JobRecord>();
  /** Entries parsed from a raw index. */
  private parsed = new Map<string, IndexedInvocation>();
  private useIndex = true;

  private constructor(path: string) {
    this.path = path;
  }

  static open(path: string, opts: ExecDbOptions = {}): ExecDb {
    const db = new ExecDb(path);
    db.useIndex = opts.useIndex ?? true;
    db.load(db.useIndex ? readIndex(indexPathFor(path)) : null);
    return db;
  }

  /** Run `f` on the index; a damaged raw index is rebuilt from the JSONL and `f` runs again. */
  private withIndex<T>(f: (idx: IndexState) => T): T {
    try {
      return f(this.index);
    } catch (e) {
      if (!(e instanceof IndexDamaged)) throw e;
      this.load(null);
      return f(this.index);
    }
  }

  /** Invocation ids in first-seen order. */
  invocationIds(): string[] {
    return this.withIndex((idx) => {
      if (idx.entries) return [...idx.entries.keys()];
      const lines = rawLines(idx.raw!);
      if (!lines) throw new IndexDamaged();
      return lines.map((l) => l.id);
    });
  }

  /** Invocation ids whose lower-cased form starts with `lowerPrefix`, first-seen order. */
  invocationsWithPrefix(lowerPrefix: string): string[] {
    return this.withIndex((idx) => {
      if (idx.entries) return [...idx.entries.keys()].filter((i) => i.toLowerCase().startsWith(lowerPrefix));
      return [...findRawLines(idx.raw!, lowerPrefix, false)].map((p) => {
        const line = rawLineAt(idx.raw!, p);
        if (!line) throw new IndexDamaged();
        return line.id;
      });
    });
  }

  hasInvocation(inv: string): boolean {
    return this.entry(inv) !== undefined;
  }

  /** The parsed index entry of an invocation. */
  private entry(inv: string): IndexedInvocation | undefined {
    return this.withIndex((idx) => {
      if (idx.entries) return idx.entries.get(inv);
      const hit = this.parsed.get(inv);
      if (hit) return hit;
      const buf = idx.raw!;
      for (const p of findRawLines(buf, inv.toLowerCase(), true)) {
        const line = rawLineAt(buf, p);
        if (!line) throw new IndexDamaged();
        if (line.id !== inv) continue;
        const e = decodeEntry(buf, line);
        if (!e) throw new IndexDamaged();
        this.parsed.set(inv, e);
        return e;
      }
      return undefined;
    });
  }

  /** Job ids of an invocation in first-seen order. */
  jobIdsOf(inv: string): string[] {
    const entry = this.entry(inv);
    if (!entry) return [];
    const out: string[] = [];
    const flat = entry[3];
    for (let i = 0; i < flat.length; i += 3) {
      const id = flat[i] as string;
      out.push(id.startsWith('.') ? inv + id : id);
    }
    return out;
  }

  private locate(jobId: string): [number, number] | undefined {
    const dot = jobId.lastIndexOf('.');
    const tryInv = (inv: string, key: string): [number, number] | undefined => {
      const flat = this.entry(inv)?.[3];
      if (!flat) return undefined;
      for (let i = 0; i < flat.length; i += 3)
        if (flat[i] === key) return [flat[i + 1] as number, flat[i + 2] as number];
      return undefined;
    };
    if (dot > 0) {
      const hit = tryInv(jobId.slice(0, dot), jobId.slice(dot));
      if (hit) return hit;
    }
    for (const inv of this.invocationIds()) {
      const hit = tryInv(inv, jobId);
      if (hit) return hit;
    }
    return undefined;
  }

  hasJob(jobId: string): boolean {
    return this.locate(jobId) !== undefined;
  }

  /** The latest record of a job. */
  getJob(jobId: string): JobRecord | undefined {
    const hit = this.cache.get(jobId);
    if (hit) return hit;
    const rec = this.readAt(jobId);
    if (rec !== 'stale') return rec;
    // The file was rewritten under an index that looked valid: rebuild from the JSONL once.
    this.load(null);
    const again = this.readAt(jobId);
    return again === 'stale' ? undefined : again;
  }

  private readAt(jobId: string): JobRecord | undefined | 'stale' {
    const loc = this.locate(jobId);
    if (!loc) return undefined;
    const [offset, length] = loc;
    let text: string;
    const fd = openSync(this.path, 'r');
    try {
      const buf = Buffer.alloc(length);
      const n = readSync(fd, buf, 0, length, offset);
      text = buf.subarray(0, n).toString('utf8');
    } finally {
      closeSync(fd);
    }
    const rec = parseRecordLine(text);
    if (rec === null || rec.job_id !== jobId) return 'stale';
    this.cache.set(jobId, rec);
    return rec;
  }

  /** All jobs of an invocation (latest records), first-seen order. */
  jobsOf(inv: string): JobRecord[] {
    return this.jobIdsOf(inv)
      .map((j) => this.getJob(j))
      .filter((r): r is JobRecord => r !== undefined);
  }

  /** Summary of one invocation (undefined when unknown). */
  summaryOf(inv: string): InvocationSummary | undefined {
    const entry = this.entry(inv);
    if (!entry) return undefined;
    const [earliest, executorsText, tasksText, flat] = entry;
    return {
      invocation_id: inv,
      earliest_job_ts: earliest,
      num_jobs: flat.length / 3,
      executor: executorOf(executorsText),
      benchmarks: splitList(tasksText).sort(),
    };
  }

  /** Creation time and executor of every invocation: cheap, for sorting and filtering. */
  invocationTimes(): InvocationTime[] {
    return this.withIndex((idx) => {
      if (idx.entries) {
        return [...idx.entries].map(([inv, e]) => ({
          invocation_id: inv,
          earliest_job_ts: e[0],
          executor: executorOf(e[1]),
        }));
      }
      const lines = rawLines(idx.raw!);
      if (!lines) throw new IndexDamaged();
      return lines.map((l) => ({ invocation_id: l.id, earliest_job_ts: l.ts, executor: l.executor }));
    });
  }

  /**
   * Invocations that pass `keep`, newest first (ties in first-seen order), at most `limit`. With an
   * index in time order only the tail is read.
   */
  newestInvocations(keep: (t: InvocationTime) => boolean, limit?: number): InvocationTime[] {
    if (limit !== undefined && limit <= 0) return [];
    const byTimeDesc = (a: InvocationTime, b: InvocationTime) => b.earliest_job_ts - a.earliest_job_ts;
    const tail =
      limit !== undefined && this.index.sortedByTime && this.index.raw
        ? this.withIndex((idx) => (idx.raw ? this.newestFromTail(idx.raw, keep, limit) : null))
        : null;
    const picked = tail ?? this.invocationTimes().filter(keep);
    picked.sort(byTimeDesc);
    return limit === undefined ? picked : picked.slice(0, limit);
  }

  /**
   * From a raw index in time order: walk lines from the end, keeping those that pass `keep`, until
   * `limit` are kept and the next line is strictly older than the last kept. Returned in file order;
   * the kept lines' entries are remembered, so their summaries need no search.
   */
  private newestFromTail(buf: Buffer, keep: (t: InvocationTime) => boolean, limit: number): InvocationTime[] {
    const out: InvocationTime[] = [];
    let end = buf.length - 1; // the newline ending the last line
    while (end > 0) {
      const start = buf.lastIndexOf(0x0a, end - 1) + 1;
      const line = rawLineAt(buf, start);
      if (!line) throw new IndexDamaged();
      if (out.length >= limit && line.ts < out[out.length - 1]!.earliest_job_ts) break;
      const t = { invocation_id: line.id, earliest_job_ts: line.ts, executor: line.executor };
      if (keep(t)) {
        const e = decodeEntry(buf, line);
        if (!e) throw new IndexDamaged();
        this.parsed.set(line.id, e);
        out.push(t);
      }
      end = start - 1;
    }
    return out.reverse();
  }

  summaries(): InvocationSummary[] {
    return this.invocationIds().map((inv) => this.summaryOf(inv)!);
  }

  /** Append a record to the file and to this view. */
  append(rec: JobRecord): void {
    appendJobRecord(this.path, rec);
    this.load(this.index);
  }

  /** Bring `idx` (null: rebuild) up to date with the file. */
  private load(start: IndexState | null): void {
    assertDbPathUsable(this.path);
    if (!existsSync(this.path)) {
      this.index = emptyIndex();
      return;
    }
    let idx = start;
    const fd = openSync(this.path, 'r');
    let changed = false;
    try {
      const size = fstatSync(fd).size;
      if (idx && !indexStillValid(fd, idx, size)) idx = null;
      if (!idx) {
        idx = emptyIndex();
        changed = true;
      }
      if (size > idx.offset) {
        try {
          changed = scanFrom(fd, idx, size) || changed;
        } catch (e) {
          if (!(e instanceof IndexDamaged)) throw e;
          idx = emptyIndex();
          changed = true;
          scanFrom(fd, idx, size);
        }
      }
      if (idx.offset > 0 && !idx.fingerprint) idx.fingerprint = fingerprintFd(fd, idx.offset);
    } finally {
      closeSync(fd);
    }
    this.index = idx;
    this.cache.clear();
    this.parsed.clear();
    this.warnings.length = 0;
    if (idx.damagedLines > 0) {
      const n = idx.damagedLines;
      const where =
        idx.firstDamagedLine > 0 ? ` (line ${idx.firstDamagedLine}${n > 1 ? ' and later' : ''})` : '';
      this.warnings.push(
        `skipped ${n} damaged line${n === 1 ? '' : 's'} in the exec DB ${this.path}${where}`,
      );
    }
    if (this.useIndex && changed) {
      try {
        writeFileAtomic(indexPathFor(this.path), serializeIndex(idx, entriesOf(idx)));
      } catch {
        /* a read-only location only costs speed */
      }
    }
  }
}

function fingerprintFd(fd: number, offset: number): string {
  const n = Math.min(offset, FINGERPRINT_BYTES);
  const buf = Buffer.alloc(n);
  readSync(fd, buf, 0, n, 0);
  return createHash('sha1').update(buf).digest('hex');
}

function indexStillValid(fd: number, idx: IndexState, size: number): boolean {
  if (size < idx.offset) return false;
  if (idx.offset === 0) return true;
  return fingerprintFd(fd, idx.offset) === idx.fingerprint;
}

/** Read complete lines from idx.offset to size and fold them into idx. Returns whether anything changed. */
function scanFrom(fd: number, idx: IndexState, size: number): boolean {
  const CHUNK = 4 * 1024 * 1024;
  let pos = idx.offset;
  let carry: Buffer = Buffer.alloc(0);
  let carryStart = pos;
  let changed = false;
  const oldOffset = idx.offset;
  while (pos < size) {
    const n = Math.min(CHUNK, size - pos);
    const buf = Buffer.alloc(n);
    const got = readSync(fd, buf, 0, n, pos);
    if (got <= 0) break;
    pos += got;
    const data = carry.length > 0 ? Buffer.concat([carry, buf.subarray(0, got)]) : buf.subarray(0, got);
    let lineStart = 0;
    for (;;) {
      const nl = data.indexOf(0x0a, lineStart);
      if (nl < 0) break;
      const abs = carryStart + lineStart;
      const len = nl - lineStart;
      idx.lines++;
      if (len > 0) foldLine(idx, data.subarray(lineStart, nl), abs, len);
      lineStart = nl + 1;
      idx.offset = carryStart + lineStart;
      changed = true;
    }
    carry = Buffer.from(data.subarray(lineStart));
    carryStart = carryStart + lineStart;
  }
  // A trailing partial line (a writer mid-append) is left for the next load.
  if (changed && oldOffset < FINGERPRINT_BYTES) idx.fingerprint = '';
  return changed;
}

function foldLine(idx: IndexState, bytes: Buffer, offset: number, length: number): void {
  const text = bytes.toString('utf8');
  if (text.trim() === '') return;
  const rec = parseRecordLine(text);
  if (rec === null) {
    idx.damagedLines++;
    if (idx.firstDamagedLine === 0) idx.firstDamagedLine = idx.lines;
    return;
  }
  const inv = rec.invocation_id;
  const entries = entriesOf(idx);
  let entry = entries.get(inv);
  if (!entry) {
    entry = [rec.timestamp, '', '', []];
    entries.set(inv, entry);
  }
  const key = rec.job_id.startsWith(inv + '.') ? rec.job_id.slice(inv.length) : rec.job_id;
  const flat = entry[3];
  let found = false;
  for (let i = 0; i < flat.length; i += 3) {
    if (flat[i] === key) {
      flat[i + 1] = offset;
      flat[i + 2] = length;
      found = true;
      break;
    }
  }
  if (!found) flat.push(key, offset, length);
  if (rec.timestamp && (!entry[0] || rec.timestamp < entry[0])) entry[0] = rec.timestamp;
  const executors = splitList(entry[1]);
  if (!executors.includes(rec.executor)) entry[1] = [...executors, rec.executor].join('\n');
  const task = taskNameOf(rec);
  const tasks = splitList(entry[2]);
  if (task && !tasks.includes(task)) entry[2] = [...tasks, task].join('\n');
}

/** Open the DB at the path given, or at execDbPath(env). */
export function openExecDb(opts: { dbPath?: string; env?: NodeJS.ProcessEnv } = {}): ExecDb {
  return ExecDb.open(opts.dbPath ?? execDbPath(opts.env ?? process.env));
}
