import { test } from 'node:test';
import assert from 'node:assert/strict';
import { codePointLength } from './text.js';

test('codePointLength counts code points (a lone surrogate as one), with or without surrogates', () => {
  const cases = [
    '',
    'plain ascii',
    'é ü 中文',
    '🙂',
    'a🙂b🙂',
    '\uD83D', // a lone high surrogate
    'x\uDE42y', // a lone low surrogate
    '\uDE42\uD83D', // low then high: two lone ones
    '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 and text',
    'Question: An astronomer observes that a planet rotates faster?\nAnswer:',
  ];
  for (const s of cases) assert.equal(codePointLength(s), [...s].length, JSON.stringify(s));
});
