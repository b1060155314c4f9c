/**
 * The in-process interceptor chain (engine-spec 7.4): stage-order validation, a request phase that ends at
 * the first request-to-response component returning a response, and a response phase over all
 * response-capable components in reverse list order. Interceptor exceptions are logged and that
 * interceptor is skipped; FatalInterceptorError and endpoint transport failures propagate.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { NelError } from '../../common/errors.js';
import type { HttpTransport } from '../client/http-transport.js';
import type { AdapterConfig, ComponentSpec } from './adapter-config.js';
import { createCachingInterceptor } from './caching.js';
import { createEndpointInterceptor, EndpointCallError } from './endpoint.js';
import {
  createPayloadModifierInterceptor,
  createRequestLoggingInterceptor,
  createSystemMessageInterceptor,
} from './request-interceptors.js';
import {
  createProgressTrackingInterceptor,
  createRaiseClientErrorsInterceptor,
  createReasoningInterceptor,
  createResponseLoggingInterceptor,
} from './response-interceptors.js';
import { createResponseStatsInterceptor } from './response-stats.js';
import {
  FatalInterceptorError,
  isAdapterResponse,
  type AdapterRequest,
  type AdapterResponse,
  type Interceptor,
  type InterceptorContext,
  type InterceptorStage,
} from './types.js';

export const INTERCEPTOR_STAGES: Record<string, InterceptorStage> = {
  system_message: 'request',
  payload_modifier: 'request',
  request_logging: 'request',
  caching: 'request_to_response',
  endpoint: 'request_to_response',
  response_stats: 'response',
  response_logging: 'response',
  reasoning: 'response',
  progress_tracking: 'response',
  raise_client_errors: 'response',
};

export const POST_EVAL_HOOKS = ['post_eval_report'];

const STAGE_RANK: Record<InterceptorStage, number> = { request: 0, request_to_response: 1, response: 2 };

export interface ChainDeps {
  ctx: InterceptorContext;
  transport: HttpTransport;
  timeoutMs: number;
  /** Cap of one reply's body in bytes (default: DEFAULT_MAX_RESPONSE_MB). */
  maxResponseBytes?: number;
  /** Aborts in-flight endpoint calls (hard shutdown). */
  signal?: AbortSignal;
  /** Extra interceptor factories by name (tests, plug-ins). */
  factories?: Record<string, (spec: ComponentSpec, deps: ChainDeps) => Interceptor>;
  fetchImpl?: typeof fetch;
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

/** Check names and stage order before anything is created. */
export function validateChainSpec(specs: ComponentSpec[], extraNames: string[] = []): void {
  const enabled = specs.filter((s) => s.enabled);
  let rank = 0;
  let prev = '';
  for (const s of enabled) {
    if (POST_EVAL_HOOKS.includes(s.name)) {
      throw new NelError(
        'ENGINE_CONFIG',
        `'${s.name}' is a post-eval hook and cannot be listed as an interceptor`,
      );
    }
    const stage = INTERCEPTOR_STAGES[s.name] ?? (extraNames.includes(s.name) ? undefined : null);
    if (stage === null) {
      throw new NelError(
        'ENGINE_CONFIG',
        `Unknown interceptor '${s.name}'. Available: ${Object.keys(INTERCEPTOR_STAGES).join(', ')}`,
      );
    }
    if (stage === undefined) continue;
    const r = STAGE_RANK[stage];
    if (r < rank) {
      throw new NelError(
        'ENGINE_CONFIG',
        `Interceptor order: '${s.name}' (${stage}) cannot come after '${prev}': request interceptors must precede caching/endpoint, which must precede response interceptors`,
      );
    }
    rank = r;
    prev = s.name;
  }
  if (!enabled.some((s) => s.name === 'endpoint')) {
    throw new NelError('ENGINE_CONFIG', "The interceptor chain has no enabled 'endpoint' interceptor", {
      hint: 'add {name: endpoint} to adapter_config.interceptors',
    });
  }
}

function createInterceptor(spec: ComponentSpec, deps: ChainDeps): Interceptor {
  const extra = deps.factories?.[spec.name];
  if (extra) return extra(spec, deps);
  const { ctx } = deps;
  const c = spec.config;
  switch (spec.name) {
    case 'system_message':
      return createSystemMessageInterceptor(c);
    case 'payload_modifier':
      return createPayloadModifierInterceptor(c);
    case 'request_logging':
      return createRequestLoggingInterceptor(c, ctx.log, ctx.url);
    case 'caching':
      return createCachingInterceptor(c, {
        defaultCacheDir: join(ctx.outputDir, 'cache'),
        endpointType: ctx.endpointType,
        log: ctx.log,
      });
    case 'endpoint':
      return createEndpointInterceptor({
        url: ctx.url,
        transport: deps.transport,
        timeoutMs: deps.timeoutMs,
        signal: deps.signal,
        endpointType: ctx.endpointType,
        maxResponseBytes: deps.maxResponseBytes,
      });
    case 'response_stats':
      return createResponseStatsInterceptor(c, ctx.outputDir, Date.now, ctx.log);
    case 'response_logging':
      return createResponseLoggingInterceptor(c, ctx.log);
    case 'reasoning':
      return createReasoningInterceptor(c, ctx.outputDir);
    case 'progress_tracking':
      return createProgressTrackingInterceptor(c, ctx.outputDir, ctx.log, deps.fetchImpl);
    case 'raise_client_errors':
      return createRaiseClientErrorsInterceptor(c);
    default:
      throw new NelError('ENGINE_CONFIG', `Unknown interceptor '${spec.name}'`);
  }
}

export function buildChain(config: AdapterConfig, deps: ChainDeps): InterceptorChain {
  validateChainSpec(config.interceptors, Object.keys(deps.factories ?? {}));
  const interceptors: Interceptor[] = [];
  try {
    for (const spec of config.interceptors)
      if (spec.enabled) interceptors.push(createInterceptor(spec, deps));
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
          if (e instanceof FatalInterceptorError || e instanceof EndpointCallError) throw e;
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
          if (e instanceof FatalInterceptorError) throw e;
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
