import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { NelError } from '../../common/errors.js';
import { fetchHubDataset } from './hub.js';
import { isDataFile, iterateJsonlFile, parseDataFile } from './parse.js';
import { selectDataFiles } from './select-files.js';
import type { DatasetLoadOptions, DatasetRecord, DatasetSource } from './types.js';

export type { DatasetLoadOptions, DatasetRecord, DatasetSource } from './types.js';
export { fetchHubDataset, hubEndpoint, datasetCacheRoot, DEFAULT_HF_ENDPOINT } from './hub.js';
export {
  parseCsvRecords,
  parseJsonl,
  parseParquet,
  parseDataFile,
  isDataFile,
  iterateJsonlFile,
} from './parse.js';
export { selectDataFiles } from './select-files.js';

const MAX_LISTED_FILES = 5000;

/**
 * Load a data set's records. Order of sources: `extra.dataset_path` (file or folder),
 * `$NEMO_EVALUATOR_DATASET_DIR` (folder), then the hub (with on-disk cache).
 */
export async function loadDatasetRecords(
  source: DatasetSource,
  opts: DatasetLoadOptions,
): Promise<DatasetRecord[]> {
  return Array.from((await openDatasetRecords(source, opts))());
}

/**
 * A data set's records as a re-iterable source (sources in the order of loadDatasetRecords): JSONL files are read and parsed as the records are
 * pulled (each call of the returned function starts over), other formats are parsed whole first.
 */
export async function openDatasetRecords(
  source: DatasetSource,
  opts: DatasetLoadOptions,
): Promise<() => Iterable<DatasetRecord>> {
  const files = await resolveDataFiles(source, opts);
  if (files.every((f) => /\.jsonl?$/i.test(f))) {
    return function* () {
      for (const f of files) yield* iterateJsonlFile(f);
    };
  }
  const records: DatasetRecord[] = [];
  for (const f of files) for (const r of await parseDataFile(f)) records.push(r);
  return () => records;
}

/** The local file paths holding a data set (downloading into the cache if needed). */
export async function resolveDataFiles(source: DatasetSource, opts: DatasetLoadOptions): Promise<string[]> {
  const cwd = opts.cwd ?? process.cwd();
  const datasetDir = opts.env.NEMO_EVALUATOR_DATASET_DIR?.trim() || undefined;
  const given = opts.extra.dataset_path;
  if (typeof given === 'string' && given.trim() !== '') {
    const path = resolveGivenPath(given.trim(), datasetDir, cwd);
    return statSync(path).isDirectory()
      ? pickInFolder(path, source, 'config.params.extra.dataset_path')
      : [path];
  }
  if (datasetDir) {
    if (!existsSync(datasetDir) || !statSync(datasetDir).isDirectory()) {
      throw new NelError('ENGINE_DATASET', `NEMO_EVALUATOR_DATASET_DIR is not a folder: ${datasetDir}`);
    }
    return pickInFolder(datasetDir, source, 'NEMO_EVALUATOR_DATASET_DIR');
  }
  const revision = String(opts.extra.dataset_revision ?? 'main') || 'main';
  return fetchHubDataset(source, revision, opts);
}

function resolveGivenPath(given: string, datasetDir: string | undefined, cwd: string): string {
  const candidates = isAbsolute(given)
    ? [given]
    : [...(datasetDir ? [join(datasetDir, given)] : []), resolve(cwd, given)];
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new NelError('ENGINE_DATASET', `data set path not found: ${candidates[candidates.length - 1]}`, {
      hint: 'config.params.extra.dataset_path must name an existing file or folder (relative paths: to NEMO_EVALUATOR_DATASET_DIR, else the working directory)',
    });
  }
  return found;
}

function pickInFolder(dir: string, source: DatasetSource, origin: string): string[] {
  const rel = listFiles(dir).map((p) => relative(dir, p).split('\\').join('/'));
  const chosen = selectDataFiles(rel, source);
  if (chosen.length === 0) {
    const wanted = [source.config, source.split, ...(source.localFileNames ?? [])].filter(Boolean).join(', ');
    throw new NelError(
      'ENGINE_DATASET',
      `no data file for ${source.repo} (${wanted}) in ${dir} (from ${origin})`,
      {
        hint: 'put e.g. <split>.jsonl, <config>/<split>-*.parquet or the upstream file name there, or set config.params.extra.dataset_path to the file',
      },
    );
  }
  return chosen.map((r) => join(dir, ...r.split('/')));
}

function listFiles(dir: string, depth = 0, out: string[] = []): string[] {
  if (depth > 3 || out.length >= MAX_LISTED_FILES) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const p = join(dir, entry.name);
    if (entry.isDirectory()) listFiles(p, depth + 1, out);
    else if (isDataFile(entry.name)) out.push(p);
    if (out.length >= MAX_LISTED_FILES) break;
  }
  return out;
}

/**
 * `limit_samples`: an integer N keeps the first N records; a fraction in (0, 1) keeps ceil(len * f)
 * (like lm-evaluation-harness); null/undefined keeps all.
 */
export function applyLimitSamples<T>(records: readonly T[], limit: number | null | undefined): T[] {
  return records.slice(0, limitedCount(records.length, limit));
}

/** How many of `count` records `limit_samples` keeps (see applyLimitSamples); throws on a bad value. */
export function limitedCount(count: number, limit: number | null | undefined): number {
  if (limit === null || limit === undefined) return count;
  if (typeof limit !== 'number' || !Number.isFinite(limit) || limit <= 0) {
    throw new NelError(
      'ENGINE_CONFIG',
      `limit_samples must be a positive integer or a fraction in (0, 1), got ${String(limit)}`,
    );
  }
  if (limit < 1) return Math.ceil(count * limit);
  if (!Number.isInteger(limit)) {
    throw new NelError(
      'ENGINE_CONFIG',
      `limit_samples must be a positive integer or a fraction in (0, 1), got ${limit}`,
    );
  }
  return Math.min(count, limit);
}
