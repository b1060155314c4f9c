/**
 * Reading a reply of prompt log-probabilities (`echo: true`, `logprobs >= 1`) fast. Such a reply holds a
 * string per prompt token in `tokens`, and in `top_logprobs` a small object per token whose keys are
 * tokens again; JSON.parse makes all those strings and a new hidden class for nearly every object, which
 * costs about three times the rest of the reply. Scoring reads neither the token strings nor the
 * alternatives' names, only their log-probabilities. So before JSON.parse this reader rewrites, in each
 * object that has them, `"tokens": [...]` (a list of strings) to `null` and `"top_logprobs": [...]` (a
 * list of null or flat objects) to the list of each object's values in the reply's order. Everything else
 * parses as JSON.parse has it; a `tokens` or `top_logprobs` of any other shape is left as it is.
 */

const TOP = '"top_logprobs"';
const TOKENS = '"tokens"';

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** The index just past the string whose opening quote is at `at` (JSON escapes skipped). */
function stringEnd(text: string, at: number): number {
  let i = at + 1;
  for (;;) {
    const q = text.indexOf('"', i);
    if (q < 0) return -1;
    let slashes = 0;
    for (let b = q - 1; b > at && text.charCodeAt(b) === 0x5c; b--) slashes++;
    if (slashes % 2 === 0) return q + 1;
    i = q + 1;
  }
}

const skipSpace = (text: string, i: number): number => {
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
};

/** The end of a scalar (number, true, false, null) starting at `i`. */
function scalarEnd(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x2c || c === 0x7d || c === 0x5d || isSpace(c)) break;
    i++;
  }
  return i;
}

/**
 * The `top_logprobs` list starting at `start` (its `[`) as the list of each object's values, and the index
 * past it; null when it is not a list of null or flat objects of scalars (then it is left as it is).
 */
function rewriteTop(text: string, start: number): { out: string; end: number } | null {
  let out = '[';
  let i = skipSpace(text, start + 1);
  if (text.charCodeAt(i) === 0x5d) return { out: '[]', end: i + 1 };
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x6e /* n */) {
      if (!text.startsWith('null', i)) return null;
      out += 'null';
      i += 4;
    } else if (c === 0x7b /* { */) {
      i = skipSpace(text, i + 1);
      out += '[';
      if (text.charCodeAt(i) === 0x7d) i++;
      else
        for (let first = true; ; first = false) {
          if (text.charCodeAt(i) !== 0x22) return null;
          const keyEnd = stringEnd(text, i);
          if (keyEnd < 0) return null;
          i = skipSpace(text, keyEnd);
          if (text.charCodeAt(i) !== 0x3a /* : */) return null;
          i = skipSpace(text, i + 1);
          const v = text.charCodeAt(i);
          if (v === 0x7b || v === 0x5b || v === 0x22) return null; // only scalars
          const valueEnd = scalarEnd(text, i);
          if (valueEnd === i) return null;
          out += first ? text.slice(i, valueEnd) : ',' + text.slice(i, valueEnd);
          i = skipSpace(text, valueEnd);
          const sep = text.charCodeAt(i);
          if (sep === 0x7d) {
            i++;
            break;
          }
          if (sep !== 0x2c) return null;
          i = skipSpace(text, i + 1);
        }
      out += ']';
    } else return null;
    i = skipSpace(text, i);
    const sep = text.charCodeAt(i);
    if (sep === 0x5d) return { out: out + ']', end: i + 1 };
    if (sep !== 0x2c) return null;
    out += ',';
    i = skipSpace(text, i + 1);
  }
}

/** The end of the list of strings starting at `start` (its `[`), or -1 when it is not one. */
function stringListEnd(text: string, start: number): number {
  let i = skipSpace(text, start + 1);
  if (text.charCodeAt(i) === 0x5d) return i + 1;
  for (;;) {
    if (text.charCodeAt(i) !== 0x22) return -1;
    const e = stringEnd(text, i);
    if (e < 0) return -1;
    i = skipSpace(text, e);
    const sep = text.charCodeAt(i);
    if (sep === 0x5d) return i + 1;
    if (sep !== 0x2c) return -1;
    i = skipSpace(text, i + 1);
  }
}

/** Where the value of the key whose opening quote is at `at` starts, or -1 when that is no key. */
function valueStart(text: string, at: number, keyLength: number): number {
  // in valid JSON a string whose opening quote is not escaped and that a colon follows is a key
  let slashes = 0;
  for (let b = at - 1; b >= 0 && text.charCodeAt(b) === 0x5c; b--) slashes++;
  if (slashes % 2 === 1) return -1;
  let i = skipSpace(text, at + keyLength);
  if (text.charCodeAt(i) !== 0x3a) return -1;
  return skipSpace(text, i + 1);
}

/**
 * The reply parsed as JSON.parse would, except that each `tokens` list of strings is null and each
 * `top_logprobs` list of flat objects is the list of their values. Throws JSON.parse's error for a body
 * that is not JSON.
 */
export function parsePromptLogprobsReply(text: string): unknown {
  let out = '';
  let copied = 0;
  let nextTop = text.indexOf(TOP);
  let nextTokens = text.indexOf(TOKENS);
  while (nextTop >= 0 || nextTokens >= 0) {
    const isTop = nextTop >= 0 && (nextTokens < 0 || nextTop < nextTokens);
    const at = isTop ? nextTop : nextTokens;
    const key = isTop ? TOP : TOKENS;
    let resume = at + key.length;
    const v = valueStart(text, at, key.length);
    if (v >= 0 && text.charCodeAt(v) === 0x5b) {
      if (isTop) {
        const list = rewriteTop(text, v);
        if (list) {
          out += text.slice(copied, v) + list.out;
          copied = resume = list.end;
        }
      } else {
        const end = stringListEnd(text, v);
        if (end >= 0) {
          out += text.slice(copied, v) + 'null';
          copied = resume = end;
        }
      }
    }
    if (isTop) nextTop = text.indexOf(TOP, resume);
    else nextTokens = text.indexOf(TOKENS, resume);
    // a key found inside a rewritten stretch is past it now
    if (nextTop >= 0 && nextTop < resume) nextTop = text.indexOf(TOP, resume);
    if (nextTokens >= 0 && nextTokens < resume) nextTokens = text.indexOf(TOKENS, resume);
  }
  return JSON.parse(copied === 0 ? text : out + text.slice(copied)) as unknown;
}

/** The alternatives' log-probabilities of one `top_logprobs` position, in either shape. */
export function topLogprobValues(top: unknown): unknown[] {
  if (Array.isArray(top)) return top;
  if (top !== null && typeof top === 'object') return Object.values(top);
  return [];
}
