/**
 * The one place that decides whether a reply is a valid completion for an endpoint type. A reply that is
 * not is an endpoint fault: the client retries it like a 5xx and the cache never stores it, except a
 * fault that asking again cannot mend (the server does not return the prompt log-probabilities asked
 * for), which ends the request at once with the hint finalFaultHint gives.
 */
import type { EndpointType } from '../types.js';

/** How a reply without the prompt log-probabilities that echo + logprobs asked for is named. */
const NO_PROMPT_LOGPROBS = 'echo with logprobs was asked';

/**
 * Why `body` (a parsed HTTP 200 body, null when it was not JSON) is not a valid completion for
 * `endpointType` (and for `request`, when given: echo + logprobs asks for prompt log-probabilities), or
 * null when it is. `content: null` and empty text are valid (an empty answer).
 */
export function completionFault(
  body: unknown,
  endpointType: EndpointType,
  request?: Record<string, unknown>,
): string | null {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return body === null ? 'the body is not JSON' : 'the body is not a JSON object';
  }
  if (endpointType === 'embedding') {
    const data = (body as { data?: unknown }).data;
    return Array.isArray(data) && data.length > 0 ? null : 'no "data" in the reply';
  }
  const choices = (body as { choices?: unknown }).choices;
  if (!Array.isArray(choices)) return 'no "choices" in the reply';
  if (choices.length === 0) return '"choices" is empty';
  const first = choices[0] as unknown;
  if (first === null || typeof first !== 'object') return 'choices[0] is not an object';
  if (endpointType === 'chat') {
    const msg = (first as { message?: unknown }).message;
    if (msg === null || typeof msg !== 'object') return 'choices[0] has no "message"';
    const content = (msg as { content?: unknown }).content;
    if (content != null && typeof content !== 'string') return 'choices[0].message.content is not a string';
    return null;
  }
  const text = (first as { text?: unknown }).text;
  if (typeof text !== 'string') return 'choices[0] has no "text"';
  // a request for prompt log-probabilities (echo + logprobs) needs them in every choice
  if (request && request.echo === true && request.logprobs != null && request.logprobs !== false) {
    for (let i = 0; i < choices.length; i++) {
      const lp = (choices[i] as { logprobs?: { token_logprobs?: unknown } } | null)?.logprobs;
      if (!lp || !Array.isArray(lp.token_logprobs)) {
        return `choices[${i}] has no logprobs.token_logprobs (${NO_PROMPT_LOGPROBS})`;
      }
    }
  }
  return null;
}

/**
 * The hint for a fault that asking again cannot mend, or undefined for any other fault (retried): a
 * server that does not return the prompt log-probabilities asked for (echo + logprobs) gives the same
 * reply to the same request, and cannot run the log-likelihood tasks however often it is asked.
 */
export function finalFaultHint(fault: string): string | undefined {
  if (!fault.endsWith(`(${NO_PROMPT_LOGPROBS})`)) return undefined;
  return (
    'this task needs prompt log-probabilities: a /v1/completions server that returns logprobs.token_logprobs ' +
    'for echo: true with logprobs >= 1, as vLLM does, or `nel serve-model` (deployment: llamacpp) for a GGUF model'
  );
}
