import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EncodedPair } from './benchmarks/loglikelihood/pairs.js';
import { pairKeyText } from './loglikelihood-loop.js';

const text = (...prompts: string[]): EncodedPair[] =>
  prompts.map((prompt) => ({ kind: 'text', prompt, contextChars: 0 }));
const ids = (...prompts: number[][]): EncodedPair[] =>
  prompts.map((prompt) => ({ kind: 'tokens', prompt, contextTokens: 0 }));

test('journal key texts: different models, logprobs or prompts never give the same text', () => {
  const cases: [string, number, EncodedPair[]][] = [
    ['m', 1, text('ab', 'c')],
    ['m', 1, text('a', 'bc')],
    ['m', 1, text('abc')],
    ['m', 1, text('1:a')],
    ['m', 1, text('', '1:a')],
    ['m', 1, text('a|1', '')],
    ['m|1', 1, text('a')],
    ['m', 11, text('a')],
    ['m', 1, text('a')],
    ['m1', 1, text('a')],
    ['m', 1, text('[1,2]')],
    ['m', 1, ids([1, 2])],
    ['m', 1, ids([1], [2])],
    ['m', 1, ids([12])],
    ['m', 1, [...text('a'), ...ids([1])]],
    ['m', 1, [...ids([1]), ...text('a')]],
    ['m', 1, text('é', 'e\u0301')],
    ['m', 1, text('\ud83d\ude00')],
    ['', 1, text('a')],
  ];
  const seen = new Map<string, number>();
  cases.forEach(([model, logprobs, enc], i) => {
    const t = pairKeyText(model, logprobs, enc);
    assert.equal(seen.get(t), undefined, `case ${i} gives the text of case ${seen.get(t)}: ${t}`);
    seen.set(t, i);
  });
  // where the continuation starts is part of the key: the same prompt split elsewhere is another pair
  assert.notEqual(
    pairKeyText('m', 1, [{ kind: 'text', prompt: 'x y', contextChars: 1 }]),
    pairKeyText('m', 1, [{ kind: 'text', prompt: 'x y', contextChars: 2 }]),
  );
  assert.notEqual(
    pairKeyText('m', 1, [{ kind: 'tokens', prompt: [1, 2], contextTokens: 1 }]),
    pairKeyText('m', 1, [{ kind: 'tokens', prompt: [1, 2], contextTokens: 0 }]),
  );
  // and nothing else: the same pairs, the same text
  assert.equal(pairKeyText('m', 1, text('a', 'b')), pairKeyText('m', 1, text('a', 'b')));
});
