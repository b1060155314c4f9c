import { test } from 'node:test';
import assert from 'node:assert/strict';
import { braceShorthand, constantValue, expressionsEqual, parseExpression } from './math-expr.js';
import { integerAnswer, normaliseMathAnswer } from './math-answer.js';

const value = (s: string) => {
  const e = parseExpression(s);
  assert.ok(e, `cannot read ${s}`);
  return constantValue(e);
};
const same = (a: string, b: string) => expressionsEqual(parseExpression(a)!, parseExpression(b)!);

test('brace shorthand: \\frac12, \\frac 59, \\frac{270}7, \\frac\\pi2, \\sqrt2', () => {
  assert.equal(braceShorthand('\\frac12'), '\\frac{1}{2}');
  assert.equal(braceShorthand('\\frac 59'), '\\frac{5}{9}');
  assert.equal(braceShorthand('\\frac{270}7'), '\\frac{270}{7}');
  assert.equal(braceShorthand('\\frac\\pi2'), '\\frac{\\pi}{2}');
  assert.equal(braceShorthand('11\\sqrt2'), '11\\sqrt{2}');
  assert.equal(braceShorthand('\\sqrt[3]{x}'), '\\sqrt[3]{x}');
});

test('constant values: fractions, roots, powers, mixed numbers, pi, functions', () => {
  assert.equal(value('\\frac{3}{2}'), 1.5);
  assert.equal(value('1\\frac{4}{5}'), 1.8);
  assert.equal(value('-1\\frac{1}{2}'), -1.5);
  assert.equal(value('2\\frac{\\sqrt{4}}{4}'), 1); // a product, not a mixed number
  assert.equal(value('2^{10}'), 1024);
  assert.equal(value('2^-1'), 0.5);
  assert.equal(value('\\sqrt[3]{27}'), 3);
  assert.equal(value('\\binom{6}{2}'), 15);
  assert.equal(value('5!'), 120);
  assert.ok(Math.abs(value('\\frac{\\pi}{2}')! - Math.PI / 2) < 1e-15);
  assert.ok(Math.abs(value('\\sin(\\pi/6)')! - 0.5) < 1e-15);
  assert.equal(value('\\log_2 8'), 3);
  assert.equal(value('|-4|'), 4);
  assert.equal(value('3 \\cdot 4 \\times 2 \\div 6'), 4);
  assert.equal(value('\\infty'), Infinity);
  assert.equal(value('2i'), null); // not real
  assert.equal(parseExpression('52_8'), null); // a number in base 8 is not read as a value
  assert.equal(parseExpression('(1,2)'), null);
});

test('expressions with variables are equal when they agree at several points', () => {
  assert.ok(same('(x+1)^2', 'x^2+2x+1'));
  assert.ok(same('\\frac{11+9a}{20}', '0.55+0.45a'));
  assert.ok(same('\\cot x', '\\frac{\\cos x}{\\sin x}'));
  assert.ok(same('(1+2i)^2', '-3+4i'));
  assert.ok(!same('x^2', 'y^2'));
  assert.ok(!same('x^2', 'x^3'));
  assert.ok(!same('3R^2', '3r^2'));
  assert.ok(!same('\\infty', '-\\infty'));
});

test('normalised answers and integer answers', () => {
  assert.equal(normaliseMathAnswer('$\\$32,\\!348$.'), '32348');
  assert.equal(normaliseMathAnswer('\\left( 3, \\dfrac{\\pi}{2} \\right)'), '( 3, \\frac{\\pi}{2} )');
  assert.equal(normaliseMathAnswer('864 \\mbox{ inches}^2'), '864');
  assert.equal(normaliseMathAnswer('30^{\\circ}'), '30');
  assert.equal(normaliseMathAnswer('\\text{Evelyn}'), 'Evelyn');
  assert.equal(integerAnswer('033'), 33);
  assert.equal(integerAnswer('\\text{070}'), 70);
  assert.equal(integerAnswer('x = 5.0'), 5);
  assert.equal(integerAnswer('2^5'), 32);
  assert.equal(integerAnswer('\\frac{1}{2}'), null);
  assert.equal(integerAnswer('many'), null);
});
