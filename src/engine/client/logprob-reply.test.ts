import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePromptLogprobsReply, TopLogprobs, topLogprobValues } from './logprob-reply.js';

const scalar = (y: unknown) => y === null || typeof y !== 'object';
/** A top_logprobs the reader rewrites: a list of null or flat objects of scalars. */
const rewritable = (val: unknown): val is (Record<string, unknown> | null)[] =>
  Array.isArray(val) &&
  val.every(
    (e) =>
      e === null || (typeof e === 'object' && !Array.isArray(e) && Object.values(e as object).every(scalar)),
  );

/** JSON.parse's value with the reader's changes (the contract), for comparison. */
function expected(text: string): unknown {
  const parsed = JSON.parse(text) as unknown;
  type Where = 'root' | 'choices' | 'choice' | 'logprobs' | 'other';
  let outside = false;
  const walk = (x: unknown, where: Where): unknown => {
    if (Array.isArray(x)) return x.map((y) => walk(y, where === 'choices' ? 'choice' : 'other'));
    if (x === null || typeof x !== 'object') return x;
    const o: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(x)) {
      if (k === 'tokens' && Array.isArray(val) && val.every((t) => typeof t === 'string')) o[k] = null;
      else if (k === 'top_logprobs' && rewritable(val)) {
        if (where !== 'logprobs') outside = true;
        o[k] = val.map((e) => (e === null ? null : Object.values(e)));
      } else {
        const next: Where =
          where === 'root' && k === 'choices'
            ? 'choices'
            : where === 'choice' && k === 'logprobs'
              ? 'logprobs'
              : 'other';
        o[k] = walk(val, next);
      }
    }
    return o;
  };
  const rewritten = walk(parsed, 'root');
  // a rewritable top_logprobs anywhere but in choices[i].logprobs: the reply is read by JSON.parse alone
  return outside ? parsed : rewritten;
}

/** The reader's value with each TopLogprobs as its JSON (the list of each position's values). */
function plain(x: unknown): unknown {
  if (x instanceof TopLogprobs) return x.toJSON();
  if (Array.isArray(x)) return x.map(plain);
  if (x === null || typeof x !== 'object') return x;
  return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plain(v)]));
}

test('prompt log-probability replies: no token strings, top_logprobs as values, the rest as JSON.parse', () => {
  const reply = {
    id: 'cmpl-1',
    choices: [
      {
        index: 0,
        text: 'Q: "top_logprobs": [ {x} ] \\" \\\\"top_logprobs": [',
        logprobs: {
          tokens: ['Q', ':', ' "', '\\'],
          token_logprobs: [null, -1.5, -0.25, -3e-7],
          top_logprobs: [null, { ':': -1.5, ' x': -2 }, { ' "': -0.25, '"\\}{': -1e-3, '': 0 }, {}],
          text_offset: [0, 1, 2, 4],
        },
      },
      {
        index: 1,
        text: 'b',
        logprobs: { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] },
      },
    ],
    usage: { prompt_tokens: 4 },
  };
  for (const text of [
    JSON.stringify(reply),
    JSON.stringify(reply, null, 2),
    JSON.stringify(reply, null, '\t'),
  ]) {
    const got = parsePromptLogprobsReply(text);
    assert.deepEqual(plain(got), expected(text));
    const top = (got as typeof reply).choices[0]!.logprobs.top_logprobs as unknown as TopLogprobs;
    assert.ok(top instanceof TopLogprobs);
    assert.deepEqual(top.toJSON(), [null, [-1.5, -2], [-0.25, -1e-3, 0], []]);
    assert.equal(top.length, 4);
    assert.deepEqual(top.values(0), []);
    assert.deepEqual(top.values(2), [-0.25, -1e-3, 0]);
    assert.deepEqual(top.values(9), []);
    assert.equal(JSON.stringify(top), '[null,[-1.5,-2],[-0.25,-0.001,0],[]]');
    assert.equal((got as typeof reply).choices[0]!.logprobs.tokens, null);
    assert.deepEqual(
      (got as typeof reply).choices[0]!.logprobs.token_logprobs,
      reply.choices[0]!.logprobs.token_logprobs,
    );
    // the text that mentions "top_logprobs" inside a string is untouched
    assert.equal((got as typeof reply).choices[0]!.text, reply.choices[0]!.text);
  }
});

test('shapes it does not know are left as JSON.parse reads them; bad JSON still throws', () => {
  for (const v of [
    { top_logprobs: [{ a: { nested: 1 } }] },
    { top_logprobs: [{ a: 'string value' }] },
    { top_logprobs: [[1, 2]] },
    { top_logprobs: 'text' },
    { top_logprobs: null },
    { other: [{ a: 1 }] },
    { tokens: ['a', 1] },
    { tokens: 'a' },
    { prompt_tokens: ['a'], x: '"tokens": ["a"]' },
  ]) {
    const text = JSON.stringify(v);
    assert.deepEqual(parsePromptLogprobsReply(text), JSON.parse(text));
  }
  assert.throws(() => parsePromptLogprobsReply('{"top_logprobs": [{"a": -1}'), SyntaxError);
  // the values of a skipped list are checked as JSON.parse checks them
  for (const bad of ['-', '1.', '1e', '.5', '+1', '01', '1.2.3', 'NaN', '-Infinity', 'tru', '1-2'])
    assert.throws(
      () =>
        parsePromptLogprobsReply(
          `{"choices":[{"text":"a","logprobs":{"token_logprobs":[null,-1],"top_logprobs":[null,{"a":${bad}}]}}]}`,
        ),
      SyntaxError,
      bad,
    );
  // a list of that shape outside choices[i].logprobs: the reply as JSON.parse reads it (token strings kept)
  const outside =
    '{"choices":[{"logprobs":{"tokens":["a"],"top_logprobs":[null]}}],"x":{"top_logprobs":[{"a":-1}]}}';
  assert.deepEqual(parsePromptLogprobsReply(outside), JSON.parse(outside));
  assert.throws(() => parsePromptLogprobsReply('not json'), SyntaxError);
});

test('random replies round-trip against JSON.parse (fuzz)', () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const chars = ['a', ' ', '"', '\\', '{', '}', '[', ']', ':', ',', '\n', 'é', '🙂', '\u2028'];
  const str = () =>
    Array.from({ length: Math.floor(rnd() * 6) }, () => chars[Math.floor(rnd() * chars.length)]).join('');
  for (let n = 0; n < 300; n++) {
    const top = Array.from({ length: Math.floor(rnd() * 5) }, () =>
      rnd() < 0.2
        ? null
        : Object.fromEntries(
            Array.from({ length: Math.floor(rnd() * 3) }, () => [
              str(),
              [-rnd() * 10, 0, 1e-7, -1.5e21, true, false, null][Math.floor(rnd() * 7)],
            ]),
          ),
    );
    const reply: Record<string, unknown> = {
      choices: [
        { text: str(), logprobs: { tokens: top.map(str), top_logprobs: top, [str()]: [str()] } },
        { text: str(), logprobs: { token_logprobs: [null, -1], top_logprobs: top.slice(1) } },
      ],
      tokens: rnd() < 0.5 ? [str()] : str(),
    };
    // now and then a list of the same shape elsewhere: the whole reply is then read by JSON.parse
    if (rnd() < 0.15) reply.extra = { top_logprobs: [{ [str()]: -1 }] };
    const text = JSON.stringify(reply, null, rnd() < 0.5 ? undefined : 1);
    assert.deepEqual(plain(parsePromptLogprobsReply(text)), expected(text), text);
    // the same reply as received: its bytes, the lists found in their Latin-1 view
    assert.deepEqual(plain(parsePromptLogprobsReply(Buffer.from(text, 'utf8'))), expected(text), text);
  }
});

test('a reply given as bytes reads as its UTF-8 text does (multi-byte characters, bad bytes, not JSON)', () => {
  const reply = {
    choices: [
      {
        text: 'Frage: Größe? 🙂 "top_logprobs": [',
        logprobs: {
          tokens: ['Frage', ':', ' Grö', 'ße', '?', ' 🙂'],
          token_logprobs: [null, -1, -0.5, -0.25, -2, -1.5],
          top_logprobs: [
            null,
            { ':': -1 },
            { ' Grö': -0.5, '▁alt': -0.1 },
            { ße: -0.25 },
            { '?': -2 },
            { ' 🙂': -1.5 },
          ],
          text_offset: [0, 5, 6, 10, 12, 13],
        },
      },
    ],
  };
  const text = JSON.stringify(reply);
  const fromBytes = parsePromptLogprobsReply(Buffer.from(text, 'utf8')) as typeof reply;
  assert.deepEqual(plain(fromBytes), expected(text));
  assert.equal(fromBytes.choices[0]!.text, reply.choices[0]!.text);
  const top = fromBytes.choices[0]!.logprobs.top_logprobs as unknown as TopLogprobs;
  assert.deepEqual(top.values(2), [-0.5, -0.1]);
  // a view into a larger buffer reads only its own bytes
  const padded = Buffer.from(`xx${text}yy`, 'utf8');
  assert.deepEqual(plain(parsePromptLogprobsReply(padded.subarray(2, padded.length - 2))), expected(text));
  // a byte that is not UTF-8 in the kept text becomes U+FFFD, as decoding the whole body would make it
  const bad = Buffer.concat([
    Buffer.from('{"choices":[{"text":"a'),
    Buffer.from([0xff]),
    Buffer.from('b"}]}'),
  ]);
  assert.deepEqual(parsePromptLogprobsReply(bad), JSON.parse(bad.toString('utf8')));
  assert.throws(() => parsePromptLogprobsReply(Buffer.from('{"top_logprobs": [{"a": -1}')), SyntaxError);
  assert.throws(() => parsePromptLogprobsReply(Buffer.from('not json')), SyntaxError);
});

test('topLogprobValues reads both shapes', () => {
  assert.deepEqual(topLogprobValues([-1, -2]), [-1, -2]);
  assert.deepEqual(topLogprobValues({ a: -1, b: -2 }), [-1, -2]);
  assert.deepEqual(topLogprobValues(null), []);
});
