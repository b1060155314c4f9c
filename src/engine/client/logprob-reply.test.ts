import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePromptLogprobsReply, topLogprobValues } from './logprob-reply.js';

/** JSON.parse's value with the reader's two changes (the contract), for comparison. */
function expected(text: string): unknown {
  const scalar = (y: unknown) => y === null || typeof y !== 'object';
  const walk = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(walk);
    if (x === null || typeof x !== 'object') return x;
    const o: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(x)) {
      if (k === 'tokens' && Array.isArray(val) && val.every((t) => typeof t === 'string')) o[k] = null;
      else if (
        k === 'top_logprobs' &&
        Array.isArray(val) &&
        val.every(
          (e) =>
            e === null ||
            (typeof e === 'object' && !Array.isArray(e) && Object.values(e as object).every(scalar)),
        )
      )
        o[k] = (val as (Record<string, unknown> | null)[]).map((e) => (e === null ? null : Object.values(e)));
      else o[k] = walk(val);
    }
    return o;
  };
  return walk(JSON.parse(text));
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
    assert.deepEqual(got, expected(text));
    const top = (got as typeof reply).choices[0]!.logprobs.top_logprobs as unknown[];
    assert.deepEqual(top, [null, [-1.5, -2], [-0.25, -1e-3, 0], []]);
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
        : Object.fromEntries(Array.from({ length: Math.floor(rnd() * 3) }, () => [str(), -rnd() * 10])),
    );
    const reply = {
      choices: [{ text: str(), logprobs: { tokens: top.map(str), top_logprobs: top, [str()]: [str()] } }],
      tokens: rnd() < 0.5 ? [str()] : str(),
    };
    const text = JSON.stringify(reply, null, rnd() < 0.5 ? undefined : 1);
    assert.deepEqual(parsePromptLogprobsReply(text), expected(text), text);
  }
});

test('topLogprobValues reads both shapes', () => {
  assert.deepEqual(topLogprobValues([-1, -2]), [-1, -2]);
  assert.deepEqual(topLogprobValues({ a: -1, b: -2 }), [-1, -2]);
  assert.deepEqual(topLogprobValues(null), []);
});
