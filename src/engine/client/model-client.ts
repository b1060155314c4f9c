/**
 * Sends one request through the interceptor chain with retries: 408/429/5xx, connection resets and
 * timeouts are retried up to `maxRetries` times with exponential backoff and full jitter, honouring
 * `Retry-After`; other 4xx fail at once. The clock, sleep and random source are injectable.
 */
import { NelError } from '../../common/errors.js';
import { EndpointCallError } from '../adapters/endpoint.js';
import { FatalInterceptorError, type AdapterRequest, type AdapterResponse } from '../adapters/types.js';
import type { Logger } from '../logging.js';
import {
  backoffDelay,
  DEFAULT_BACKOFF,
  isRetryableTransportError,
  parseRetryAfter,
  RETRYABLE_STATUS,
  sleep as realSleep,
  type BackoffPolicy,
} from './retry.js';

export interface ModelClientOptions {
  send: (req: AdapterRequest) => Promise<AdapterResponse>;
  maxRetries: number;
  /** Headers for every request (e.g. Authorization); never logged. */
  headers?: Record<string, string>;
  log: Logger;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  now?: () => number;
  backoff?: BackoffPolicy;
  /** Aborts backoff waits (shutdown). */
  signal?: AbortSignal;
}

export interface Completion {
  response: AdapterResponse;
  attempts: number;
}

export interface ModelClient {
  complete(body: Record<string, unknown>, meta: AdapterRequest['meta']): Promise<Completion>;
}

/** The request failed for good (after retries, or a non-retryable status). */
export class EndpointRequestError extends NelError {
  constructor(message: string) {
    super('ENGINE_ENDPOINT', message, {
      hint: 'check the endpoint URL, model id and API key, and that the server is up',
    });
  }
}

export function createModelClient(opts: ModelClientOptions): ModelClient {
  const sleep = opts.sleep ?? realSleep;
  const random = opts.random ?? Math.random;
  const now = opts.now ?? Date.now;
  const policy = opts.backoff ?? DEFAULT_BACKOFF;
  return {
    async complete(body, meta) {
      for (let attempt = 0; ; attempt++) {
        // Request interceptors return changed copies, so a shallow copy keeps `body` intact for retries.
        const req: AdapterRequest = {
          body: { ...body },
          headers: { ...(opts.headers ?? {}) },
          meta: { ...meta },
        };
        let failure: string;
        let waitMs: number | null = null;
        try {
          const res = await opts.send(req);
          if (res.status === 200 && res.body !== null) return { response: res, attempts: attempt + 1 };
          if (res.status === 200) failure = 'HTTP 200 with a body that is not JSON';
          else {
            failure = `HTTP ${res.status}: ${res.text.replace(/\s+/g, ' ').slice(0, 200)}`;
            if (!RETRYABLE_STATUS(res.status))
              throw new EndpointRequestError(`the endpoint refused a request: ${failure}`);
            waitMs = parseRetryAfter(res.headers['retry-after'], now());
          }
        } catch (e) {
          if (e instanceof FatalInterceptorError || e instanceof EndpointRequestError) throw e;
          const inner = e instanceof EndpointCallError ? e.original : e;
          if (opts.signal?.aborted) throw e;
          if (!isRetryableTransportError(inner)) {
            throw new EndpointRequestError(
              `request to the endpoint failed: ${e instanceof Error ? e.message : String(e)}`,
            );
          }
          failure = e instanceof Error ? e.message : String(e);
        }
        if (attempt >= opts.maxRetries) {
          throw new EndpointRequestError(
            `request failed after ${attempt + 1} attempt${attempt === 0 ? '' : 's'} (max_retries=${opts.maxRetries}): ${failure}`,
          );
        }
        const delay = waitMs ?? backoffDelay(attempt, random, policy);
        opts.log.debug('retrying request', { attempt: attempt + 1, delay_ms: delay, reason: failure });
        await sleep(delay, opts.signal);
      }
    },
  };
}
