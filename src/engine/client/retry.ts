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
 * `Retry-After` as milliseconds (seconds or an HTTP date), or null when absent/unparseable.
 * Capped at `capMs` so a hostile header cannot stall the run.
 */
export function parseRetryAfter(
  value: string | undefined | null,
  nowMs: number,
  capMs = 120_000,
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
  baseMs: number;
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, capMs: 30_000 };

/** Full jitter: uniform in [0, min(cap, base * 2^attempt)); attempt counts from 0. */
export function backoffDelay(
  attempt: number,
  random: () => number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
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
