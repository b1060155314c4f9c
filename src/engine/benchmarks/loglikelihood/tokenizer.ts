/**
 * Client-side tokenizers for the log-likelihood path (`extra.tokenizer`, `extra.tokenizer_backend`), as
 * lm-evaluation-harness's API models use them: `huggingface` reads a `tokenizer.json` (a local file, a
 * folder holding one, or a hub repository, downloaded once into the cache beside the data sets) and
 * encodes without special tokens; `tiktoken` uses an encoding by name (`cl100k_base`) or by model
 * (`gpt-4`; the endpoint's model id when `extra.tokenizer` is unset). Both libraries are pure JavaScript
 * and loaded only when a run asks for a tokenizer.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { NelError, errorMessage } from '../../../common/errors.js';
import { mkdirp, writeFileAtomic } from '../../../common/fs.js';
import { datasetCacheRoot, hubEndpoint } from '../../datasets/hub.js';

export type TokenizerBackend = 'huggingface' | 'tiktoken';
export const TOKENIZER_BACKENDS: readonly TokenizerBackend[] = ['huggingface', 'tiktoken'];

/** Text to token ids (no special tokens added). */
export interface PairTokenizer {
  /** What was loaded (for the log), e.g. `huggingface:/path/tokenizer.json`. */
  readonly name: string;
  encode(text: string): number[];
}

export interface TokenizerOptions {
  extra: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  /** The endpoint's model id (tiktoken's model when `extra.tokenizer` is unset). */
  modelId?: string;
  signal?: AbortSignal;
  log?: (msg: string) => void;
  cwd?: string;
  fetchImpl?: typeof fetch;
}

const TOKENIZER_HINT =
  'set config.params.extra.tokenizer to a tokenizer.json file, a folder holding one, or a hub repository, and config.params.extra.tokenizer_backend to huggingface or tiktoken';

/**
 * The backend the options ask for, or null for none (text offsets decide the continuation): upstream's
 * `tokenizer_backend: None` (or unset, or `none`) means none unless `extra.tokenizer` is set, when
 * huggingface is meant.
 */
export function tokenizerBackendOf(extra: Record<string, unknown>): TokenizerBackend | null {
  const raw = extra.tokenizer_backend;
  const tokenizer = extra.tokenizer;
  const named = typeof raw === 'string' ? raw.trim().toLowerCase() : raw == null ? '' : String(raw);
  if (named === '' || named === 'none' || named === 'null' || named === 'auto') {
    return typeof tokenizer === 'string' && tokenizer.trim() !== '' ? 'huggingface' : null;
  }
  if (named === 'huggingface' || named === 'tiktoken') return named;
  throw new NelError('ENGINE_CONFIG', `unknown config.params.extra.tokenizer_backend "${String(raw)}"`, {
    hint: `use one of ${TOKENIZER_BACKENDS.join(', ')} (or leave it unset for text offsets)`,
  });
}

/** Load the tokenizer the options name; null when they name none. */
export async function loadPairTokenizer(opts: TokenizerOptions): Promise<PairTokenizer | null> {
  const backend = tokenizerBackendOf(opts.extra);
  if (backend === null) return null;
  const given = typeof opts.extra.tokenizer === 'string' ? opts.extra.tokenizer.trim() : '';
  if (backend === 'tiktoken') return loadTiktoken(given || opts.modelId || '');
  if (!given)
    throw new NelError('ENGINE_CONFIG', 'tokenizer_backend huggingface needs config.params.extra.tokenizer', {
      hint: TOKENIZER_HINT,
    });
  const file = await huggingfaceTokenizerFile(given, opts);
  return loadHuggingface(file);
}

async function loadTiktoken(name: string): Promise<PairTokenizer> {
  if (!name) {
    throw new NelError('ENGINE_CONFIG', 'tokenizer_backend tiktoken needs an encoding or model name', {
      hint: 'set config.params.extra.tokenizer (e.g. cl100k_base or gpt-4)',
    });
  }
  const tiktoken = await import('js-tiktoken');
  let enc: { encode(text: string): number[] };
  try {
    enc = /_base$|^gpt2$|^p50k_edit$/.test(name)
      ? tiktoken.getEncoding(name as Parameters<typeof tiktoken.getEncoding>[0])
      : tiktoken.encodingForModel(name as Parameters<typeof tiktoken.encodingForModel>[0]);
  } catch (e) {
    throw new NelError('ENGINE_CONFIG', `tiktoken has no encoding for "${name}" (${errorMessage(e)})`, {
      hint: 'name an encoding (cl100k_base, o200k_base, p50k_base, r50k_base, gpt2) or an OpenAI model in config.params.extra.tokenizer',
    });
  }
  return { name: `tiktoken:${name}`, encode: (text) => enc.encode(text) };
}

async function loadHuggingface(file: string): Promise<PairTokenizer> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new NelError('ENGINE_CONFIG', `cannot read the tokenizer ${file}: ${errorMessage(e)}`, {
      hint: TOKENIZER_HINT,
    });
  }
  const configFile = join(dirname(file), 'tokenizer_config.json');
  let config: unknown = {};
  if (existsSync(configFile)) {
    try {
      config = JSON.parse(readFileSync(configFile, 'utf8'));
    } catch {
      config = {};
    }
  }
  const { Tokenizer } = await import('@huggingface/tokenizers');
  let tok: InstanceType<typeof Tokenizer>;
  try {
    tok = new Tokenizer(json as object, config as object);
    tok.encode('a', { add_special_tokens: false });
  } catch (e) {
    throw new NelError('ENGINE_CONFIG', `${file} is not a usable tokenizer.json: ${errorMessage(e)}`, {
      hint: TOKENIZER_HINT,
    });
  }
  return {
    name: `huggingface:${file}`,
    encode: (text) => {
      const ids = tok.encode(text, { add_special_tokens: false }).ids.map(Number);
      if (ids.some((id: number) => !Number.isInteger(id))) {
        throw new NelError(
          'ENGINE_CONFIG',
          `the tokenizer ${file} has no id for a piece of ${JSON.stringify(text.slice(0, 60))}`,
          {
            hint: 'use the tokenizer.json of the served model',
          },
        );
      }
      return ids;
    },
  };
}

/** Root of the tokenizer cache: beside the data set cache (`<cache>/tokenizers`). */
export function tokenizerCacheRoot(env: NodeJS.ProcessEnv): string {
  return join(dirname(datasetCacheRoot(env)), 'tokenizers');
}

const HUB_REPO = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The local tokenizer.json for `given`: a file, a folder holding one, or a hub repository (cached). */
export async function huggingfaceTokenizerFile(given: string, opts: TokenizerOptions): Promise<string> {
  const local = isAbsolute(given) ? given : resolve(opts.cwd ?? process.cwd(), given);
  if (existsSync(local)) {
    if (!statSync(local).isDirectory()) return local;
    const inside = join(local, 'tokenizer.json');
    if (existsSync(inside)) return inside;
    throw new NelError('ENGINE_CONFIG', `no tokenizer.json in ${local}`, { hint: TOKENIZER_HINT });
  }
  if (isAbsolute(given) || given.startsWith('.') || !HUB_REPO.test(given)) {
    throw new NelError('ENGINE_CONFIG', `tokenizer not found: ${local}`, { hint: TOKENIZER_HINT });
  }
  const revision = String(opts.extra.tokenizer_revision ?? 'main') || 'main';
  const dir = join(
    tokenizerCacheRoot(opts.env),
    ...given.split('/'),
    revision.replace(/[^A-Za-z0-9._-]/g, '_'),
  );
  const file = join(dir, 'tokenizer.json');
  if (existsSync(file)) return file;
  const base = `${hubEndpoint(opts.env)}/${given}/resolve/${encodeURIComponent(revision)}`;
  const body = await hubFile(`${base}/tokenizer.json`, opts, true);
  mkdirp(dir);
  const config = await hubFile(`${base}/tokenizer_config.json`, opts, false);
  if (config !== null) writeFileAtomic(join(dir, 'tokenizer_config.json'), config);
  writeFileAtomic(file, body!);
  opts.log?.(`tokenizer ${given} (${revision}) downloaded to ${dir}`);
  return file;
}

async function hubFile(url: string, opts: TokenizerOptions, required: boolean): Promise<string | null> {
  const headers: Record<string, string> = { 'user-agent': 'nemo-evaluator-ts' };
  const token = opts.env.HF_TOKEN?.trim() || opts.env.HUGGING_FACE_HUB_TOKEN?.trim();
  if (token) headers.authorization = `Bearer ${token}`;
  const signals = [AbortSignal.timeout(120_000)];
  if (opts.signal) signals.push(opts.signal);
  let res: Response;
  let text: string;
  try {
    res = await (opts.fetchImpl ?? fetch)(url, {
      headers,
      signal: AbortSignal.any(signals),
      redirect: 'follow',
    });
    text = await res.text();
  } catch (e) {
    if (!required) return null;
    throw new NelError('ENGINE_CONFIG', `cannot download the tokenizer ${url} (${errorMessage(e)})`, {
      hint: `${TOKENIZER_HINT}; or set HF_ENDPOINT to a reachable hub`,
    });
  }
  if (res.ok) return text;
  if (!required) return null;
  throw new NelError('ENGINE_CONFIG', `HTTP ${res.status} for the tokenizer ${url}`, {
    hint:
      res.status === 401 || res.status === 403
        ? 'the repository is gated or private: set HF_TOKEN to a token with read access'
        : TOKENIZER_HINT,
  });
}
