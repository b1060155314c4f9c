/**
 * The in-process interceptor chain (engine-spec 7.4): stage-order validation, a request phase that ends at
 * the first request-to-response component returning a response, and a response phase over all
 * response-capable components in reverse list order. Interceptor exceptions are logged and that
 * interceptor is skipped; FatalInterceptorError, endpoint transport failures and a NelError (a failure
 * the run cannot go on without, e.g. a cache database that cannot be opened) propagate.
 */
import { randomUUID } from 'node:crypto';
import { isNelError } from '../../common/errors.js';
import type { HttpTransport } from '../client/http-transport.js';
import type { AdapterConfig } from './adapter-config.js';
import { EndpointCallError } from './endpoint.js';
import { findInterceptor, validateChainSpec } from './registry.js';
import {
  FatalInterceptorError,
  isAdapterResponse,
  type AdapterRequest,
  type AdapterResponse,
  type Interceptor,
  type InterceptorContext,
  type InterceptorDefinition,
  type InterceptorDeps,
} from './types.js';

export interface ChainDeps {
  ctx: InterceptorContext;
  transport: HttpTransport;
  timeoutMs: number;
  /** Cap of one reply's body in bytes (default: DEFAULT_MAX_RESPONSE_MB). */
  maxResponseBytes?: number;
  /** Aborts in-flight endpoint calls (hard shutdown). */
  signal?: AbortSignal;
  /** Interceptors for this chain only, beside the registered ones (registry.ts registerInterceptor). */
  factories?: readonly InterceptorDefinition[];
  fetchImpl?: typeof fetch;
  /** Wall clock (default Date.now). */
  now?: () => number;
}

export interface InterceptorChain {
  readonly interceptors: Interceptor[];
  send(req: AdapterRequest): Promise<AdapterResponse>;
  /** Interceptor post-eval hooks in chain order. */
  postEval(): Promise<void>;
  /** Interceptor flush hooks (buffered cache rows to disk). */
  flush(): void;
  close(): Promise<void>;
}

/** The one deps object every interceptor of the chain is built with. */
function interceptorDeps(deps: ChainDeps): InterceptorDeps {
  const { ctx } = deps;
  return {
    outputDir: ctx.outputDir,
    url: ctx.url,
    log: ctx.log,
    endpointType: ctx.endpointType,
    transport: deps.transport,
    timeoutMs: deps.timeoutMs,
    maxResponseBytes: deps.maxResponseBytes,
    signal: deps.signal,
    fetch: deps.fetchImpl ?? fetch,
    now: deps.now ?? Date.now,
  };
}

export function buildChain(config: AdapterConfig, deps: ChainDeps): InterceptorChain {
  const extra = deps.factories ?? [];
  validateChainSpec(config.interceptors, extra);
  const shared = interceptorDeps(deps);
  const interceptors: Interceptor[] = [];
  try {
    for (const spec of config.interceptors)
      if (spec.enabled) interceptors.push(findInterceptor(spec.name, extra)!.build(spec.config, shared));
  } catch (e) {
    for (const ic of interceptors) void ic.close?.();
    throw e;
  }
  return chainOf(interceptors, deps.ctx);
}

/** A chain over already-built interceptors. */
export function chainOf(interceptors: Interceptor[], ctx: InterceptorContext): InterceptorChain {
  const log = ctx.log;
  const responders = interceptors.filter((i) => i.onResponse).reverse();
  return {
    interceptors,
    async send(request) {
      let req = request;
      if (!req.meta.requestId) req = { ...req, meta: { ...req.meta, requestId: randomUUID() } };
      let res: AdapterResponse | undefined;
      for (const ic of interceptors) {
        if (!ic.onRequest) continue;
        try {
          const r = await ic.onRequest(req);
          if (isAdapterResponse(r)) {
            res = r;
            break;
          }
          req = r;
        } catch (e) {
          if (e instanceof FatalInterceptorError || e instanceof EndpointCallError || isNelError(e)) throw e;
          log.warn(`interceptor '${ic.name}' failed on the request; skipped`, {
            error: e instanceof Error ? e.message : String(e),
          });
        }
      }
      if (!res) throw new Error('no interceptor produced a response (is the endpoint interceptor enabled?)');
      for (const ic of responders) {
        try {
          res = await ic.onResponse!(res, req);
        } catch (e) {
          if (e instanceof FatalInterceptorError || isNelError(e)) throw e;
          log.warn(`interceptor '${ic.name}' failed on the response; skipped`, {
            error: e instanceof Error ? e.message : String(e),
          });
        }
      }
      return res;
    },
    async postEval() {
      for (const ic of interceptors) {
        if (!ic.postEval) continue;
        try {
          await ic.postEval();
        } catch (e) {
          log.warn(`post-eval hook of '${ic.name}' failed`, {
            error: e instanceof Error ? e.message : String(e),
          });
        }
      }
    },
    flush() {
      for (const ic of interceptors) {
        try {
          ic.flush?.();
        } catch (e) {
          log.warn(`flushing '${ic.name}' failed`, { error: e instanceof Error ? e.message : String(e) });
        }
      }
    },
    async close() {
      for (const ic of interceptors) {
        try {
          await ic.close?.();
        } catch {
          /* closing is best effort */
        }
      }
    },
  };
}
