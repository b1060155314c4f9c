import { basename, extname } from 'node:path';
import { isDataFile } from './parse.js';
import type { DatasetSource } from './types.js';

function stem(path: string): string {
  return basename(path, extname(path));
}

function isSplitFile(path: string, split: string): boolean {
  const name = stem(path).toLowerCase();
  const s = split.toLowerCase();
  if (name === s || name.startsWith(`${s}-`) || name.startsWith(`${s}_`) || name.startsWith(`${s}.`))
    return true;
  const parts = path.toLowerCase().split('/');
  return parts.length > 1 && parts[parts.length - 2] === s;
}

function underConfig(path: string, config: string): boolean {
  return path.split('/').slice(0, -1).includes(config);
}

/**
 * Pick the data files of a config/split among repository-relative paths, like the hub's layout:
 * `<config>/<split>-00000-of-00001.parquet`, `data/<split>-*.parquet`, `<config>.csv`, `<split>.jsonl`,
 * or a file named in `localFileNames`. Parquet is preferred over other formats when both exist.
 */
export function selectDataFiles(paths: readonly string[], source: DatasetSource): string[] {
  const data = paths.filter(isDataFile).sort();
  const attempts: ((p: string) => boolean)[] = [];
  if (source.config) {
    const config = source.config;
    attempts.push((p) => underConfig(p, config) && isSplitFile(p, source.split));
    attempts.push((p) => stem(p) === config);
  }
  attempts.push(
    (p) => isSplitFile(p, source.split) && (!source.config || !otherConfigFolder(p, data, source)),
  );
  const names = source.localFileNames ?? [];
  attempts.push((p) => names.includes(basename(p)));
  for (const match of attempts) {
    const found = data.filter(match);
    if (found.length > 0) return preferOneFormat(found);
  }
  return data.length === 1 ? data : [];
}

/** A split file in some folder when other folders exist: only accept generic folders (e.g. `data/`). */
function otherConfigFolder(path: string, all: readonly string[], source: DatasetSource): boolean {
  const folders = path.split('/').slice(0, -1);
  if (folders.length === 0) return false;
  const generic = ['data', source.split.toLowerCase(), 'default'];
  return !folders.every((f) => generic.includes(f.toLowerCase())) && all.length > 1;
}

function preferOneFormat(files: string[]): string[] {
  for (const ext of ['.parquet', '.jsonl', '.json', '.csv', '.tsv']) {
    const same = files.filter((f) => extname(f).toLowerCase() === ext);
    if (same.length > 0) return same;
  }
  return files;
}
