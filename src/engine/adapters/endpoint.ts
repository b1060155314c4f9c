/** `endpoint`: sends the request to the original full URL (one attempt; retries happen above the chain). */
import { completionFault } from '../client/completion.js';
import type { HttpTransport } from '../client/http-transport.js';
import { parsePromptLogprobsReply } from '../client/logprob-reply.js';
import type { EndpointType } from '../types.js';
import {
  defineInterceptor,
  type AdapterRequest,
  type AdapterResponse,
  type Interceptor,
  type InterceptorHooks,
} from './types.js';

/** A transport failure of the endpoint call: propagated (not skipped) so the client can retry. */
export class EndpointCallError extends Error {
  constructor(
    message: string,
    readonly original: unknown,
  ) {
    super(message);
    this.name = 'EndpointCallError';
  }
}

export const endpointInterceptor = defineInterceptor({
  name: 'endpoint',
  stage: 'request_to_response',
  settings: {},
  // Latency is measured on the monotonic clock, not the deps' wall clock.
  create: (_settings, { url, transport, timeoutMs, signal, endpointType, maxResponseBytes }) =>
    endpointHooks({ url, transport, timeoutMs, signal, endpointType, maxResponseBytes }),
});

interface EndpointOptions {
  url: string;
  transport: HttpTransport;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Monotonic clock for the latency (default performance.now). */
  now?: () => number;
  /** The endpoint type whose completions a 200 reply must carry (default chat). */
  endpointType?: EndpointType;
  maxResponseBytes?: number;
}

/** An endpoint interceptor built outside a chain (the model client's tests). */
export function createEndpointInterceptor(opts: EndpointOptions): Interceptor {
  return { name: 'endpoint', stage: 'request_to_response', ...endpointHooks(opts) };
}

/** A request for prompt log-probabilities: its reply is read without token strings (logprob-reply.ts). */
const asksPromptLogprobs = (body: Record<string, unknown>): boolean =>
  body.echo === true && body.logprobs != null && body.logprobs !== false;

function endpointHooks(opts: EndpointOptions): InterceptorHooks {
  const endpointType = opts.endpointType ?? 'chat';
  const now = opts.now ?? (() => performance.now());
  return {
    async onRequest(req: AdapterRequest): Promise<AdapterResponse> {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (k !== 'host' && k !== 'content-length') headers[k] = v;
      headers['content-type'] = 'application/json';
      const started = now();
      let reply;
      try {
        reply = await opts.transport.post(opts.url, JSON.stringify(req.body), headers, {
          timeoutMs: opts.timeoutMs,
          signal: opts.signal,
          maxResponseBytes: opts.maxResponseBytes,
        });
      } catch (e) {
        throw new EndpointCallError(e instanceof Error ? e.message : String(e), e);
      }
      const latencyMs = now() - started;
      let body: unknown = null;
      // the text is decoded only when something reads it (a prompt-logprob reply is read from its bytes)
      let text: string | undefined;
      try {
        body = asksPromptLogprobs(req.body)
          ? parsePromptLogprobsReply(reply.bytes ?? reply.text)
          : JSON.parse(reply.text);
        let changed = false;
        const choices = (body as { choices?: unknown }).choices;
        if (Array.isArray(choices)) {
          for (const c of choices as { message?: { content?: unknown } }[]) {
            if (c && c.message && typeof c.message === 'object' && c.message.content === null) {
              c.message.content = '';
              changed = true;
            }
          }
        }
        if (changed) text = JSON.stringify(body);
      } catch {
        body = null;
      }
      const res: AdapterResponse = {
        status: reply.status,
        headers: reply.headers,
        body,
        get text(): string {
          return (text ??= reply.text);
        },
        set text(v: string) {
          text = v;
        },
        latencyMs,
        cacheHit: false,
      };
      if (reply.status === 200) {
        const fault = completionFault(body, endpointType, req.body);
        if (fault !== null) res.fault = fault;
      }
      req.meta.onReply?.(res);
      return res;
    },
  };
}
