/** Request-stage interceptors: system_message, payload_modifier, request_logging (engine-spec 7.5). */
import { NelError } from '../../common/errors.js';
import { isPlainObject, type Obj } from '../../common/objects.js';
import { defineInterceptor, type AdapterRequest, type InterceptorHooks } from './types.js';

export const systemMessageInterceptor = defineInterceptor({
  name: 'system_message',
  stage: 'request',
  settings: {
    system_message: { kind: 'string' },
    strategy: { kind: 'string', choices: ['prepend', 'append', 'replace'] },
  },
  create(config) {
    if (config.system_message === undefined) {
      throw new NelError(
        'ENGINE_CONFIG',
        "interceptor 'system_message' needs config.system_message (a string)",
      );
    }
    return systemMessageHooks(config.system_message, config.strategy ?? 'prepend');
  },
});

function systemMessageHooks(configured: string, strategy: string): InterceptorHooks {
  return {
    onRequest(req) {
      const messages = req.body.messages;
      if (!Array.isArray(messages)) throw new Error('request has no messages');
      const existing = (messages as { role: string; content: unknown }[])
        .filter((m) => m.role === 'system')
        .map((m) => String(m.content ?? ''))
        .join('\n');
      let content = configured;
      if (existing) {
        if (strategy === 'prepend') content = `${configured}\n${existing}`;
        else if (strategy === 'append') content = `${existing}\n${configured}`;
      }
      const rest = (messages as { role: string }[]).filter((m) => m.role !== 'system');
      return { ...req, body: { ...req.body, messages: [{ role: 'system', content }, ...rest] } };
    },
  };
}

function removeRecursive(v: unknown, keys: Set<string>): unknown {
  if (Array.isArray(v)) return v.map((x) => removeRecursive(x, keys));
  if (isPlainObject(v)) {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) if (!keys.has(k)) out[k] = removeRecursive(x, keys);
    return out;
  }
  return v;
}

const FORBIDDEN_HEADERS = ['host', 'content-length', 'connection', 'transfer-encoding'];

export const payloadModifierInterceptor = defineInterceptor({
  name: 'payload_modifier',
  stage: 'request',
  settings: {
    params_to_remove: { kind: 'string-list', nullable: true },
    params_to_add: { kind: 'map', nullable: true },
    params_to_rename: { kind: 'string-map', nullable: true },
    headers_to_remove: { kind: 'string-list', nullable: true },
    headers_to_add: { kind: 'map', nullable: true },
    headers_to_rename: { kind: 'string-map', nullable: true },
  },
  create(config) {
    const remove = new Set(config.params_to_remove ?? []);
    const add = config.params_to_add ?? {};
    const rename = config.params_to_rename ?? {};
    const hRemove = (config.headers_to_remove ?? []).map((h) => h.toLowerCase());
    const hRename = Object.fromEntries(
      Object.entries(config.headers_to_rename ?? {}).map(([a, b]) => [a.toLowerCase(), b.toLowerCase()]),
    );
    const hAdd = Object.fromEntries(
      Object.entries(config.headers_to_add ?? {}).map(([a, b]) => [a.toLowerCase(), String(b)]),
    );
    for (const h of Object.keys(hAdd)) {
      if (FORBIDDEN_HEADERS.includes(h)) {
        throw new NelError('ENGINE_CONFIG', `interceptor 'payload_modifier': header '${h}' cannot be added`);
      }
    }
    return payloadModifierHooks(remove, add, rename, hRemove, hRename, hAdd);
  },
});

function payloadModifierHooks(
  remove: Set<string>,
  add: Obj,
  rename: Record<string, string>,
  hRemove: string[],
  hRename: Record<string, string>,
  hAdd: Record<string, string>,
): InterceptorHooks {
  return {
    onRequest(req): AdapterRequest {
      let body = (remove.size > 0 ? removeRecursive(req.body, remove) : { ...req.body }) as Obj;
      body = { ...body, ...structuredClone(add) };
      for (const [from, to] of Object.entries(rename)) {
        if (from in body) {
          body[to] = body[from];
          delete body[from];
        }
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (!hRemove.includes(k.toLowerCase())) headers[k.toLowerCase()] = v;
      for (const [from, to] of Object.entries(hRename)) {
        if (from in headers) {
          headers[to] = headers[from]!;
          delete headers[from];
        }
      }
      Object.assign(headers, hAdd);
      return { ...req, body, headers };
    },
  };
}

export function redactHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    out[k] = ['authorization', 'proxy-authorization', 'x-api-key', 'api-key', 'cookie'].includes(
      k.toLowerCase(),
    )
      ? '[REDACTED]'
      : v;
  }
  return out;
}

export const requestLoggingInterceptor = defineInterceptor({
  name: 'request_logging',
  stage: 'request',
  settings: {
    log_request_body: { kind: 'boolean' },
    log_request_headers: { kind: 'boolean' },
    max_requests: { kind: 'number', nullable: true },
  },
  create(config, { log, url }) {
    const max = config.max_requests === undefined ? 2 : config.max_requests;
    const logBody = config.log_request_body !== false;
    const logHeaders = config.log_request_headers !== false;
    let n = 0;
    return {
      onRequest(req) {
        if (max == null || n < max) {
          n++;
          log.info('Incoming request', {
            method: 'POST',
            url,
            headers: logHeaders ? redactHeaders(req.headers) : undefined,
            body: logBody ? req.body : undefined,
          });
        }
        return req;
      },
    };
  },
});
