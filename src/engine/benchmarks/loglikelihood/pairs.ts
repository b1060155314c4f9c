/**
 * (context, continuation) pairs on a completions endpoint with prompt log-probabilities, as vLLM serves
 * them: the prompt is the context followed by the continuation (text, or token ids when a client-side
 * tokenizer is configured), sent with `echo: true`, `logprobs >= 1` and `max_tokens: 0` (or 1, where a
 * server refuses 0; the generated token is then ignored). The reply's `choices[i].logprobs` give one entry
 * per prompt token (`tokens`, `token_logprobs` whose first entry is null, `top_logprobs`, `text_offset`;
 * `top_logprobs` as the reply's list of objects or, as client/logprob-reply.ts reads it, a TopLogprobs);
 * the continuation's log-likelihood is the sum over its tokens and `is_greedy` whether each was the top
 * token, as lm-evaluation-harness's `local-completions` model computes them.
 */
import { codePointLength } from '../../../common/text.js';
import { isPlainObject } from '../../../common/objects.js';
import { TopLogprobs, topLogprobValues } from '../../client/logprob-reply.js';
import type { PairTokenizer } from './tokenizer.js';

import type { LoglikelihoodPair, LoglikelihoodResult } from '../types.js';

export type { LoglikelihoodPair, LoglikelihoodResult } from '../types.js';

/** One pair as sent: the prompt and where its continuation starts. */
export type EncodedPair =
  | {
      kind: 'text';
      prompt: string;
      /** context length in code points (text_offset's unit) */ contextChars: number;
    }
  | { kind: 'tokens'; prompt: number[]; contextTokens: number };

export { codePointLength } from '../../../common/text.js';

/**
 * A pair as a request prompt. With a tokenizer, as the harness's `_encode_pair`: trailing whitespace of
 * the context moves to the continuation, the whole text and the context are encoded, and the continuation
 * is the whole encoding past the context's tokens (`maxLength` truncates from the left, keeping the
 * continuation). Without one, the prompt is the text and the continuation starts at the context's end.
 */
export function encodePair(
  pair: LoglikelihoodPair,
  tokenizer: PairTokenizer | null,
  maxLength?: number,
): EncodedPair {
  if (pair.context === '') throw new Error('the context of a log-likelihood pair is empty');
  if (!tokenizer) {
    return {
      kind: 'text',
      prompt: pair.context + pair.continuation,
      contextChars: codePointLength(pair.context),
    };
  }
  let context = pair.context;
  let continuation = pair.continuation;
  const trimmed = context.replace(/\s+$/u, '');
  if (trimmed.length < context.length && trimmed.length > 0) {
    continuation = context.slice(trimmed.length) + continuation;
    context = trimmed;
  }
  const whole = tokenizer.encode(context + continuation);
  const contextEnc = tokenizer.encode(context);
  const continuationEnc = whole.slice(contextEnc.length);
  let ids = [...contextEnc, ...continuationEnc];
  let contextTokens = contextEnc.length;
  if (maxLength !== undefined && ids.length > maxLength) {
    const cut = ids.length - maxLength;
    ids = ids.slice(cut);
    contextTokens = Math.max(0, contextTokens - cut);
  }
  return { kind: 'tokens', prompt: ids, contextTokens };
}

/** Why a reply cannot be read as prompt log-probabilities. */
export class LogprobReplyError extends Error {}

interface ChoiceLogprobs {
  tokens: unknown[];
  token_logprobs: unknown[];
  top_logprobs: unknown[] | TopLogprobs | null;
  text_offset: unknown[] | null;
}

function logprobsOf(choice: unknown, i: number): ChoiceLogprobs {
  if (!isPlainObject(choice)) throw new LogprobReplyError(`choices[${i}] is not an object`);
  const lp = choice.logprobs;
  if (!isPlainObject(lp) || !Array.isArray(lp.token_logprobs)) {
    throw new LogprobReplyError(
      `choices[${i}] has no logprobs.token_logprobs (the endpoint must return prompt log-probabilities for echo: true, logprobs >= 1)`,
    );
  }
  return {
    tokens: Array.isArray(lp.tokens) ? lp.tokens : [],
    token_logprobs: lp.token_logprobs,
    top_logprobs:
      Array.isArray(lp.top_logprobs) || lp.top_logprobs instanceof TopLogprobs ? lp.top_logprobs : null,
    text_offset: Array.isArray(lp.text_offset) ? lp.text_offset : null,
  };
}

/**
 * The result of one pair from its reply choice. `generated` is the number of tokens the request asked
 * to generate (0 or 1): that many trailing entries are not part of the prompt and are ignored.
 * `straddles` is set when a token spans the context/continuation boundary (text prompts only); such a
 * token counts with the context, as upstream's text-offset rule has it.
 */
export function pairResult(
  choice: unknown,
  encoded: EncodedPair,
  generated: number,
  i = 0,
): LoglikelihoodResult & { straddles: boolean } {
  const lp = logprobsOf(choice, i);
  let end = lp.token_logprobs.length - generated;
  if (encoded.kind === 'tokens') end = Math.min(end, encoded.prompt.length);
  let start: number;
  let straddles = false;
  if (encoded.kind === 'tokens') start = encoded.contextTokens;
  else {
    const offsets = lp.text_offset;
    if (!offsets || offsets.length < end)
      throw new LogprobReplyError(`choices[${i}] has no logprobs.text_offset for each token`);
    start = end;
    for (let t = 0; t < end; t++) {
      if (Number(offsets[t]) >= encoded.contextChars) {
        start = t;
        break;
      }
    }
    // the token before the continuation reaches past the context's end
    straddles = start < end && start > 0 && Number(offsets[start]) > encoded.contextChars;
  }
  if (start < 1)
    throw new LogprobReplyError(
      `choices[${i}]: the continuation starts at the first token, which has no log-probability`,
    );
  if (start >= end) throw new LogprobReplyError(`choices[${i}]: the continuation has no token in the reply`);
  let sum = 0;
  let greedy = true;
  for (let t = start; t < end; t++) {
    const v = lp.token_logprobs[t];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new LogprobReplyError(`choices[${i}]: token_logprobs[${t}] is not a number`);
    }
    sum += v;
    if (greedy && lp.top_logprobs) {
      const top = lp.top_logprobs;
      for (const alt of top instanceof TopLogprobs ? top.values(t) : topLogprobValues(top[t])) {
        if (typeof alt === 'number' && alt > v) {
          greedy = false;
          break;
        }
      }
    }
  }
  return { loglikelihood: sum, isGreedy: greedy, tokens: end - start, straddles };
}

/** The choices of a reply in prompt order (by `index`), checked to be one per prompt. */
export function replyChoices(body: unknown, prompts: number): unknown[] {
  if (!isPlainObject(body) || !Array.isArray(body.choices))
    throw new LogprobReplyError('the reply has no "choices"');
  const choices = body.choices as unknown[];
  const ordered = new Array<unknown>(prompts);
  let hasIndex = true;
  for (const c of choices) if (!isPlainObject(c) || typeof c.index !== 'number') hasIndex = false;
  if (hasIndex) {
    for (const c of choices) {
      const idx = (c as { index: number }).index;
      if (idx >= 0 && idx < prompts && ordered[idx] === undefined) ordered[idx] = c;
    }
  } else choices.slice(0, prompts).forEach((c, k) => (ordered[k] = c));
  for (let k = 0; k < prompts; k++) {
    if (ordered[k] === undefined) {
      throw new LogprobReplyError(
        `the reply has ${choices.length} choices for ${prompts} prompts (no choice with index ${k})`,
      );
    }
  }
  return ordered;
}

/** The request body of a batch of encoded pairs (one prompt, or a list where there are several). */
export function loglikelihoodBody(
  modelId: string,
  encoded: readonly EncodedPair[],
  opts: { maxTokens: 0 | 1; logprobs: number },
): Record<string, unknown> {
  const prompts = encoded.map((e) => e.prompt);
  return {
    model: modelId,
    prompt: prompts.length === 1 ? prompts[0] : prompts,
    max_tokens: opts.maxTokens,
    temperature: 0,
    logprobs: opts.logprobs,
    echo: true,
  };
}
