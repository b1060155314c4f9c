/**
 * Sends one request through the interceptor chain with retries: 408/429/5xx, an HTTP 200 that is not a
 * valid completion, connection resets and timeouts are retried up to `maxRetries` times (upstream's
 * meaning: retries after the first attempt) with exponential backoff and equal jitter (retry.ts),
 * honouring `Retry-After` up to the backoff cap; other 4xx fail at once. Waits of LONG_WAIT_MS or more
 * are logged at info level. The clock, sleep and random source are injectable.
 */
import { isNelError, NelError } from '../../common/errors.js';
import { EndpointCallError } from '../adapters/endpoint.js';
import { finalFaultHint } from './completion.js';
import { ResponseTooLargeError } from './http-transport.js';
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
  /** Aborts backoff waits and stops retrying (shutdown). */
  signal?: AbortSignal;
}

/** Waits this long or longer are logged at info level. */
export const LONG_WAIT_MS = 3000;

export interface Completion {
  response: AdapterResponse;
  attempts: number;
}

export interface ModelClient {
  complete(body: Record<string, unknown>, meta: AdapterRequest['meta']): Promise<Completion>;
}

/** The request failed for good (after retries, or a non-retryable status). */
export class EndpointRequestError extends NelError {
  constructor(
    message: string,
    hint?: string,
    /** The reply's completionFault, when it was a fault that asking again cannot mend (finalFaultHint). */
    readonly fault?: string,
  ) {
    super('ENGINE_ENDPOINT', message, {
      hint: hint ?? 'check the endpoint URL, model id and API key, and that the server is up',
    });
  }
}

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

export function createModelClient(opts: ModelClientOptions): ModelClient {
  const sleep = opts.sleep ?? realSleep;
  const random = opts.random ?? Math.random;
  const now = opts.now ?? Date.now;
  const policy = opts.backoff ?? DEFAULT_BACKOFF;
  let toldRetryAfterCap = false;
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
          if (res.status === 200 && res.fault === undefined && res.body !== null)
            return { response: res, attempts: attempt + 1 };
          if (res.status === 200) {
            const fault = res.fault ?? 'the body is not JSON';
            failure = `HTTP 200 that is not a valid completion: ${fault}`;
            const hint = finalFaultHint(fault);
            if (hint !== undefined) throw new EndpointRequestError(failure, hint, fault);
          } else {
            failure = `HTTP ${res.status}: ${res.text.replace(/\s+/g, ' ').slice(0, 200)}`;
            if (!RETRYABLE_STATUS(res.status))
              throw new EndpointRequestError(`the endpoint refused a request: ${failure}`);
            waitMs = parseRetryAfter(res.headers['retry-after'], now());
            if (waitMs !== null && waitMs > policy.capMs) {
              if (!toldRetryAfterCap) {
                toldRetryAfterCap = true;
                opts.log.warn(
                  `the endpoint asked to wait ${seconds(waitMs)} (Retry-After); waiting ${seconds(policy.capMs)}, the retry cap (config.params.extra.retry_cap_seconds)`,
                );
              }
              waitMs = policy.capMs;
            }
          }
        } catch (e) {
          // a NelError from the chain is a failure of the run (e.g. its cache), not of the request
          if (e instanceof FatalInterceptorError || e instanceof EndpointRequestError || isNelError(e))
            throw e;
          const inner = e instanceof EndpointCallError ? e.original : e;
          if (opts.signal?.aborted) throw e;
          if (!isRetryableTransportError(inner)) {
            const message = inner instanceof Error ? inner.message : String(inner);
            throw new EndpointRequestError(
              `request to the endpoint failed: ${message}`,
              inner instanceof ResponseTooLargeError
                ? 'raise config.params.extra.max_response_mb if such replies are expected, or lower max_new_tokens'
                : undefined,
            );
          }
          failure = e instanceof Error ? e.message : String(e);
        }
        if (attempt >= opts.maxRetries) {
          throw new EndpointRequestError(
            `request failed after ${attempt + 1} attempt${attempt === 0 ? '' : 's'} (max_retries=${opts.maxRetries}): ${failure}`,
          );
        }
        if (opts.signal?.aborted) throw new Error(`stopped before retrying: ${failure}`);
        const delay = waitMs ?? backoffDelay(attempt, random, policy);
        const fields = { sample: meta.sampleId, attempt: attempt + 1, delay_ms: delay, reason: failure };
        if (delay >= LONG_WAIT_MS) {
          opts.log.info(
            `waiting ${seconds(delay)} before retry ${attempt + 1} of ${opts.maxRetries}: ${failure}`,
            { sample: meta.sampleId },
          );
        } else opts.log.debug('retrying request', fields);
        await sleep(delay, opts.signal);
      }
    },
  };
}
