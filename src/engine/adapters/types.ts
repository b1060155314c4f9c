/** The in-process interceptor chain's data types (engine-spec 7). */
import type { Obj } from '../../common/objects.js';
import type { HttpTransport } from '../client/http-transport.js';
import type { Logger } from '../logging.js';
import type { EndpointType } from '../types.js';
import { checkSettings, type SettingsOf, type SettingsSchema } from './settings.js';

export interface AdapterRequest {
  /** JSON body sent to the endpoint (mutable by request interceptors). */
  body: Record<string, unknown>;
  /** Lower-case header names. */
  headers: Record<string, string>;
  meta: {
    requestId: string;
    sampleId: string;
    /** 0 for the first response of a sample; >= 1 for repeats (extra.n_samples). */
    repeatIndex: number;
    /**
     * The answer is kept elsewhere for resuming (the log-likelihood pair journal): the response cache does
     * not answer such a request, and stores its reply only up to `max_saved_responses`.
     */
    answerKept?: boolean;
    /**
     * Called by the endpoint interceptor with each reply it gets, as soon as it has read and checked it
     * (status, fault), before the response interceptors run.
     */
    onReply?: (res: AdapterResponse) => void;
  };
}

export interface AdapterResponse {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON body (null when the body is not JSON). */
  body: unknown;
  /** Raw body text as received (or as re-serialised after response interceptors changed `body`). */
  text: string;
  latencyMs: number;
  cacheHit: boolean;
  /**
   * Set on an HTTP 200 that is not a valid completion for the endpoint type (why not): the client retries
   * it like a 5xx and the cache does not store it.
   */
  fault?: string;
}

export type InterceptorStage = 'request' | 'request_to_response' | 'response';

export interface InterceptorContext {
  outputDir: string;
  /** The original full endpoint URL. */
  url: string;
  log: Logger;
  /** The endpoint type replies must be completions of (default chat). */
  endpointType?: EndpointType;
}

export interface Interceptor {
  readonly name: string;
  readonly stage: InterceptorStage;
  /** Request phase: return the (modified) request to continue, or a response to end the phase. */
  onRequest?(
    req: AdapterRequest,
  ): Promise<AdapterRequest | AdapterResponse> | AdapterRequest | AdapterResponse;
  /** Response phase (all response-capable interceptors, reverse list order). */
  onResponse?(res: AdapterResponse, req: AdapterRequest): Promise<AdapterResponse> | AdapterResponse;
  /** Post-evaluation hook (stats files, final progress). */
  postEval?(): Promise<void> | void;
  /** Write buffered state to disk (before a stop marker or the post-eval report). */
  flush?(): void;
  close?(): Promise<void> | void;
}

/** Ends the whole evaluation (exit 1 + `.nemo_evaluator_server_error`). */
export class FatalInterceptorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FatalInterceptorError';
  }
}

export function isAdapterResponse(v: AdapterRequest | AdapterResponse): v is AdapterResponse {
  return typeof (v as AdapterResponse).status === 'number';
}

/** What every interceptor is built with (one object, the same for all). */
export interface InterceptorDeps {
  /** The run's output dir. */
  outputDir: string;
  /** The original full endpoint URL. */
  url: string;
  log: Logger;
  /** The endpoint type replies must be completions of (default chat). */
  endpointType?: EndpointType;
  transport: HttpTransport;
  /** Per-request timeout of the endpoint call. */
  timeoutMs: number;
  /** Cap of one reply's body in bytes. */
  maxResponseBytes?: number;
  /** Aborts in-flight endpoint calls (hard shutdown). */
  signal?: AbortSignal;
  /** For interceptors that call out (progress_tracking). */
  fetch: typeof fetch;
  /** Wall clock, ms since the epoch. */
  now: () => number;
}

/** An interceptor's hooks; the registry adds its name and stage. */
export type InterceptorHooks = Omit<Interceptor, 'name' | 'stage'>;

export interface InterceptorDefinition<
  S extends SettingsSchema = SettingsSchema,
  H extends InterceptorHooks = InterceptorHooks,
> {
  readonly name: string;
  readonly stage: InterceptorStage;
  /** Its settings (the `config:` of its entry in adapter_config.interceptors). */
  readonly settings: S;
  create(settings: SettingsOf<S>, deps: InterceptorDeps): H;
  /** Check `raw` against the settings, then create: the one way to build an instance. */
  build(raw: Obj, deps: InterceptorDeps): Interceptor & H;
}

export function defineInterceptor<S extends SettingsSchema, H extends InterceptorHooks>(def: {
  name: string;
  stage: InterceptorStage;
  settings: S;
  create(settings: SettingsOf<S>, deps: InterceptorDeps): H;
}): InterceptorDefinition<S, H> {
  return {
    ...def,
    build(raw, deps) {
      const hooks = def.create(checkSettings(`interceptor '${def.name}'`, def.settings, raw), deps);
      return Object.assign(hooks, { name: def.name, stage: def.stage });
    },
  };
}
