/** Retry policy: which failures are retried, exponential backoff with full jitter, Retry-After. */

export const RETRYABLE_STATUS = (status: number): boolean =>
  status === 408 || status === 429 || status >= 500;

/** Transport errors worth retrying: connection resets/refusals, sockets closed, timeouts. */
export function isRetryableTransportError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if ((err as { retryable?: boolean }).retryable === true) return true;
  const code = (err as NodeJS.ErrnoException).code ?? (err.cause as NodeJS.ErrnoException | undefined)?.code;
  return [
    'ECONNRESET',
    'ECONNREFUSED',
    'EPIPE',
    'ETIMEDOUT',
    'ECONNABORTED',
    'EAI_AGAIN',
    'UND_ERR_SOCKET',
    'UND_ERR_CLOSED',
    'UND_ERR_CONNECT_TIMEOUT',
    'UND_ERR_HEADERS_TIMEOUT',
    'UND_ERR_BODY_TIMEOUT',
  ].includes(code ?? '');
}

/**
 * `Retry-After` as milliseconds (seconds or an HTTP date), or null when absent/unparseable; uncapped
 * (the client caps it at the backoff cap and says so).
 */
export function parseRetryAfter(
  value: string | undefined | null,
  nowMs: number,
  capMs = Number.POSITIVE_INFINITY,
): number | null {
  if (value == null || value.trim() === '') return null;
  const v = value.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(v)) ms = Number(v) * 1000;
  else {
    const t = Date.parse(v);
    if (Number.isNaN(t)) return null;
    ms = t - nowMs;
  }
  return Math.min(Math.max(0, ms), capMs);
}

export interface BackoffPolicy {
  /** The first wait's ceiling (config.params.extra.retry_base_seconds). */
  baseMs: number;
  /** No wait is longer (config.params.extra.retry_cap_seconds); also caps Retry-After. */
  capMs: number;
  /** Each ceiling is this many times the previous one. */
  factor?: number;
}

/**
 * Ceilings 2, 6, 18, 54, 60, 60 ... s. With "equal jitter" every wait is at least half its ceiling, so the
 * default max_retries: 5 waits at least 1 + 3 + 9 + 27 + 30 = 70 s in all before giving up (at most 140 s):
 * an outage of a minute is ridden out, and a single blip costs 1-2 s.
 */
export const DEFAULT_BACKOFF: Required<BackoffPolicy> = { baseMs: 2000, capMs: 60_000, factor: 3 };

/** Equal jitter: uniform in [c/2, c) for the ceiling c = min(cap, base * factor^attempt); attempt from 0. */
export function backoffDelay(
  attempt: number,
  random: () => number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
): number {
  const ceiling = Math.min(
    policy.capMs,
    policy.baseMs * (policy.factor ?? DEFAULT_BACKOFF.factor) ** attempt,
  );
  return Math.floor(ceiling / 2 + (random() * ceiling) / 2);
}

/** Sleep that ends early (rejecting) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
