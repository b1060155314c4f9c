/** One HTTP POST over a keep-alive undici pool; no retries here (see model-client.ts). */
import { Pool, type Dispatcher } from 'undici';

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
  return {
    async post(url, body, headers, { timeoutMs, signal }) {
      const u = new URL(url);
      // One controller per request, aborted by the timeout or the caller's signal; listeners are removed after.
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort(new RequestTimeoutError(timeoutMs));
      }, timeoutMs);
      const onAbort = (): void => controller.abort(signal?.reason);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      const combined = controller.signal;
      try {
        const res = await dispatcherFor(u.origin).request({
          origin: u.origin,
          path: u.pathname + u.search,
          method: 'POST',
          headers,
          body,
          signal: combined,
        });
        const text = await res.body.text();
        return { status: res.statusCode, headers: flattenHeaders(res.headers), text };
      } catch (e) {
        if (timedOut && !signal?.aborted) throw new RequestTimeoutError(timeoutMs);
        throw e;
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      }
    },
    async close() {
      await Promise.all([...pools.values()].map((p) => p.close().catch(() => undefined)));
      pools.clear();
    },
  };
}
