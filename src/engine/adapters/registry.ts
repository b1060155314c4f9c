/**
 * The interceptor registry: every interceptor is one `defineInterceptor({name, stage, settings, create})`
 * beside its code, listed once in BUILTIN_INTERCEPTORS. The chain, the stage-order check and the settings
 * check all read these definitions. Post-eval hooks declare their settings here too.
 */
import { NelError } from '../../common/errors.js';
import type { Obj } from '../../common/objects.js';
import type { ComponentSpec } from './adapter-config.js';
import { cachingInterceptor } from './caching.js';
import { endpointInterceptor } from './endpoint.js';
import {
  payloadModifierInterceptor,
  requestLoggingInterceptor,
  systemMessageInterceptor,
} from './request-interceptors.js';
import {
  progressTrackingInterceptor,
  raiseClientErrorsInterceptor,
  reasoningInterceptor,
  responseLoggingInterceptor,
} from './response-interceptors.js';
import { responseStatsInterceptor } from './response-stats.js';
import { checkSettings, type SettingsSchema } from './settings.js';
import type { InterceptorDefinition, InterceptorStage } from './types.js';

/** The built-in interceptors, in upstream's default chain order. */
const BUILTIN_INTERCEPTORS: readonly InterceptorDefinition[] = [
  systemMessageInterceptor,
  payloadModifierInterceptor,
  requestLoggingInterceptor,
  cachingInterceptor,
  endpointInterceptor,
  responseStatsInterceptor,
  responseLoggingInterceptor,
  reasoningInterceptor,
  progressTrackingInterceptor,
  raiseClientErrorsInterceptor,
];

const registry = new Map<string, InterceptorDefinition>(BUILTIN_INTERCEPTORS.map((d) => [d.name, d]));

/** Post-eval hooks (run by the engine after the evaluation) and their settings. */
export const POST_EVAL_HOOKS: Readonly<Record<string, SettingsSchema>> = {
  post_eval_report: {
    report_types: { kind: 'string-list', nullable: true },
    html_report_size: { kind: 'number', nullable: true },
  },
};

/** Add an interceptor (plug-ins, tests). A name already taken is refused. */
export function registerInterceptor(def: InterceptorDefinition): void {
  if (registry.has(def.name) || def.name in POST_EVAL_HOOKS) {
    throw new NelError('ENGINE_CONFIG', `An interceptor named '${def.name}' is already registered`);
  }
  registry.set(def.name, def);
}

/** Remove an interceptor added by registerInterceptor (built-ins stay). */
export function unregisterInterceptor(name: string): void {
  if (BUILTIN_INTERCEPTORS.some((d) => d.name === name)) return;
  registry.delete(name);
}

export function interceptorNames(): string[] {
  return [...registry.keys()];
}

/** The definition of `name` (extra definitions first), or undefined. */
export function findInterceptor(
  name: string,
  extra: readonly InterceptorDefinition[] = [],
): InterceptorDefinition | undefined {
  return extra.find((d) => d.name === name) ?? registry.get(name);
}

const STAGE_RANK: Record<InterceptorStage, number> = { request: 0, request_to_response: 1, response: 2 };

/** Check the settings of every known interceptor and hook (unknown names are left to validateChainSpec). */
export function checkComponentSettings(interceptors: ComponentSpec[], hooks: ComponentSpec[]): void {
  for (const s of interceptors) {
    const def = registry.get(s.name);
    if (def) checkSettings(`interceptor '${s.name}'`, def.settings, s.config);
  }
  for (const h of hooks) {
    const schema = POST_EVAL_HOOKS[h.name];
    if (schema) checkSettings(`post-eval hook '${h.name}'`, schema, h.config);
  }
}

/** Check names, stage order and settings before anything is created. */
export function validateChainSpec(
  specs: ComponentSpec[],
  extra: readonly InterceptorDefinition[] = [],
): void {
  const enabled = specs.filter((s) => s.enabled);
  let rank = 0;
  let prev = '';
  for (const s of enabled) {
    if (s.name in POST_EVAL_HOOKS) {
      throw new NelError(
        'ENGINE_CONFIG',
        `'${s.name}' is a post-eval hook and cannot be listed as an interceptor`,
      );
    }
    const def = findInterceptor(s.name, extra);
    if (!def) {
      const names = [...new Set([...interceptorNames(), ...extra.map((d) => d.name)])];
      throw new NelError('ENGINE_CONFIG', `Unknown interceptor '${s.name}'. Available: ${names.join(', ')}`);
    }
    checkSettings(`interceptor '${s.name}'`, def.settings, s.config);
    const r = STAGE_RANK[def.stage];
    if (r < rank) {
      throw new NelError(
        'ENGINE_CONFIG',
        `Interceptor order: '${s.name}' (${def.stage}) cannot come after '${prev}': request interceptors must precede caching/endpoint, which must precede response interceptors`,
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
