/** One HTTP POST over a keep-alive undici pool; no retries here (see model-client.ts). */
import type { Dispatcher } from 'undici';
import { Pool, requestVia } from './undici-core.js';

export interface HttpReply {
  status: number;
  headers: Record<string, string>;
  text: string;
}

export interface HttpTransport {
  post(
    url: string,
    body: string,
    headers: Record<string, string>,
    opts: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<HttpReply>;
  close(): Promise<void>;
}

/** A timeout or a cancelled request, marked so the retry policy can tell them apart. */
export class RequestTimeoutError extends Error {
  readonly retryable = true;
  constructor(ms: number) {
    super(`request timed out after ${ms / 1000} s`);
    this.name = 'RequestTimeoutError';
  }
}

function abortError(reason: unknown): Error {
  if (reason instanceof Error) return reason;
  const e = new Error(`request aborted${reason === undefined ? '' : `: ${String(reason)}`}`);
  e.name = 'AbortError';
  return e;
}

function flattenHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h))
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/**
 * A pool per origin with `connections` keep-alive sockets. `dispatcher` replaces the pool (tests).
 */
export function createHttpTransport(opts: { connections: number; dispatcher?: Dispatcher }): HttpTransport {
  const pools = new Map<string, Dispatcher>();
  const dispatcherFor = (origin: string): Dispatcher => {
    if (opts.dispatcher) return opts.dispatcher;
    let p = pools.get(origin);
    if (!p) {
      p = new Pool(origin, {
        connections: Math.max(1, opts.connections),
        keepAliveTimeout: 30_000,
        pipelining: 1,
      });
      pools.set(origin, p);
    }
    return p;
  };
  const targets = new Map<string, { origin: string; path: string }>();
  const targetOf = (url: string): { origin: string; path: string } => {
    let t = targets.get(url);
    if (!t) {
      const u = new URL(url);
      t = { origin: u.origin, path: u.pathname + u.search };
      targets.set(url, t);
    }
    return t;
  };
  // A cancelling signal destroys the pools (failing every request in flight) through one listener,
  // rather than a listener per request; an injected dispatcher gets the signal with each request.
  const watched = new WeakSet<AbortSignal>();
  const watch = (signal: AbortSignal): void => {
    if (watched.has(signal)) return;
    watched.add(signal);
    signal.addEventListener(
      'abort',
      () => {
        for (const p of pools.values()) p.destroy(abortError(signal.reason)).catch(() => undefined);
        pools.clear();
      },
      { once: true },
    );
  };
  return {
    async post(url, body, headers, { timeoutMs, signal }) {
      const { origin, path } = targetOf(url);
      if (signal?.aborted) throw abortError(signal.reason);
      if (signal && !opts.dispatcher) watch(signal);
      // The timeout bounds the wait for the response headers and every pause in the body, like the read
      // timeout of Python's requests; undici's own timers, so no controller or listener per request.
      try {
        const res = await requestVia(dispatcherFor(origin), {
          origin,
          path,
          method: 'POST',
          headers,
          body,
          signal: opts.dispatcher ? signal : undefined,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        });
        const text = await res.body.text();
        return { status: res.statusCode, headers: flattenHeaders(res.headers), text };
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        if (!signal?.aborted && (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT'))
          throw new RequestTimeoutError(timeoutMs);
        throw e;
      }
    },
    async close() {
      await Promise.all([...pools.values()].map((p) => p.close().catch(() => undefined)));
      pools.clear();
    },
  };
}
