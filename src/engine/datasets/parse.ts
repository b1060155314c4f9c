import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { extname } from 'node:path';
import { parse as parseCsvText } from 'csv-parse/sync';
import { parquetReadObjects } from 'hyparquet';
import { NelError, errorMessage } from '../../common/errors.js';
import type { DatasetRecord } from './types.js';

export const DATA_FILE_EXTENSIONS = ['.jsonl', '.json', '.parquet', '.csv', '.tsv'];

/** How a delimited text file (.csv, .tsv) is read. */
export interface DelimitedOptions {
  /**
   * The field names of a file without a header row (every row is a record and must have exactly these
   * fields); without them the first row is the header.
   */
  columns?: readonly string[];
}

/** True for file names this loader can parse. */
export function isDataFile(name: string): boolean {
  return DATA_FILE_EXTENSIONS.includes(extname(name).toLowerCase());
}

/** JSON lines (blank lines skipped). A `.json` file holding one array is accepted too. */
export function parseJsonl(text: string, source: string): DatasetRecord[] {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) {
    try {
      const arr = JSON.parse(trimmed) as unknown;
      if (Array.isArray(arr)) return arr.map((r) => asRecord(r, source));
    } catch {
      // fall through to line-by-line parsing
    }
  }
  const records: DatasetRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) pushJsonLine(records, lines[i]!, source, i + 1);
  return records;
}

function pushJsonLine(records: DatasetRecord[], raw: string, source: string, lineNo: number): void {
  const line = raw.trim();
  if (line === '') return;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    throw new NelError('ENGINE_DATASET', `${source}:${lineNo}: not valid JSON (${errorMessage(e)})`);
  }
  records.push(asRecord(value, `${source}:${lineNo}`));
}

const JSONL_CHUNK_BYTES = 1 << 20;

/**
 * The records of a JSONL file, read in 1 MiB chunks and parsed as they are pulled, so that a large data
 * set is never held whole. A file holding one JSON array is parsed whole instead.
 */
export function* iterateJsonlFile(path: string): Generator<DatasetRecord, void, undefined> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw readFailure(path, e);
  }
  try {
    const chunk = Buffer.allocUnsafe(JSONL_CHUNK_BYTES);
    const decoder = new StringDecoder('utf8');
    let carry = '';
    let lineNo = 0;
    let sawContent = false;
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, chunk, 0, chunk.length, null);
      } catch (e) {
        throw readFailure(path, e);
      }
      const text = carry + (n > 0 ? decoder.write(chunk.subarray(0, n)) : decoder.end());
      if (!sawContent) {
        const start = text.trimStart();
        if (start.startsWith('[')) {
          let whole: string;
          try {
            whole = readFileSync(path, 'utf8');
          } catch (e) {
            throw readFailure(path, e);
          }
          yield* parseJsonl(whole, path);
          return;
        }
        sawContent = start !== '';
      }
      const lines = text.split('\n');
      carry = n > 0 ? lines.pop()! : '';
      const records: DatasetRecord[] = [];
      for (const line of lines) pushJsonLine(records, line, path, ++lineNo);
      yield* records;
      if (n === 0) return;
    }
  } finally {
    closeSync(fd);
  }
}

function readFailure(path: string, e: unknown): NelError {
  if (e instanceof NelError) return e;
  return new NelError('ENGINE_DATASET', `cannot read data set file ${path}: ${errorMessage(e)}`, {
    hint: 'check config.params.extra.dataset_path / NEMO_EVALUATOR_DATASET_DIR',
  });
}

function parseJsonlFile(path: string): DatasetRecord[] {
  return Array.from(iterateJsonlFile(path));
}

function asRecord(value: unknown, where: string): DatasetRecord {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new NelError('ENGINE_DATASET', `${where}: expected a JSON object per record`);
  }
  return value as DatasetRecord;
}

/**
 * RFC 4180 CSV (csv-parse): quoted fields, "" escapes, newlines inside quotes, a BOM, CRLF or LF; blank
 * lines are skipped. With a header row a missing trailing field reads as ''; see DelimitedOptions.columns.
 */
export function parseCsvRecords(text: string, source: string, opts: DelimitedOptions = {}): DatasetRecord[] {
  return rowsToRecords(readDelimited(text, source, 'CSV', { relax_quotes: true }), source, opts.columns);
}

/**
 * Tab-separated values (csv-parse with a tab delimiter): one record a line, fields split on tabs, no
 * quoting (a `"` is an ordinary character, as in IANA text/tab-separated-values); a BOM, CRLF or LF;
 * blank lines are skipped. A header row names the fields unless `opts.columns` does.
 */
export function parseTsvRecords(text: string, source: string, opts: DelimitedOptions = {}): DatasetRecord[] {
  return rowsToRecords(
    readDelimited(text, source, 'TSV', { delimiter: '\t', quote: false }),
    source,
    opts.columns,
  );
}

interface Row {
  fields: string[];
  line: number;
}

interface Dialect {
  delimiter?: string;
  quote?: false;
  relax_quotes?: boolean;
}

/** The rows of a delimited text, each with the (last) line it is on (csv-parse's `info`). */
function readDelimited(text: string, source: string, kind: string, dialect: Dialect): Row[] {
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parseCsvText(text, {
      record_delimiter: ['\r\n', '\n', '\r'],
      bom: true,
      skip_empty_lines: true,
      relax_column_count: true,
      info: true,
      ...dialect,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (e) {
    const code = (e as { code?: string }).code;
    const what =
      code === 'CSV_QUOTE_NOT_CLOSED'
        ? 'unterminated quoted field'
        : `not valid ${kind} (${errorMessage(e)})`;
    throw new NelError('ENGINE_DATASET', `${source}: ${what}`);
  }
  return rows.map((r) => ({ fields: r.record, line: r.info.lines }));
}

function rowsToRecords(rows: Row[], source: string, columns: readonly string[] | undefined): DatasetRecord[] {
  if (columns) {
    return rows.map((r) => {
      if (r.fields.length !== columns.length) {
        throw new NelError(
          'ENGINE_DATASET',
          `${source}:${r.line}: ${r.fields.length} field${r.fields.length === 1 ? '' : 's'}, expected ${columns.length} (${columns.join(', ')})`,
          { hint: 'each line must hold exactly these fields, with no header row' },
        );
      }
      const rec: DatasetRecord = {};
      columns.forEach((c, j) => (rec[c] = r.fields[j]));
      return rec;
    });
  }
  if (rows.length === 0) return [];
  const header = rows[0]!.fields;
  return rows.slice(1).map((r) => {
    const rec: DatasetRecord = {};
    header.forEach((h, j) => (rec[h] = r.fields[j] ?? ''));
    return rec;
  });
}

/** Parquet via hyparquet; int64 values become numbers, typed arrays plain arrays. */
export async function parseParquet(bytes: Uint8Array, source: string): Promise<DatasetRecord[]> {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  try {
    const rows = await parquetReadObjects({ file: buffer });
    return rows.map((r) => plainValue(r) as DatasetRecord);
  } catch (e) {
    throw new NelError('ENGINE_DATASET', `${source}: cannot read Parquet (${errorMessage(e)})`);
  }
}

function plainValue(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (ArrayBuffer.isView(v) && !(v instanceof DataView))
    return Array.from(v as unknown as ArrayLike<unknown>, plainValue);
  if (Array.isArray(v)) return v.map(plainValue);
  if (v instanceof Date) return v.toISOString();
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = plainValue(x);
    return out;
  }
  return v;
}

/** Parse one local data file by its extension (`opts` applies to .csv and .tsv). */
export async function parseDataFile(path: string, opts: DelimitedOptions = {}): Promise<DatasetRecord[]> {
  const ext = extname(path).toLowerCase();
  if (ext === '.jsonl' || ext === '.json') return parseJsonlFile(path);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw readFailure(path, e);
  }
  if (ext === '.parquet') return parseParquet(bytes, path);
  if (ext === '.csv') return parseCsvRecords(bytes.toString('utf8'), path, opts);
  if (ext === '.tsv') return parseTsvRecords(bytes.toString('utf8'), path, opts);
  throw new NelError('ENGINE_DATASET', `unsupported data set file type: ${path}`, {
    hint: `use one of ${DATA_FILE_EXTENSIONS.join(', ')}`,
  });
}
