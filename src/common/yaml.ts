import { parseDocument, stringify, isMap, type Document } from 'yaml';
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

export { isMap };
