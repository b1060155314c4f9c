/**
 * The math equivalence on the 500 real MATH-500 gold answers: each gold rewritten into equivalent forms
 * (\dfrac, spaces, \left( \right), a trailing period, `x = `, a unit in \text{} where the problem has
 * units, a decimal for a terminating fraction, and more) must be judged equal; perturbed golds (another
 * number, a swapped tuple where order matters) must be judged unequal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  extractMathAnswer,
  lastBoxed,
  mathAnswersEqual,
  problemAllowsAnyOrder,
} from '../src/engine/scoring/math-answer.js';
import { constantValue, parseExpression } from '../src/engine/scoring/math-expr.js';
import { sharedPath } from './support/paths.js';

export interface Row {
  problem: string;
  solution: string;
  answer: string;
  subject: string;
  level: number;
  unique_id: string;
}

export const ROWS: Row[] = readFileSync(sharedPath('data', 'math500', 'test.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as Row);

const isText = (a: string) => /^\\text\{[^{}]*\}$/.test(a.trim());
const isTuple = (a: string) => /^(?:\\left)?\s*[([]/.test(a.trim()) && /[)\]]$/.test(a.trim());
const hasTopComma = (a: string) => {
  let depth = 0;
  for (const ch of a) {
    if ('([{'.includes(ch)) depth++;
    else if (')]}'.includes(ch)) depth--;
    else if (ch === ',' && depth === 0) return true;
  }
  return false;
};

/** Units named in a problem, as a gold answer with that unit would write them. */
const UNIT_PATTERNS: [RegExp, string][] = [
  [/\bsquare (?:units|inches|feet|centimeters|meters|cm)\b/i, 'square units'],
  [/\bdegrees?\b|\^\\circ/i, 'degrees'],
  [/\bcents?\b/i, 'cents'],
  [/\bdollars?\b|\\\$/i, 'dollars'],
  [/\binch(?:es)?\b/i, 'inches'],
  [/\b(?:feet|foot)\b/i, 'feet'],
  [/\bcm\b|\bcentimeters?\b/i, 'cm'],
  [/\bmeters?\b/i, 'meters'],
  [/\bmiles?\b/i, 'miles'],
  [/\bhours?\b/i, 'hours'],
  [/\bminutes?\b/i, 'minutes'],
  [/\bseconds?\b/i, 'seconds'],
  [/\bunits?\b/i, 'units'],
];

function unitOf(problem: string): string | null {
  for (const [re, unit] of UNIT_PATTERNS) if (re.test(problem)) return unit;
  return null;
}

/** A terminating decimal for a constant rational gold (not an integer), else null. */
function decimalOf(gold: string): string | null {
  const e = parseExpression(gold.replace(/\\dfrac/g, '\\frac'));
  if (!e || !/\\frac|\//.test(gold) || /\\sqrt|\\pi|[a-z]/i.test(gold.replace(/\\d?frac/g, ''))) return null;
  const v = constantValue(e);
  if (v === null || Number.isInteger(v)) return null;
  for (let digits = 1; digits <= 10; digits++) {
    const s = v.toFixed(digits);
    if (Number(s) === v) return s.replace(/0+$/, '');
  }
  return null;
}

/** Spaces added between the gold's tokens (never inside a command name). */
function spaced(gold: string): string {
  return gold
    .replace(/(,(?!\\!|\d{3})|[+=]|(?<![\\^_{])-)/g, ' $1 ')
    .replace(/(?<![\\]|\\begin|\\end)\{(?!(?:[pbv]?matrix)\})/g, '{ ')
    .replace(/(?<![\\]|matrix)\}/g, ' }')
    .replace(/\s+/g, ' ')
    .trim();
}

/** A number written with thousands separators (`58,500`, `10,\!080`): not a list. */
const isThousands = (a: string) => /^(?:\\\$)?\d{1,3}(?:,(?:\\!)?\s*\d{3})+$/.test(a.trim());

/** The gold wrapped in (or its brackets written as) \left ... \right. */
function leftRight(gold: string): string | null {
  const g = gold.trim();
  if (/\\left/.test(g)) return g.replace(/\\left\s*/g, '\\left ').replace(/\\right\s*/g, '\\right ');
  if (isText(g) || /\\begin/.test(g)) return null;
  if (isTuple(g) && hasTopComma(g.slice(1, -1))) return `\\left${g[0]} ${g.slice(1, -1)} \\right${g.at(-1)}`;
  if (hasTopComma(g) || /\\cup|\\pm|\\in|=|_/.test(g)) return null;
  return `\\left( ${g} \\right)`;
}

interface Form {
  kind: string;
  text: string;
}

/** Equivalent forms of one gold answer (only the kinds that apply to it). */
export function equivalentForms(row: Row): Form[] {
  const g = row.answer;
  const forms: Form[] = [];
  const add = (kind: string, text: string | null) => {
    if (text !== null && text !== g) forms.push({ kind, text });
  };
  if (/\\frac/.test(g)) {
    add('dfrac', g.replace(/\\frac/g, '\\dfrac'));
    add('tfrac', g.replace(/\\frac/g, '\\tfrac'));
  }
  if (/\\dfrac/.test(g)) add('frac', g.replace(/\\dfrac/g, '\\frac'));
  add('spaces', spaced(g));
  add('left-right', leftRight(g));
  add('trailing period', `${g}.`);
  add('dollars', `$${g}$`);
  if (!isText(g) && !/=|\\in\b/.test(g)) add('x =', hasTopComma(g) && !isTuple(g) ? null : `x = ${g}`);
  const unit = unitOf(row.problem);
  if (unit && !isText(g) && !hasTopComma(g) && !/[a-z]/i.test(g.replace(/\\[a-z]+/gi, '')))
    add('unit in \\text{}', `${g} \\text{ ${unit}}`);
  add('decimal', decimalOf(g));
  // a/b for \frac{a}{b} of plain numbers
  const simple = /^(-?)\\frac\{(\d+)\}\{(\d+)\}$/.exec(g);
  if (simple) add('a/b', `${simple[1]}${simple[2]}/${simple[3]}`);
  // \frac12-style shorthand
  if (/\\frac\{(\w)\}\{(\w)\}/.test(g))
    add('\\frac12 shorthand', g.replace(/\\frac\{(\w)\}\{(\w)\}/g, '\\frac$1$2'));
  if (/\\frac\{(\d+)\}\{(\d+)\}/.test(g) && !/\\frac\{(\w)\}\{(\w)\}/.test(g))
    add('\\frac{..}7 shorthand', g.replace(/\\frac\{(\d+)\}\{(\d)\}/g, '\\frac{$1}$2'));
  if (/\\sqrt\{(\w)\}/.test(g)) add('\\sqrt2 shorthand', g.replace(/\\sqrt\{(\w)\}/g, '\\sqrt$1'));
  if (/\\sqrt\d/.test(g)) add('\\sqrt{2}', g.replace(/\\sqrt(\d)/g, '\\sqrt{$1}'));
  if (/\^\\circ/.test(g)) {
    add('^{\\circ}', g.replace(/\^\\circ/g, '^{\\circ}'));
    add('no degree sign', g.replace(/\^\\circ/g, ''));
  }
  if (/^\d{4,}$/.test(g)) {
    add('thousands separators', Number(g).toLocaleString('en-US'));
    add('thousands separators \\!', Number(g).toLocaleString('en-US').replace(/,/g, ',\\!'));
  }
  if (/,\\!/.test(g)) add('no thousands separators', g.replace(/,\\!\s*/g, ''));
  if (/\\\$/.test(g)) add('no dollar sign', g.replace(/\\\$/g, ''));
  if (/\\mbox/.test(g)) add('\\text for \\mbox', g.replace(/\\mbox/g, '\\text'));
  if (/\\pi/.test(g) && /^\\frac\{(\d*)\s*\\pi\}\{(\d+)\}$/.test(g))
    add('\\pi/n', g.replace(/^\\frac\{(\d*)\s*\\pi\}\{(\d+)\}$/, '$1\\pi/$2'));
  if (isText(g)) {
    const inner = g.slice(6, -1);
    add('plain text', inner);
    add('upper case', inner.toUpperCase());
  }
  // a bare list in another order where the problem allows any order
  if (hasTopComma(g) && !isTuple(g) && !isThousands(g) && problemAllowsAnyOrder(row.problem)) {
    add('list reordered', g.split(',').reverse().join(', '));
  }
  // several rewritings at once, as a model might write them
  let combined = g;
  if (/\\frac/.test(combined)) combined = combined.replace(/\\frac/g, '\\dfrac');
  combined = leftRight(combined) ?? combined;
  combined = spaced(combined);
  if (!isText(g) && !/=|\\in\b/.test(g) && !(hasTopComma(g) && !isTuple(g))) combined = `x = ${combined}`;
  add('combined', `$${combined}$.`);
  return forms;
}

/** Answers that are not the gold: another number, a swapped tuple where order matters. */
export function perturbedForms(row: Row): Form[] {
  const g = row.answer;
  const out: Form[] = [];
  const digit = /\d/.exec(g);
  if (digit) {
    const d = Number(digit[0]);
    out.push({
      kind: 'another number',
      text: g.slice(0, digit.index) + String((d + 1) % 10) + g.slice(digit.index + 1),
    });
  } else if (isText(g)) {
    out.push({ kind: 'other text', text: '\\text{something else}' });
  } else {
    out.push({ kind: 'plus one', text: `${g}+1` });
  }
  const inner = isTuple(g)
    ? g
        .replace(/^\\left\s*/, '')
        .slice(1)
        .replace(/\\right\s*.$/, '')
        .replace(/.$/, '')
    : null;
  if (inner !== null && hasTopComma(inner) && !/\\cup/.test(g)) {
    const items = inner.split(',');
    if (items.length >= 2 && items[0]!.trim() !== items[1]!.trim()) {
      const swapped = [items[1], items[0], ...items.slice(2)].join(',');
      out.push({ kind: 'swapped tuple', text: g.replace(inner, swapped) });
    }
  }
  if (hasTopComma(g) && !isTuple(g) && !isThousands(g) && !problemAllowsAnyOrder(row.problem)) {
    out.push({ kind: 'swapped list', text: g.split(',').reverse().join(',') });
  }
  return out;
}

const judge = (row: Row, text: string | null) =>
  mathAnswersEqual(text, row.answer, { unorderedLists: problemAllowsAnyOrder(row.problem) });

test("math500 equivalence: every gold answer equals itself and its solution's last \\boxed{}", () => {
  assert.equal(ROWS.length, 500);
  const selfMisses = ROWS.filter((r) => !judge(r, r.answer)).map((r) => r.answer);
  assert.deepEqual(selfMisses, []);
  const boxedMisses = ROWS.filter((r) => !judge(r, lastBoxed(r.solution) ?? '')).map(
    (r) => `${r.unique_id}: ${lastBoxed(r.solution)} vs ${r.answer}`,
  );
  console.log(`solution \\boxed{} judged equal to the answer field: ${500 - boxedMisses.length}/500`);
  for (const m of boxedMisses) console.log(`  not equal: ${m}`);
  assert.ok(boxedMisses.length <= 5, boxedMisses.join('\n'));
});

test('math500 equivalence: >= 99% of equivalent rewritings of the 500 golds are recognised', () => {
  let total = 0;
  let recognised = 0;
  const byKind = new Map<string, { n: number; ok: number }>();
  const misses: string[] = [];
  for (const row of ROWS) {
    for (const form of equivalentForms(row)) {
      total++;
      const k = byKind.get(form.kind) ?? { n: 0, ok: 0 };
      k.n++;
      if (judge(row, form.text)) {
        recognised++;
        k.ok++;
      } else misses.push(`[${form.kind}] ${JSON.stringify(form.text)} vs gold ${JSON.stringify(row.answer)}`);
      byKind.set(form.kind, k);
    }
  }
  const share = recognised / total;
  console.log(`equivalent forms recognised: ${recognised}/${total} = ${(100 * share).toFixed(2)}%`);
  for (const [kind, k] of [...byKind].sort()) console.log(`  ${kind}: ${k.ok}/${k.n}`);
  for (const m of misses) console.log(`  missed ${m}`);
  // the same forms inside a whole reply: extraction, then equivalence
  let inReplies = 0;
  for (const row of ROWS) {
    for (const form of equivalentForms(row)) {
      const reply = `Let us work it out.\n\\[ y = \\boxed{3} \\]\nSo the final result is $\\boxed{${form.text}}$\n`;
      if (judge(row, extractMathAnswer(reply))) inReplies++;
    }
  }
  console.log(`the same forms boxed in a reply: ${inReplies}/${total}`);
  assert.equal(inReplies, recognised);
  for (const required of [
    'dfrac',
    'spaces',
    'left-right',
    'trailing period',
    'x =',
    'unit in \\text{}',
    'decimal',
  ])
    assert.ok((byKind.get(required)?.n ?? 0) > 0, `no form of kind ${required}`);
  assert.ok(share >= 0.99, `only ${(100 * share).toFixed(2)}% recognised`);
});

test('math500 equivalence: perturbed golds (another number, swapped tuples) are judged unequal', () => {
  let total = 0;
  const wrongly: string[] = [];
  const kinds = new Map<string, number>();
  for (const row of ROWS) {
    for (const form of perturbedForms(row)) {
      total++;
      kinds.set(form.kind, (kinds.get(form.kind) ?? 0) + 1);
      if (judge(row, form.text)) wrongly.push(`[${form.kind}] ${form.text} vs ${row.answer}`);
    }
  }
  console.log(
    `perturbed answers judged unequal: ${total - wrongly.length}/${total} (${[...kinds].map(([k, n]) => `${k}: ${n}`).join(', ')})`,
  );
  assert.ok((kinds.get('swapped tuple') ?? 0) >= 15);
  assert.deepEqual(wrongly, []);
});

test('math500 extraction: boxed (balanced braces, \\boxed x, \\fbox) before the last Answer: line', () => {
  assert.equal(extractMathAnswer('so $\\boxed{\\frac{1}{2}}$.'), '\\frac{1}{2}');
  assert.equal(
    extractMathAnswer('first \\boxed{1} then \\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}'),
    '\\left( 3, \\frac{\\pi}{2} \\right)',
  );
  assert.equal(extractMathAnswer('the answer is $\\boxed 5$ indeed'), '5');
  assert.equal(extractMathAnswer('\\fbox{42}'), '42');
  assert.equal(extractMathAnswer('put it in \\boxed{} ... \\boxed{7} and finally \\boxed{}'), '7');
  assert.equal(extractMathAnswer('Answer: 3\nmore text\nAnswer: $\\frac{2}{3}$'), '$\\frac{2}{3}$');
  assert.equal(extractMathAnswer('**Answer:** 12'), '12');
  assert.equal(
    extractMathAnswer('Final Answer: The final answer is $[2,5)$. I hope it is correct.'),
    '$[2,5)$',
  );
  assert.equal(extractMathAnswer('no final answer here'), null);
  assert.equal(extractMathAnswer('unbalanced \\boxed{3'), null);
});

test('math500 equivalence: hand-picked equal and unequal pairs', () => {
  const eq: [string, string][] = [
    ['\\frac12', '\\frac{1}{2}'],
    ['0.5', '\\frac{1}{2}'],
    ['1/2', '\\dfrac{1}{2}'],
    ['2/4', '\\frac{1}{2}'],
    ['\\sqrt2/2', '\\frac{\\sqrt{2}}{2}'],
    ['\\frac{1}{\\sqrt{2}}', '\\frac{\\sqrt2}{2}'],
    ['1\\frac{4}{5}', '\\frac{9}{5}'],
    ['137.5', '137 \\frac{1}{2}'],
    ['3+2i', '2i+3'],
    ['(x+1)^2', 'x^2+2x+1'],
    ['1+4n+8n^2', '8n^2 + 4n + 1'],
    ['ab+2a+5b+10', '(a+5)(b+2)'],
    ['10080', '10,\\!080'],
    ['11111111100', '11,\\! 111,\\! 111,\\! 100'],
    ['32348', '\\$32,\\!348'],
    ['18.9', '\\$18.90'],
    ['30', '30^\\circ'],
    ['30^{\\circ}', '30^\\circ'],
    ['25\\%', '25'],
    ['y = 2x + 3', 'y = 2x + 3'],
    ['2x+3', 'y = 2x + 3'],
    ['5x - 7y + 11z + 4 = 0', '5x+11z-7y+4=0'],
    ['[-2, 7]', 'x \\in [-2,7]'],
    ['(-\\infty,2)\\cup(3,\\infty)', '(-\\infty, 2) \\cup (3, \\infty)'],
    ['(3,\\infty)\\cup(-\\infty,2)', '(-\\infty, 2) \\cup (3, \\infty)'],
    ['-2, 1-\\sqrt5, 1+\\sqrt5', '\\{1\\pm\\sqrt{5},-2\\}'],
    ['3-2\\sqrt2, 3+2\\sqrt2', '3 \\pm 2 \\sqrt{2}'],
    ['\\begin{pmatrix} 1/5 \\\\ -18/5 \\end{pmatrix}', '\\begin{pmatrix} 0.2 \\\\ -3.6 \\end{pmatrix}'],
    ['(0.2, -3.6)', '\\begin{pmatrix} 1/5 \\\\ -18/5 \\end{pmatrix}'],
    ['\\text{(C)}', 'C'],
    ['(C)', '\\text{(C)}'],
    ['even', '\\text{even}'],
    ['\\text{Evelyn}', 'evelyn'],
    ['864', '864 \\mbox{ inches}^2'],
    ['864 square inches', '864 \\mbox{ inches}^2'],
    ['5.4', '5.4 \\text{ cents}'],
    ['\\frac{270}{7}', '\\frac{270}7\\text{ degrees}'],
    ['52_{8}', '52_8'],
    ['\\frac{\\pi}{6}\\cdot -1', '-\\frac{\\pi}{6}'],
    ['2\\pi\\cdot 4', '8 \\pi'],
    ['\\cot x', '\\frac{\\cos x}{\\sin x}'],
    ['.35625', '0.35625'],
    ['6.72 \\times 10^{-5}', '.0000672'],
    ['x=5', '5'],
    ['033', '33'],
    ['\\left[ \\frac{\\pi^2}{8}, \\frac{5 \\pi^2}{4} \\right]', '[\\pi^2/8, 5\\pi^2/4]'],
  ];
  for (const [a, b] of eq) assert.ok(mathAnswersEqual(a, b), `${a} should equal ${b}`);
  const ne: [string, string][] = [
    ['\\frac{1}{3}', '0.33'],
    ['(3,4)', '(3,4]'],
    ['(2,1)', '(1,2)'],
    ['x^2+2x+1', 'y^2+2y+1'],
    ['\\text{odd}', '\\text{even}'],
    ['\\text{seat}', '\\text{east}'],
    ['3R^2', '3r^2'],
    ['\\sqrt{2}', '1.414'],
    ['-5x+7y-11z-3=0', '5x - 7y + 11z + 4 = 0'],
    ['52_9', '52_8'],
    ['42', '52_8'],
    ['(3,-13)', '\\left( \\frac{3}{2}, -13 \\right)'],
    ['1, 2', '1, 2, 3'],
  ];
  for (const [a, b] of ne) assert.ok(!mathAnswersEqual(a, b), `${a} should not equal ${b}`);
  // bare lists are ordered when asked
  assert.ok(!mathAnswersEqual('2, 1', '1, 2', { unorderedLists: false }));
  assert.ok(mathAnswersEqual('2, 1', '1, 2', { unorderedLists: true }));
  assert.ok(problemAllowsAnyOrder('Enter all the solutions, separated by commas.'));
  assert.ok(!problemAllowsAnyOrder('List the values in increasing order, separated by commas.'));
});
