/** Request-stage interceptors: system_message, payload_modifier, request_logging (engine-spec 7.5). */
import { NelError } from '../../common/errors.js';
import { isPlainObject, type Obj } from '../../common/objects.js';
import type { Logger } from '../logging.js';
import type { AdapterRequest, Interceptor } from './types.js';

export function createSystemMessageInterceptor(config: Obj): Interceptor {
  if (typeof config.system_message !== 'string') {
    throw new NelError(
      'ENGINE_CONFIG',
      "interceptor 'system_message' needs config.system_message (a string)",
    );
  }
  const configured = config.system_message;
  const strategy = (config.strategy as string | undefined) ?? 'prepend';
  if (!['prepend', 'append', 'replace'].includes(strategy)) {
    throw new NelError(
      'ENGINE_CONFIG',
      `interceptor 'system_message': invalid strategy '${strategy}' (prepend, append, replace)`,
    );
  }
  return {
    name: 'system_message',
    stage: 'request',
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

export function createPayloadModifierInterceptor(config: Obj): Interceptor {
  const remove = new Set((config.params_to_remove as string[] | null) ?? []);
  const add = (config.params_to_add as Obj | null) ?? {};
  const rename = (config.params_to_rename as Record<string, string> | null) ?? {};
  const hRemove = ((config.headers_to_remove as string[] | null) ?? []).map((h) => h.toLowerCase());
  const hRename = Object.fromEntries(
    Object.entries((config.headers_to_rename as Record<string, string> | null) ?? {}).map(([a, b]) => [
      a.toLowerCase(),
      b.toLowerCase(),
    ]),
  );
  const hAdd = Object.fromEntries(
    Object.entries((config.headers_to_add as Record<string, string> | null) ?? {}).map(([a, b]) => [
      a.toLowerCase(),
      String(b),
    ]),
  );
  for (const h of Object.keys(hAdd)) {
    if (FORBIDDEN_HEADERS.includes(h)) {
      throw new NelError('ENGINE_CONFIG', `interceptor 'payload_modifier': header '${h}' cannot be added`);
    }
  }
  return {
    name: 'payload_modifier',
    stage: 'request',
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

export function createRequestLoggingInterceptor(config: Obj, log: Logger, url: string): Interceptor {
  const max = config.max_requests === undefined ? 2 : (config.max_requests as number | null);
  const logBody = config.log_request_body !== false;
  const logHeaders = config.log_request_headers !== false;
  let n = 0;
  return {
    name: 'request_logging',
    stage: 'request',
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
}
