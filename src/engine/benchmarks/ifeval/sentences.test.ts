import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countSentences, splitSentences, treebankTokenize, wordTokenize } from './sentences.js';

test('Punkt: breaks at . ? ! before a space, never at a newline alone', () => {
  assert.deepEqual(splitSentences('One. Two? Three! Four'), ['One.', 'Two?', 'Three!', 'Four']);
  assert.equal(countSentences('A title\n\nA line without a stop\nand another'), 1);
  assert.equal(countSentences(''), 0);
  assert.equal(countSentences('   '), 0);
  assert.equal(countSentences('Pi is 3.14 and e is 2.72.'), 1); // no space after the decimal point
  assert.equal(countSentences('Visit example.com today. Thanks.'), 2);
});

test('Punkt: abbreviations, initials, numbers, ellipses and closing quotes', () => {
  assert.deepEqual(splitSentences('Dr. Smith arrived. He sat.'), ['Dr. Smith arrived.', 'He sat.']);
  assert.equal(countSentences('The U.S. economy grew, e.g. in May.'), 1);
  assert.equal(countSentences('We bought apples, pears, etc. The rest waited.'), 2); // a common word follows
  assert.equal(countSentences('J. K. Rowling wrote it.'), 1); // initials before a name
  assert.equal(countSentences('It costs 5. it is cheap.'), 1); // a number before a lower-case word
  assert.deepEqual(splitSentences('1. Apples\n2. Pears'), ['1.', 'Apples\n2.', 'Pears']); // list numbers end sentences
  assert.equal(countSentences('Wait... What happened?'), 2);
  assert.deepEqual(splitSentences('He said "Stop." Then he left.'), ['He said "Stop."', 'Then he left.']);
  assert.deepEqual(splitSentences('(It ended.) Next one.'), ['(It ended.)', 'Next one.']);
  assert.equal(countSentences('**Bold title.** Body text here.'), 2);
});

test('Treebank words: contractions, punctuation and quotes as NLTK splits them', () => {
  assert.deepEqual(treebankTokenize("I can't believe it's DON'T CANNOT stop. \"Hi\" (NASA) A&B --x"), [
    'I',
    'ca',
    "n't",
    'believe',
    'it',
    "'s",
    'DO',
    "N'T",
    'CAN',
    'NOT',
    'stop.', // only a sentence's final period is split off
    '``',
    'Hi',
    "''",
    '(',
    'NASA',
    ')',
    'A',
    '&',
    'B',
    '--',
    'x',
  ]);
  assert.deepEqual(wordTokenize('Hello, WORLD. It is me.'), [
    'Hello',
    ',',
    'WORLD',
    '.',
    'It',
    'is',
    'me',
    '.',
  ]);
});
