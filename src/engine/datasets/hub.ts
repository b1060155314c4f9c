import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { NelError, errorMessage } from '../../common/errors.js';
import { writeFileAtomic, mkdirp } from '../../common/fs.js';
import { selectDataFiles } from './select-files.js';
import type { DatasetLoadOptions, DatasetSource } from './types.js';

export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co';
const DEFAULT_TIMEOUT_SECONDS = 120;
const LOCATION_HINT =
  'set HF_ENDPOINT to a reachable hub (mirror), or use local files via config.params.extra.dataset_path or NEMO_EVALUATOR_DATASET_DIR';

/** The hub base URL, like huggingface_hub: $HF_ENDPOINT or https://huggingface.co (no trailing slash). */
export function hubEndpoint(env: NodeJS.ProcessEnv): string {
  return (env.HF_ENDPOINT?.trim() || DEFAULT_HF_ENDPOINT).replace(/\/+$/, '');
}

/** Root of the on-disk data set cache: $NEMO_EVALUATOR_CACHE_DIR/datasets, else ~/.cache/nemo-evaluator-ts/datasets. */
export function datasetCacheRoot(env: NodeJS.ProcessEnv): string {
  if (env.NEMO_EVALUATOR_CACHE_DIR?.trim()) return join(env.NEMO_EVALUATOR_CACHE_DIR, 'datasets');
  const base = env.XDG_CACHE_HOME?.trim() || join(env.HOME?.trim() || homedir(), '.cache');
  return join(base, 'nemo-evaluator-ts', 'datasets');
}

function hubToken(env: NodeJS.ProcessEnv): string | undefined {
  return env.HF_TOKEN?.trim() || env.HUGGING_FACE_HUB_TOKEN?.trim() || undefined;
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

function manifestPath(dir: string, source: DatasetSource): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');
  return join(dir, `.nel-manifest.${safe(source.config ?? 'default')}.${safe(source.split)}.json`);
}

/**
 * Make sure the files of a hub data set's config/split are in the local cache and return their paths.
 * No network at all when a previous download completed (a manifest lists the files).
 */
export async function fetchHubDataset(
  source: DatasetSource,
  revision: string,
  opts: DatasetLoadOptions,
): Promise<string[]> {
  const dir = join(datasetCacheRoot(opts.env), ...source.repo.split('/'), revision);
  const manifest = manifestPath(dir, source);
  const cached = readManifest(manifest, dir);
  if (cached) return cached;

  const base = hubEndpoint(opts.env);
  if (opts.env.HF_HUB_OFFLINE === '1') {
    throw new NelError(
      'ENGINE_DATASET',
      `data set ${source.repo} is not in the cache ${dir} and HF_HUB_OFFLINE=1`,
      {
        hint: LOCATION_HINT,
      },
    );
  }
  const listUrl = `${base}/api/datasets/${source.repo}/revision/${encodeURIComponent(revision)}`;
  const listing = (await hubGet(listUrl, source, opts)).json as { siblings?: { rfilename?: string }[] };
  const names = (listing.siblings ?? [])
    .map((s) => s.rfilename)
    .filter((n): n is string => typeof n === 'string');
  const files = selectDataFiles(names, source);
  if (files.length === 0) {
    throw new NelError(
      'ENGINE_DATASET',
      `no data files for config ${source.config ?? 'default'} split ${source.split} in ${listUrl} (${names.length} files listed)`,
      { hint: LOCATION_HINT },
    );
  }
  const local: string[] = [];
  for (const file of files) {
    const target = join(dir, ...file.split('/'));
    if (!existsSync(target)) {
      const url = `${base}/datasets/${source.repo}/resolve/${encodeURIComponent(revision)}/${encodePath(file)}`;
      opts.log?.(`downloading ${url}`);
      const { bytes } = await hubGet(url, source, opts, true);
      writeFileAtomic(target, bytes);
    }
    local.push(target);
  }
  mkdirp(dir);
  writeFileAtomic(manifest, JSON.stringify({ repo: source.repo, revision, files }, null, 1) + '\n');
  return local;
}

function readManifest(manifest: string, dir: string): string[] | null {
  if (!existsSync(manifest)) return null;
  try {
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as { files?: string[] };
    if (!Array.isArray(m.files) || m.files.length === 0) return null;
    const paths = m.files.map((f) => join(dir, ...f.split('/')));
    return paths.every((p) => existsSync(p)) ? paths : null;
  } catch {
    return null;
  }
}

async function hubGet(
  url: string,
  source: DatasetSource,
  opts: DatasetLoadOptions,
  binary = false,
): Promise<{ json?: unknown; bytes: Uint8Array }> {
  const timeoutSeconds =
    Number(opts.extra.dataset_timeout ?? DEFAULT_TIMEOUT_SECONDS) || DEFAULT_TIMEOUT_SECONDS;
  const signals = [AbortSignal.timeout(timeoutSeconds * 1000)];
  if (opts.signal) signals.push(opts.signal);
  const headers: Record<string, string> = { 'user-agent': 'nemo-evaluator-ts' };
  const token = hubToken(opts.env);
  if (token) headers.authorization = `Bearer ${token}`;
  const doFetch = opts.fetchImpl ?? fetch;
  let res: Response;
  let body: Uint8Array;
  try {
    res = await doFetch(url, { headers, signal: AbortSignal.any(signals), redirect: 'follow' });
    body = new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why =
      (e as Error).name === 'TimeoutError'
        ? `timed out after ${timeoutSeconds}s`
        : (cause?.code ?? cause?.message ?? errorMessage(e));
    throw new NelError('ENGINE_DATASET', `cannot reach ${url} (${why})`, { hint: LOCATION_HINT });
  }
  if (res.status === 401 || res.status === 403) {
    throw new NelError('ENGINE_DATASET', `access denied (HTTP ${res.status}) for ${url}`, {
      hint: `${source.gated ? `${source.repo} is gated: accept its terms on the hub, then ` : ''}set HF_TOKEN to a token with read access (${token ? 'HF_TOKEN is set but was refused' : 'HF_TOKEN is not set'})`,
    });
  }
  if (!res.ok) {
    throw new NelError('ENGINE_DATASET', `HTTP ${res.status} for ${url}`, {
      hint:
        res.status === 404
          ? `check the repository and config.params.extra.dataset_revision; ${LOCATION_HINT}`
          : LOCATION_HINT,
    });
  }
  if (binary) return { bytes: body };
  try {
    return { json: JSON.parse(Buffer.from(body).toString('utf8')), bytes: body };
  } catch {
    throw new NelError('ENGINE_DATASET', `not a JSON listing: ${url}`, { hint: LOCATION_HINT });
  }
}
