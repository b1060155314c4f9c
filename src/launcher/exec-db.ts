/**
 * The execution DB: an append-only JSONL file compatible with upstream's `exec.v1.jsonl`.
 * Each record is one line written with a single O_APPEND write, so concurrent writers never interleave.
 * When loaded, the last record of a job wins and invocations keep their jobs in first-seen order.
 *
 * Reading large DBs fast: an index file beside the JSONL (`<db>.index.json`) records, per job, the byte
 * offset of its latest record plus a per-invocation summary. It is keyed by the byte offset it has read
 * up to and a fingerprint of the file's first bytes, and is brought up to date incrementally from that
 * offset. The JSONL stays the source of truth: a missing, stale or damaged index is rebuilt from it.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { appendLineAtomic, writeFileAtomic } from '../common/fs.js';
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

/** Append one record (one atomic write). */
export function appendJobRecord(dbPath: string, rec: JobRecord): void {
  appendLineAtomic(dbPath, serializeJobRecord(rec));
}

/** Parse one line into a record; null for a damaged line, 'ignored' for JSON that lacks the required keys. */
export function parseRecordLine(line: string): JobRecord | null | 'ignored' {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (!isPlainObject(v)) return null;
  const { invocation_id, job_id, executor } = v;
  if (typeof invocation_id !== 'string' || typeof job_id !== 'string' || typeof executor !== 'string')
    return 'ignored';
  return {
    invocation_id,
    job_id,
    executor,
    timestamp: typeof v.timestamp === 'number' ? v.timestamp : 0,
    data: isPlainObject(v.data) ? v.data : {},
    config: isPlainObject(v.config) ? v.config : {},
  };
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

const INDEX_VERSION = 2;
const FINGERPRINT_BYTES = 4096;

/**
 * Per invocation: [earliest timestamp, executors joined by '\n', task names joined by '\n',
 * flat job list [id, byte offset of its latest record, byte length, ...]]. A job id that is
 * `<invocation>.<n>` is stored as `.<n>`.
 */
type IndexedInvocation = [number, string, string, (string | number)[]];

interface IndexFile {
  version: number;
  /** Bytes of the JSONL consumed (always ends after a newline). */
  offset: number;
  /** sha1 of the first min(offset, 4096) bytes: detects a replaced or rewritten file. */
  fingerprint: string;
  damagedLines: number;
  /** Insertion order of this object is the first-seen order of invocations. */
  invocations: Record<string, IndexedInvocation>;
}

function emptyIndex(): IndexFile {
  return { version: INDEX_VERSION, offset: 0, fingerprint: '', damagedLines: 0, invocations: {} };
}

const splitList = (s: string): string[] => (s === '' ? [] : s.split('\n'));
const executorOf = (joined: string): string =>
  joined === '' ? 'unknown' : joined.includes('\n') ? 'mixed' : joined;
const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

export const indexPathFor = (dbPath: string): string => `${dbPath}.index.json`;

export interface ExecDbOptions {
  /** Keep the index file up to date (default true). Without it the whole JSONL is read each time. */
  useIndex?: boolean;
}

/** A loaded view of the exec DB. Records are read from the JSONL on demand by byte offset. */
export class ExecDb {
  readonly path: string;
  /** Warnings collected while loading (at most one about damaged lines). */
  readonly warnings: string[] = [];
  private index: IndexFile = emptyIndex();
  private cache = new Map<string, JobRecord>();
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

  /** Invocation ids in first-seen order. */
  invocationIds(): string[] {
    return Object.keys(this.index.invocations);
  }

  hasInvocation(inv: string): boolean {
    return has(this.index.invocations, inv);
  }

  /** Job ids of an invocation in first-seen order. */
  jobIdsOf(inv: string): string[] {
    const entry = this.index.invocations[inv];
    if (!entry || !this.hasInvocation(inv)) return [];
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
      if (!has(this.index.invocations, inv)) return undefined;
      const flat = this.index.invocations[inv]![3];
      for (let i = 0; i < flat.length; i += 3)
        if (flat[i] === key) return [flat[i + 1] as number, flat[i + 2] as number];
      return undefined;
    };
    if (dot > 0) {
      const hit = tryInv(jobId.slice(0, dot), jobId.slice(dot));
      if (hit) return hit;
    }
    for (const inv of Object.keys(this.index.invocations)) {
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
    if (rec === null || rec === 'ignored' || rec.job_id !== jobId) return 'stale';
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
    if (!this.hasInvocation(inv)) return undefined;
    const [earliest, executorsText, tasksText, flat] = this.index.invocations[inv]!;
    return {
      invocation_id: inv,
      earliest_job_ts: earliest,
      num_jobs: flat.length / 3,
      executor: executorOf(executorsText),
      benchmarks: splitList(tasksText).sort(),
    };
  }

  /** Creation time and executor of every invocation: cheap, for sorting and filtering. */
  invocationTimes(): { invocation_id: string; earliest_job_ts: number; executor: string }[] {
    return Object.keys(this.index.invocations).map((inv) => {
      const e = this.index.invocations[inv]!;
      return { invocation_id: inv, earliest_job_ts: e[0], executor: executorOf(e[1]) };
    });
  }

  summaries(): InvocationSummary[] {
    return Object.keys(this.index.invocations).map((inv) => this.summaryOf(inv)!);
  }

  /** Append a record to the file and to this view. */
  append(rec: JobRecord): void {
    appendJobRecord(this.path, rec);
    this.load(this.index);
  }

  /** Bring `idx` (null: rebuild) up to date with the file. */
  private load(start: IndexFile | null): void {
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
      if (size > idx.offset) changed = scanFrom(fd, idx, size) || changed;
      if (idx.offset > 0 && !idx.fingerprint) idx.fingerprint = fingerprintFd(fd, idx.offset);
    } finally {
      closeSync(fd);
    }
    this.index = idx;
    this.cache.clear();
    this.warnings.length = 0;
    if (idx.damagedLines > 0) {
      this.warnings.push(
        `skipped ${idx.damagedLines} damaged line${idx.damagedLines === 1 ? '' : 's'} in the exec DB ${this.path}`,
      );
    }
    if (this.useIndex && changed) {
      try {
        writeFileAtomic(indexPathFor(this.path), JSON.stringify(idx));
      } catch {
        /* a read-only location only costs speed */
      }
    }
  }
}

function readIndex(path: string): IndexFile | null {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as IndexFile;
    if (v && v.version === INDEX_VERSION && typeof v.offset === 'number' && v.invocations) return v;
  } catch {
    /* rebuilt below */
  }
  return null;
}

function fingerprintFd(fd: number, offset: number): string {
  const n = Math.min(offset, FINGERPRINT_BYTES);
  const buf = Buffer.alloc(n);
  readSync(fd, buf, 0, n, 0);
  return createHash('sha1').update(buf).digest('hex');
}

function indexStillValid(fd: number, idx: IndexFile, size: number): boolean {
  if (size < idx.offset) return false;
  if (idx.offset === 0) return true;
  return fingerprintFd(fd, idx.offset) === idx.fingerprint;
}

/** Read complete lines from idx.offset to size and fold them into idx. Returns whether anything changed. */
function scanFrom(fd: number, idx: IndexFile, size: number): boolean {
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

function foldLine(idx: IndexFile, bytes: Buffer, offset: number, length: number): void {
  const text = bytes.toString('utf8');
  if (text.trim() === '') return;
  const rec = parseRecordLine(text);
  if (rec === null) {
    idx.damagedLines++;
    return;
  }
  if (rec === 'ignored') return;
  const inv = rec.invocation_id;
  let entry = has(idx.invocations, inv) ? idx.invocations[inv] : undefined;
  if (!entry) {
    entry = [rec.timestamp, '', '', []];
    idx.invocations[inv] = entry;
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
