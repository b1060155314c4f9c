import { parseDocument, stringify, type Document } from 'yaml';
import { readFileSync } from 'node:fs';
import { NelError } from './errors.js';

/** Parse YAML text; errors name the file and line. */
export function parseYaml(text: string, source = '<string>'): unknown {
  const doc: Document = parseDocument(text, { prettyErrors: true, uniqueKeys: false, merge: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    const where = pos ? `${source}:${pos.line}:${pos.col}` : source;
    throw new NelError('CONFIG_PARSE', `invalid YAML in ${where}: ${e.message.split('\n')[0]}`, {
      hint: 'fix the YAML syntax at that line (indentation, a missing colon, an unclosed quote or bracket)',
    });
  }
  return doc.toJS({ maxAliasCount: 1000 }) ?? null;
}

export function readYamlFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new NelError('CONFIG_NOT_FOUND', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`, {
      hint: 'check the path',
    });
  }
  return parseYaml(text, path);
}

/** Dump as block YAML with keys sorted (like Python's yaml.safe_dump default). */
export function dumpYamlSorted(value: unknown): string {
  return stringify(value, {
    sortMapEntries: true,
    lineWidth: 0,
    aliasDuplicateObjects: false,
    nullStr: 'null',
  });
}

/** Dump as block YAML preserving insertion order. */
export function dumpYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0, aliasDuplicateObjects: false, nullStr: 'null' });
}

// ---- fast emitter for JSON-like data ----------------------------------------------------------

/** Words YAML 1.1 or 1.2 reads as something other than a string. */
const RESERVED = new Set(['true', 'false', 'yes', 'no', 'on', 'off', 'y', 'n', 'null', '~']);
/** A plain scalar that every YAML parser reads back as this exact string (conservative). */
const SAFE_PLAIN = /^[A-Za-z_/][A-Za-z0-9_./@+-]*(?:[ :][A-Za-z0-9_./@+-]+)*$/;
/** Characters that JSON leaves raw but YAML may treat as breaks or non-printable. */
const JSON_RAW_UNSAFE = /[\u007f-\u009f\u2028\u2029\ufeff]/g;

function scalarString(s: string): string {
  if (SAFE_PLAIN.test(s) && !RESERVED.has(s.toLowerCase())) return s;
  return JSON.stringify(s).replace(
    JSON_RAW_UNSAFE,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Not emitted by the fast path: the value holds something other than plain JSON-like data. */
class NotPlainData extends Error {}

function scalar(v: unknown): string | undefined {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return scalarString(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (Number.isFinite(v)) return Object.is(v, -0) ? '-0' : String(v);
      return Number.isNaN(v) ? '.nan' : v > 0 ? '.inf' : '-.inf';
    case 'object':
      return undefined;
    default:
      throw new NotPlainData();
  }
}

function isPlainRecord(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function emitBlock(v: object, indent: string, sortKeys: boolean, out: string[]): void {
  if (Array.isArray(v)) {
    for (const item of v) {
      const s = scalar(item === undefined ? null : item);
      if (s !== undefined) out.push(`${indent}- ${s}\n`);
      else emitNested(item as object, `${indent}- `, `${indent}  `, sortKeys, out);
    }
    return;
  }
  if (!isPlainRecord(v)) throw new NotPlainData();
  const keys = Object.keys(v).filter((k) => v[k] !== undefined);
  if (sortKeys) keys.sort();
  for (const k of keys) {
    const item = v[k];
    const key = scalarString(k);
    const s = scalar(item);
    if (s !== undefined) out.push(`${indent}${key}: ${s}\n`);
    else if (isEmpty(item as object)) out.push(`${indent}${key}: ${Array.isArray(item) ? '[]' : '{}'}\n`);
    else {
      out.push(`${indent}${key}:\n`);
      emitBlock(item as object, `${indent}  `, sortKeys, out);
    }
  }
}

function isEmpty(v: object): boolean {
  if (Array.isArray(v)) return v.length === 0;
  if (!isPlainRecord(v)) throw new NotPlainData();
  for (const k in v) if (v[k] !== undefined) return false;
  return true;
}

/** A collection as a sequence item: its first line follows `first` (`- `), the rest use `rest`. */
function emitNested(v: object, first: string, rest: string, sortKeys: boolean, out: string[]): void {
  if (isEmpty(v)) {
    out.push(`${first}${Array.isArray(v) ? '[]' : '{}'}\n`);
    return;
  }
  const start = out.length;
  emitBlock(v, rest, sortKeys, out);
  out[start] = first + out[start]!.slice(rest.length);
}

/**
 * Block YAML for JSON-like data (plain objects, arrays, strings, numbers, booleans, null), much faster
 * than the general library: strings stay plain only when provably safe, else JSON-style double quotes.
 * Anything else (Dates, Maps, class instances) falls back to the library with the same options.
 */
export function dumpPlainYaml(value: unknown, opts: { sortKeys?: boolean } = {}): string {
  const sortKeys = opts.sortKeys ?? false;
  try {
    const s = scalar(value === undefined ? null : value);
    if (s !== undefined) return `${s}\n`;
    const v = value as object;
    if (isEmpty(v)) return Array.isArray(v) ? '[]\n' : '{}\n';
    const out: string[] = [];
    emitBlock(v, '', sortKeys, out);
    return out.join('');
  } catch (e) {
    if (!(e instanceof NotPlainData)) throw e;
    return sortKeys ? dumpYamlSorted(value) : dumpYaml(value);
  }
}

/**
 * Plain JSON-like data as dumpYamlSorted and parseYaml give it back (keys sorted at every level, undefined
 * values left out, undefined list items null): what a reader of the written file sees, without writing
 * and parsing it. Undefined for data that is not plain, or that has a `<<` key (a merge key to parseYaml):
 * the caller reads the file instead.
 */
export function sortedYamlView(value: unknown): unknown {
  try {
    return sortedCopy(value);
  } catch (e) {
    if (!(e instanceof NotPlainData)) throw e;
    return undefined;
  }
}

function sortedCopy(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'string':
    case 'number':
    case 'boolean':
      return v;
    case 'object':
      break;
    default:
      throw new NotPlainData();
  }
  if (Array.isArray(v)) return v.map(sortedCopy);
  if (!isPlainRecord(v)) throw new NotPlainData();
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) {
    if (k === '<<') throw new NotPlainData();
    if (v[k] !== undefined) out[k] = sortedCopy(v[k]);
  }
  return out;
}
