/**
 * `caching`: responses keyed by the SHA-256 of the request body serialised like Python's
 * json.dumps(sort_keys=True), stored in python-diskcache layout under <cache_dir>/{requests,responses,headers}.
 *
 * Repeats: with extra.n_samples > 1 the same body is sent several times for one sample; those would share
 * a key, so for repeat index >= 1 the key is the SHA-256 of `<json>` + `\n#repeat=<i>` (repeat 0 keeps the
 * plain upstream-compatible key).
 *
 * Requests marked `answerKept` (log-likelihood batches, whose answers the pair journal keeps) are never
 * answered from here, and their replies are stored only up to `max_saved_responses`, as by a cache that does
 * not answer again (for the report's request/response view). Such a request is saved when its reply comes
 * (not when it is sent), so that a log-likelihood run opens the databases at its first reply, while its
 * other requests are in flight; any other request opens them before it is sent.
 *
 * Only replies the endpoint interceptor accepted as valid completions (no `fault`) are stored. A cached
 * row that cannot be read, or that is not a valid completion (e.g. written by an older version), is
 * dropped and its request sent again, with one warning naming the database file.
 */
import { join } from 'node:path';
import { errorMessage, NelError, systemError } from '../../common/errors.js';
import { mkdirp } from '../../common/fs.js';
import { sha256Hex } from '../../common/hash.js';
import { PyFloat, pyFloatOrInt, pyJsonDumps } from '../../common/pyjson.js';
import { completionFault } from '../client/completion.js';
import type { Logger } from '../logging.js';
import type { EndpointType } from '../types.js';
import { DiskCacheStore, MODE_RAW } from './disk-cache-store.js';
import type { SettingsOf, SettingsSchema } from './settings.js';
import {
  defineInterceptor,
  type AdapterRequest,
  type AdapterResponse,
  type InterceptorHooks,
} from './types.js';

/** Strings Python and JSON.stringify escape alike: no character above U+007E. */
const ASCII_UP_TO_TILDE = /^[\u0000-\u007e]*$/;
/** Keys whose UTF-16 order equals Python's code point order: no surrogates. */
const NO_SURROGATES = /^[^\ud800-\udfff]*$/;

/**
 * pyJsonDumps(value) with a fast path: ASCII strings go through JSON.stringify (same bytes as Python's
 * ensure_ascii output for U+0000..U+007E), anything else through pyJsonDumps.
 */
export function cacheKeyText(v: unknown): string {
  if (typeof v === 'string') return ASCII_UP_TO_TILDE.test(v) ? JSON.stringify(v) : pyJsonDumps(v);
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') return pyFloatOrInt(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) out += (i ? ', ' : '') + cacheKeyText(v[i]);
    return out + ']';
  }
  if (typeof v === 'object' && !(v instanceof PyFloat)) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (!keys.every((k) => NO_SURROGATES.test(k))) return pyJsonDumps(v);
    keys.sort();
    let out = '{';
    for (let i = 0; i < keys.length; i++)
      out += (i ? ', ' : '') + cacheKeyText(keys[i]) + ': ' + cacheKeyText(o[keys[i]!]);
    return out + '}';
  }
  return pyJsonDumps(v);
}

export function cacheKey(body: unknown, repeatIndex = 0): string {
  const text = cacheKeyText(body) + (repeatIndex >= 1 ? `\n#repeat=${repeatIndex}` : '');
  return sha256Hex(text);
}

/**
 * A cache hit. Its headers are read from the headers store only when something asks for them (few
 * interceptors do), which saves a lookup per cached request.
 */
function cachedResponse(body: unknown, text: string, loadHeaders: () => unknown): AdapterResponse {
  let headers: Record<string, string> | undefined;
  const res = { status: 200, body, text, latencyMs: 0, cacheHit: true } as AdapterResponse;
  Object.defineProperty(res, 'headers', {
    enumerable: true,
    configurable: true,
    get: () =>
      (headers ??= (loadHeaders() as Record<string, string> | undefined) ?? {
        'content-type': 'application/json',
      }),
    set: (v: Record<string, string>) => (headers = v),
  });
  return res;
}

const CACHING_SETTINGS = {
  cache_dir: { kind: 'string' },
  reuse_cached_responses: { kind: 'boolean' },
  save_requests: { kind: 'boolean' },
  save_responses: { kind: 'boolean' },
  max_saved_requests: { kind: 'number', nullable: true },
  max_saved_responses: { kind: 'number', nullable: true },
} as const satisfies SettingsSchema;
export type CachingConfig = SettingsOf<typeof CACHING_SETTINGS>;

export interface CacheStores {
  requests: DiskCacheStore;
  responses: DiskCacheStore;
  headers: DiskCacheStore;
}

/** Rows are written behind in batches; flush() (or close()) writes what is queued. */
const WRITE_BEHIND = { batchRows: 512, flushMs: 50 };

export function openCacheStores(cacheDir: string, onWarning?: (m: string) => void): CacheStores {
  const opts = { writeBehind: WRITE_BEHIND, onWarning };
  return {
    requests: new DiskCacheStore(join(cacheDir, 'requests'), opts),
    responses: new DiskCacheStore(join(cacheDir, 'responses'), opts),
    headers: new DiskCacheStore(join(cacheDir, 'headers'), opts),
  };
}

/**
 * Without `cache_dir` the cache lives in the run's own `<output_dir>/cache`; cached replies must be valid
 * completions of the endpoint type.
 */
export const cachingInterceptor = defineInterceptor({
  name: 'caching',
  stage: 'request_to_response',
  settings: CACHING_SETTINGS,
  create(config, { outputDir, endpointType, log }) {
    return cachingHooks(config, {
      cacheDir: config.cache_dir ?? join(outputDir, 'cache'),
      endpointType,
      log,
    });
  },
});

function cachingHooks(
  config: CachingConfig,
  deps: { cacheDir: string; endpointType?: EndpointType; log?: Logger },
): InterceptorHooks & { stores: CacheStores; flush(): void } {
  const reuse = config.reuse_cached_responses === true;
  const saveRequests = config.save_requests === true;
  const saveResponses = reuse || config.save_responses !== false;
  const maxRequests = config.max_saved_requests ?? null;
  const maxResponses = reuse ? null : (config.max_saved_responses ?? null);
  // A reply whose answer is kept elsewhere need not be here to resume: limited as without reuse.
  const responseLimit = (req: AdapterRequest): number | null =>
    req.meta.answerKept === true ? (config.max_saved_responses ?? null) : maxResponses;
  const cacheDir = deps.cacheDir;
  const warn = (m: string): void => (deps.log ? deps.log.warn(m) : undefined);
  const endpointType = deps.endpointType ?? 'chat';
  // Opened at the first use: a log-likelihood run's first use is its first reply, so its requests go
  // out before the databases open, and the opening overlaps the endpoint's work.
  let opened: CacheStores | null = null;
  let savedRequests = 0;
  let savedResponses = 0;
  // The folders now, so that a cache dir that cannot be written ends the run before any request.
  for (const sub of ['requests', 'responses', 'headers']) mkdirp(join(cacheDir, sub));
  const open = (): CacheStores => {
    if (opened) return opened;
    try {
      opened = openCacheStores(cacheDir, warn);
    } catch (e) {
      // ends the run (the chain and the client pass a NelError on), as a failure at the start would
      throw (
        systemError(e, cacheDir) ??
        new NelError('ENGINE_RUN', `cannot open the request cache in ${cacheDir}: ${errorMessage(e)}`, {
          hint: "check that the caching interceptor's cache_dir can be read and written, or move its cache.db files aside",
        })
      );
    }
    savedRequests = opened.requests.count();
    savedResponses = opened.responses.count();
    return opened;
  };
  let warnedBadRow = false;
  /** A cached reply that cannot be used: dropped (once-per-run warning), and the request goes out. */
  const dropRow = (key: string, why: string): void => {
    const stores = open();
    stores.responses.delete(key);
    stores.headers.delete(key);
    if (warnedBadRow) return;
    warnedBadRow = true;
    warn(
      `dropped a cached reply that ${why} from ${stores.responses.file} and sent its request again (further such rows are dropped silently)`,
    );
  };
  const keys = new WeakMap<AdapterRequest, string>();
  const requestRoom = (): boolean => saveRequests && (maxRequests == null || savedRequests < maxRequests);
  /** Save the request (once, within max_saved_requests). */
  const saveRequest = (key: string, req: AdapterRequest): void => {
    const stores = open();
    if (requestRoom() && !stores.requests.has(key)) {
      stores.requests.putJson(key, req.body);
      savedRequests++;
    }
  };
  return {
    get stores() {
      return open();
    },
    onRequest(req) {
      const kept = req.meta.answerKept === true;
      // A request whose answer is kept elsewhere is answered from there (before it is sent), never here;
      // it is saved with its reply (onResponse), so nothing here needs the databases.
      const lookup = reuse && !kept;
      if (!kept) open();
      const limit = responseLimit(req);
      // Before the databases are open (only for such a request) the counts are not known yet: the key
      // is made, and onResponse decides with the counts.
      const unknown = opened === null;
      const storeRequest = unknown ? saveRequests : requestRoom();
      const storeResponse = saveResponses && (unknown || limit == null || savedResponses < limit);
      // Nothing to look up or store: no key to compute.
      if (!lookup && !storeRequest && !storeResponse) return req;
      const key = cacheKey(req.body, req.meta.repeatIndex);
      keys.set(req, key);
      if (!kept && storeRequest) saveRequest(key, req);
      if (lookup) {
        const stores = open();
        let cached: Buffer | undefined;
        try {
          cached = stores.responses.getBuffer(key);
        } catch (e) {
          dropRow(key, `cannot be read (${e instanceof Error ? e.message : String(e)})`);
          return req;
        }
        if (cached !== undefined) {
          const text = cached.toString('utf8');
          let body: unknown;
          try {
            body = JSON.parse(text) as unknown;
          } catch {
            dropRow(key, 'is not JSON');
            return req;
          }
          const fault = completionFault(body, endpointType, req.body);
          if (fault !== null) {
            dropRow(key, `is not a valid completion (${fault})`);
            return req;
          }
          return cachedResponse(body, text, () => {
            try {
              return stores.headers.getJson(key);
            } catch {
              return undefined;
            }
          });
        }
      }
      return req;
    },
    onResponse(res, req) {
      const key = keys.get(req);
      if (!key || res.cacheHit) return res;
      if (req.meta.answerKept === true && saveRequests) saveRequest(key, req);
      if (res.status !== 200 || res.fault !== undefined || !saveResponses) return res;
      const stores = open();
      const limit = responseLimit(req);
      if (limit != null && savedResponses >= limit) return res;
      // Counting needs a lookup; without a limit there is nothing to count.
      if (limit != null && !stores.responses.has(key)) savedResponses++;
      stores.responses.put(key, res.text, MODE_RAW);
      stores.headers.putJson(key, res.headers);
      return res;
    },
    flush() {
      if (!opened) return;
      opened.requests.flush();
      opened.responses.flush();
      opened.headers.flush();
    },
    close() {
      if (!opened) return;
      opened.requests.close();
      opened.responses.close();
      opened.headers.close();
    },
  };
}
