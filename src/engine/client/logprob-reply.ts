/**
 * Reading a reply of prompt log-probabilities (`echo: true`, `logprobs >= 1`) fast. Such a reply holds a
 * string per prompt token in `tokens`, and in `top_logprobs` a small object per token whose keys are
 * tokens again; JSON.parse makes all those strings and a new hidden class for nearly every object, which
 * costs about three times the rest of the reply. Scoring reads neither the token strings nor the
 * alternatives' names, and the alternatives' values only at the continuation's few positions. So before
 * JSON.parse this reader rewrites, in each object that has them:
 *
 * - `"tokens": [...]` (a list of strings) to `null`;
 * - `"top_logprobs": [...]` (a list of null or flat objects of JSON scalars) to a placeholder, checked as it
 *   is skipped, and each `choices[i].logprobs.top_logprobs` becomes a `TopLogprobs`, which reads the values
 *   of a position from the reply's text when asked (its JSON is the list of each position's values).
 *
 * Everything else parses as JSON.parse has it; a `tokens` or `top_logprobs` of any other shape is left as it
 * is, and a reply with such a list anywhere but in `choices[i].logprobs` is read by JSON.parse alone.
 *
 * Given the reply's bytes (as received), the lists are found in a Latin-1 view of them (one character a
 * byte, so an index is a byte offset; JSON's structural characters and escapes are ASCII, and every byte
 * of a multi-byte UTF-8 character is >= 0x80, so the view has the same structure), and only the text kept
 * for JSON.parse is decoded as UTF-8: the skipped token strings, most of a reply, are never decoded.
 */

const TOP = '"top_logprobs"';
const TOKENS = '"tokens"';
/** What both keys start with. */
const KEY_START = '"to';
/** The placeholder of the k-th rewritten top_logprobs list: a string no reply's list would be. */
const PLACEHOLDER = '\u0000nel-top:';

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const LITERALS = ['null', 'true', 'false'];
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

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

/** The end of the digits from `i`. */
function digitsEnd(text: string, i: number): number {
  while (i < text.length && isDigit(text.charCodeAt(i))) i++;
  return i;
}

/**
 * The end of the JSON scalar (null, true, false or a number as JSON's grammar has it) starting at `i`, or
 * -1 when there is none: the values of a skipped list are checked as JSON.parse would check them.
 */
function scalarEnd(text: string, i: number): number {
  let j = i;
  let c = text.charCodeAt(j);
  if (c !== 0x2d /* - */ && !isDigit(c)) {
    for (const word of LITERALS) if (text.startsWith(word, i)) return i + word.length;
    return -1;
  }
  if (c === 0x2d) c = text.charCodeAt(++j);
  if (c === 0x30 /* 0 */) j++;
  else if (isDigit(c)) j = digitsEnd(text, j);
  else return -1;
  if (text.charCodeAt(j) === 0x2e /* . */) {
    const f = digitsEnd(text, j + 1);
    if (f === j + 1) return -1;
    j = f;
  }
  const e = text.charCodeAt(j);
  if (e === 0x65 || e === 0x45 /* e E */) {
    let k = j + 1;
    const sign = text.charCodeAt(k);
    if (sign === 0x2b || sign === 0x2d) k++;
    const x = digitsEnd(text, k);
    if (x === k) return -1;
    j = x;
  }
  return j;
}

/** A checked scalar's value (as JSON.parse reads it). */
function scalarValue(text: string, start: number, end: number): unknown {
  const c = text.charCodeAt(start);
  if (c === 0x6e) return null;
  if (c === 0x74) return true;
  if (c === 0x66) return false;
  return Number(text.slice(start, end));
}

/** Reads the item at `i`: its end, or -1 when it is not one (module-level, so that no closure is made). */
type ItemReader<C> = (text: string, i: number, ctx: C) => number;

/**
 * Skip the comma-separated items between the opener at `at` and its `close` character (`]` or `}`), each
 * read by `item`; returns the index past `close`, or -1.
 */
function skipSeparated<C>(text: string, at: number, close: number, item: ItemReader<C>, ctx: C): number {
  let i = skipSpace(text, at + 1);
  if (text.charCodeAt(i) === close) return i + 1;
  for (;;) {
    const end = item(text, i, ctx);
    if (end < 0) return -1;
    i = skipSpace(text, end);
    const sep = text.charCodeAt(i);
    if (sep === close) return i + 1;
    if (sep !== 0x2c) return -1;
    i = skipSpace(text, i + 1);
  }
}

/** A string. */
const stringItem: ItemReader<unknown> = (text, i) => (text.charCodeAt(i) === 0x22 ? stringEnd(text, i) : -1);

/** A `"key": scalar` member, its value handed to `value` when given. */
const memberItem: ItemReader<((start: number, end: number) => void) | undefined> = (text, i, value) => {
  const keyEnd = stringItem(text, i, undefined);
  if (keyEnd < 0) return -1;
  let j = skipSpace(text, keyEnd);
  if (text.charCodeAt(j) !== 0x3a /* : */) return -1;
  j = skipSpace(text, j + 1);
  const end = scalarEnd(text, j);
  if (end >= 0) value?.(j, end);
  return end;
};

/**
 * The `top_logprobs` list starting at `start` (its `[`): where each entry starts, and the index past the
 * list; null when it is not a list of null or flat objects of JSON scalars (then it is left as it is).
 * One loop over the entries (the hot path of a reply: an entry per prompt token).
 */
function skipTopList(text: string, start: number): { starts: number[]; end: number } | null {
  const starts: number[] = [];
  let i = skipSpace(text, start + 1);
  if (text.charCodeAt(i) === 0x5d) return { starts, end: i + 1 };
  for (;;) {
    starts.push(i);
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) i = skipSeparated(text, i, 0x7d, memberItem, undefined);
    else if (c === 0x6e /* n */ && text.startsWith('null', i)) i += 4;
    else return null;
    if (i < 0) return null;
    i = skipSpace(text, i);
    const sep = text.charCodeAt(i);
    if (sep === 0x5d) return { starts, end: i + 1 };
    if (sep !== 0x2c) return null;
    i = skipSpace(text, i + 1);
  }
}

/**
 * One choice's `top_logprobs`, read from the reply's text when asked: `values(t)` is the list of position
 * t's values in the reply's order (none for null or an empty object). Its JSON (logs, a re-serialised
 * reply) is the list of those lists, null where the reply has null.
 */
export class TopLogprobs {
  constructor(
    private readonly text: string,
    private readonly starts: readonly number[],
  ) {}

  get length(): number {
    return this.starts.length;
  }

  values(t: number): unknown[] {
    const at = this.starts[t];
    const out: unknown[] = [];
    if (at === undefined || this.text.charCodeAt(at) !== 0x7b) return out;
    skipSeparated(this.text, at, 0x7d, memberItem, (s, e) => out.push(scalarValue(this.text, s, e)));
    return out;
  }

  toJSON(): (unknown[] | null)[] {
    return this.starts.map((at, t) => (this.text.charCodeAt(at) === 0x7b ? this.values(t) : null));
  }
}

/** The end of the list of strings starting at `start` (its `[`), or -1 when it is not one. */
const stringListEnd = (text: string, start: number): number =>
  skipSeparated(text, start, 0x5d, stringItem, undefined);

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
 * Put a TopLogprobs in place of each placeholder in `choices[i].logprobs.top_logprobs`; false when the
 * placeholders found are not exactly the lists rewritten (one was elsewhere in the reply).
 */
function attachTopLogprobs(body: unknown, text: string, lists: number[][]): boolean {
  const choices = (body as { choices?: unknown } | null)?.choices;
  if (!Array.isArray(choices)) return false;
  const used = new Array<boolean>(lists.length).fill(false);
  let found = 0;
  for (const choice of choices) {
    const lp = (choice as { logprobs?: unknown } | null)?.logprobs as Record<string, unknown> | undefined;
    const v = lp?.top_logprobs;
    if (typeof v !== 'string' || !v.startsWith(PLACEHOLDER)) continue;
    const k = Number(v.slice(PLACEHOLDER.length));
    if (!Number.isInteger(k) || k < 0 || k >= lists.length || used[k]) return false;
    used[k] = true;
    found++;
    lp!.top_logprobs = new TopLogprobs(text, lists[k]!);
  }
  return found === lists.length;
}

/**
 * The reply parsed as JSON.parse would, except that each `tokens` list of strings is null and each
 * `choices[i].logprobs.top_logprobs` list of flat objects a TopLogprobs. `reply` is the body's text, or its
 * bytes (UTF-8, as received). Throws JSON.parse's error for a body that is not JSON.
 */
export function parsePromptLogprobsReply(reply: string | Uint8Array): unknown {
  const bytes =
    typeof reply === 'string' ? null : Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength);
  // with bytes: the Latin-1 view to scan, and each kept stretch decoded from the bytes as UTF-8
  const text = bytes ? bytes.toString('latin1') : (reply as string);
  const kept = (a: number, b?: number): string => (bytes ? bytes.toString('utf8', a, b) : text.slice(a, b));
  const whole = (): string => (bytes ? bytes.toString('utf8') : text);
  const parts: string[] = [];
  const lists: number[][] = [];
  let copied = 0;
  // One scan for both keys (each starts with `"to`), resumed past each rewritten list: the lists are not
  // scanned again for the other key.
  let at = text.indexOf(KEY_START);
  while (at >= 0) {
    const isTop = text.startsWith(TOP, at);
    let resume = at + KEY_START.length;
    if (isTop || text.startsWith(TOKENS, at)) {
      const v = valueStart(text, at, isTop ? TOP.length : TOKENS.length);
      if (v >= 0 && text.charCodeAt(v) === 0x5b) {
        if (isTop) {
          const list = skipTopList(text, v);
          if (list) {
            parts.push(kept(copied, v), `"\\u0000nel-top:${lists.length}"`);
            lists.push(list.starts);
            copied = resume = list.end;
          }
        } else {
          const end = stringListEnd(text, v);
          if (end >= 0) {
            parts.push(kept(copied, v), 'null');
            copied = resume = end;
          }
        }
      }
    }
    at = text.indexOf(KEY_START, resume);
  }
  if (copied === 0) return JSON.parse(whole()) as unknown;
  parts.push(kept(copied));
  const body = JSON.parse(parts.join('')) as unknown;
  // the TopLogprobs read numbers (ASCII) at the noted offsets: the Latin-1 view serves them as well
  if (lists.length === 0 || attachTopLogprobs(body, text, lists)) return body;
  return JSON.parse(whole()) as unknown;
}

/** The alternatives' log-probabilities of one `top_logprobs` position, as the reply has it or as values. */
export function topLogprobValues(top: unknown): unknown[] {
  if (Array.isArray(top)) return top;
  if (top !== null && typeof top === 'object') return Object.values(top);
  return [];
}
