/**
 * One HTTP POST over a keep-alive undici pool; no retries here (see model-client.ts). The timeout bounds
 * the whole request (headers and the complete body, so a body that drips in slowly fails too) and the
 * reply size is capped: a reply over `maxResponseBytes` fails at once, before it is held in memory.
 */
import type { Dispatcher } from 'undici';
import { Pool, requestVia } from './undici-core.js';

export interface HttpReply {
  status: number;
  headers: Record<string, string>;
  /** The body as UTF-8 text (decoded from `bytes` when first read, where the reply has them). */
  readonly text: string;
  /** The body as received, where the transport has it (a reader may skip decoding parts of it). */
  readonly bytes?: Buffer;
}

/** A reply whose text is decoded from its bytes only when asked for. */
class BytesReply implements HttpReply {
  private decoded: string | undefined;
  constructor(
    readonly status: number,
    readonly headers: Record<string, string>,
    readonly bytes: Buffer,
  ) {}
  get text(): string {
    return (this.decoded ??= this.bytes.toString('utf8'));
  }
}

export interface HttpTransport {
  post(
    url: string,
    body: string,
    headers: Record<string, string>,
    opts: { timeoutMs: number; signal?: AbortSignal; maxResponseBytes?: number },
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

/** Default cap of one reply's body (config.params.extra.max_response_mb). */
export const DEFAULT_MAX_RESPONSE_MB = 32;

/** A reply over the size limit: not retried (the same request would get the same reply). */
export class ResponseTooLargeError extends Error {
  readonly retryable = false;
  constructor(readonly limitBytes: number) {
    super(
      `the reply exceeded the maximum reply size of ${formatMiB(limitBytes)} MiB (config.params.extra.max_response_mb)`,
    );
    this.name = 'ResponseTooLargeError';
  }
}

function formatMiB(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return Number.isInteger(mib) ? String(mib) : mib.toFixed(2);
}

/** A body being read, for the deadline sweep. */
interface Reading {
  deadline: number;
  timeoutMs: number;
  fail(e: Error): void;
}

/**
 * One timer per transport (not per request) that fails every body still being read past its deadline:
 * a body that stops short of the end cannot outlive `request_timeout` by more than the sweep interval.
 */
class DeadlineSweep {
  private readonly reading = new Set<Reading>();
  private timer: NodeJS.Timeout | null = null;
  constructor(private readonly intervalMs = 200) {}
  add(r: Reading): () => void {
    this.reading.add(r);
    this.timer ??= setInterval(() => this.sweep(), this.intervalMs).unref();
    return () => {
      this.reading.delete(r);
      if (this.reading.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  }
  private sweep(): void {
    const now = Date.now();
    for (const r of this.reading) if (now > r.deadline) r.fail(new RequestTimeoutError(r.timeoutMs));
  }
}

/**
 * Read a body to the end, failing when it passes `limit` bytes or `deadline` (a Date.now() value; checked
 * as each piece arrives, and by the sweep for a body that pauses past it).
 */
function readBody(
  body: Dispatcher.ResponseData['body'],
  limit: number,
  deadline: number,
  timeoutMs: number,
  sweep: DeadlineSweep,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const fail = (e: Error): void => {
      if (done) return;
      done = true;
      untrack();
      body.off('data', onData);
      body.destroy(e);
      reject(e);
    };
    const untrack = sweep.add({ deadline, timeoutMs, fail });
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) return fail(new ResponseTooLargeError(limit));
      chunks.push(chunk);
      if (Date.now() > deadline) fail(new RequestTimeoutError(timeoutMs));
    };
    body.on('data', onData);
    body.once('error', (e) => {
      if (done) return;
      done = true;
      untrack();
      reject(e);
    });
    body.once('end', () => {
      if (done) return;
      done = true;
      untrack();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
  });
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
  const sweep = new DeadlineSweep();
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
    async post(url, body, headers, { timeoutMs, signal, maxResponseBytes }) {
      const { origin, path } = targetOf(url);
      if (signal?.aborted) throw abortError(signal.reason);
      if (signal && !opts.dispatcher) watch(signal);
      // undici's own timers bound the wait for the headers (no controller or listener per request); the
      // deadline (checked per piece of body and by the transport's one sweep timer) bounds the whole body.
      const deadline = Date.now() + timeoutMs;
      const limit = maxResponseBytes ?? DEFAULT_MAX_RESPONSE_MB * 1024 * 1024;
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
        const declared = Number(res.headers['content-length']);
        if (declared > limit) {
          res.body.destroy();
          throw new ResponseTooLargeError(limit);
        }
        const bytes = await readBody(res.body, limit, deadline, timeoutMs, sweep);
        return new BytesReply(res.statusCode, flattenHeaders(res.headers), bytes);
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
