/** OpenAI-compatible request bodies for chat completions and text completions. */
import { isPlainObject } from '../../common/objects.js';
import type { EndpointType, EngineParams, PreparedRequest } from '../types.js';

/**
 * Sampling options taken from `params.extra` when present and copied into the body as request fields:
 * `extra.request_params` (a map merged as-is) plus these documented keys.
 */
export const EXTRA_REQUEST_KEYS = [
  'stop',
  'seed',
  'top_k',
  'min_p',
  'presence_penalty',
  'frequency_penalty',
  'repetition_penalty',
  'logprobs',
  'top_logprobs',
  'reasoning_effort',
] as const;

export function buildRequestBody(
  prepared: PreparedRequest,
  opts: { modelId: string; endpointType: EndpointType; params: EngineParams },
): Record<string, unknown> {
  const { params } = opts;
  const body: Record<string, unknown> = { model: opts.modelId };
  if (opts.endpointType === 'chat') {
    if (!prepared.messages) throw new Error('the benchmark built no chat messages for a chat endpoint');
    body.messages = prepared.messages.map((m) => ({ role: m.role, content: m.content }));
  } else {
    if (prepared.prompt === undefined)
      throw new Error('the benchmark built no prompt for a completions endpoint');
    body.prompt = prepared.prompt;
  }
  if (params.temperature != null) body.temperature = params.temperature;
  if (params.top_p != null) body.top_p = params.top_p;
  if (params.max_new_tokens != null) body.max_tokens = params.max_new_tokens;
  const extra = params.extra ?? {};
  for (const k of EXTRA_REQUEST_KEYS) if (extra[k] != null) body[k] = extra[k];
  if (isPlainObject(extra.request_params)) Object.assign(body, extra.request_params);
  if (prepared.extraBody) Object.assign(body, prepared.extraBody);
  return body;
}

/** The reply text of an OpenAI-compatible response body. */
export function responseText(body: unknown, endpointType: EndpointType): string | null {
  if (!isPlainObject(body) || !Array.isArray(body.choices) || body.choices.length === 0) return null;
  const choice = body.choices[0] as Record<string, unknown>;
  if (endpointType === 'chat') {
    const msg = choice.message;
    if (!isPlainObject(msg)) return null;
    return typeof msg.content === 'string' ? msg.content : msg.content == null ? '' : null;
  }
  return typeof choice.text === 'string' ? choice.text : null;
}
