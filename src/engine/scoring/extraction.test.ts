import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  extractAnswerLetter,
  extractCodeBlock,
  extractLastNumber,
  extractNumberAfterMarker,
  gsm8kGoldAnswer,
  normaliseNumber,
  numbersEqual,
} from './extraction.js';

test('numbers are normalised', () => {
  assert.equal(normaliseNumber('$1,234'), '1234');
  assert.equal(normaliseNumber('18.0'), '18');
  assert.equal(normaliseNumber('18.50'), '18.5');
  assert.equal(normaliseNumber('42.'), '42');
  assert.equal(normaliseNumber('-.5'), '-0.5');
  assert.ok(numbersEqual('18.00', '18'));
  assert.ok(!numbersEqual('18', '19'));
  assert.ok(!numbersEqual(null, '1'));
});

test('last number and marker extraction', () => {
  assert.equal(extractLastNumber('She has 3 apples and 1,000 pears.'), '1000');
  assert.equal(extractLastNumber('no digits here'), null);
  const marker = /the final answer is/i;
  assert.equal(extractNumberAfterMarker('So 5+5 = 10.\nThe final answer is $1,200.00', marker), '1200');
  assert.equal(extractNumberAfterMarker('The final answer is: 7, not 8', marker), '7');
  assert.equal(extractNumberAfterMarker('The final answer is 3. Wait, the final answer is 4', marker), '4');
  assert.equal(extractNumberAfterMarker('nothing', marker), null);
  assert.equal(gsm8kGoldAnswer('blah <<2*3=6>>6\n#### 1,000'), '1000');
});

test('Answer: letter extraction like simple-evals', () => {
  assert.equal(extractAnswerLetter('Thinking...\nanswer: $c$'), 'C');
  assert.equal(extractAnswerLetter('Answer: B\nAnswer: C'), 'B');
  assert.equal(extractAnswerLetter('Answer: J', 'ABCD'), null);
  assert.equal(extractAnswerLetter('I pick B'), null);
});

test('code block extraction', () => {
  assert.equal(
    extractCodeBlock('Here:\n```python\ndef f():\n    return 1\n```\nmore'),
    'def f():\n    return 1\n',
  );
  assert.equal(extractCodeBlock('```\nx = 1\n```'), 'x = 1\n');
  assert.equal(extractCodeBlock('def f(): pass'), 'def f(): pass');
});
