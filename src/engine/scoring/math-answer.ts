/**
 * Final answers of math problems: extraction (the last `\boxed{...}`, else the last `Answer:` line) and
 * equivalence (two answers are the same number, expression, interval, tuple, set, matrix or text), for
 * MATH-500, AIME and `custom` benchmarks (registered as parts at the end of this file).
 *
 * Equivalence = a normaliser (TeX layout, units, degrees, `\%`, dollars, thousands separators, a leading
 * `x =`) followed by a structural comparison; single expressions are compared numerically (math-expr.ts).
 */
import { registerExtractor, registerScorer } from './parts.js';
import { constantValue, expressionsEqual, matchingBracket, parseExpression } from './math-expr.js';

// ---- extraction ----

/**
 * The content of the last non-empty `\boxed{...}` or `\fbox{...}` (braces balanced), or of the last
 * `\boxed x` (up to `$` or the end of the line); null when there is none.
 */
export function lastBoxed(text: string): string | null {
  const re = /\\(?:boxed|fbox)(?![a-zA-Z])/g;
  const starts: number[] = [];
  for (let m = re.exec(text); m; m = re.exec(text)) starts.push(m.index + m[0].length);
  for (let k = starts.length - 1; k >= 0; k--) {
    let i = starts[k]!;
    while (text[i] === ' ' || text[i] === '\t') i++;
    let content: string | null = null;
    if (text[i] === '{') {
      const close = matchingBracket(text, i, '{', '}');
      if (close > i) content = text.slice(i + 1, close);
    } else if (i > starts[k]!) {
      content = /^[^$\n]*/.exec(text.slice(i))![0];
    }
    if (content !== null && content.trim() !== '') return content.trim();
  }
  return null;
}

/**
 * The text after the last `Answer:` (simple-evals' `Answer\s*:\s*([^\n]+)`, case-insensitive), without
 * markdown bold, a leading "The final answer is" and a trailing "I hope it is correct."; null without one.
 */
export function answerLine(text: string): string | null {
  let last: string | null = null;
  for (const m of text.matchAll(/Answer\s*:\s*([^\n]+)/gi)) last = m[1]!;
  if (last === null) return null;
  let s = last.replace(/\*\*/g, '').trim();
  s = s.replace(/^the final answer is\s*/i, '');
  s = s.replace(/\.?\s*I hope it is correct\.?\s*$/i, '');
  s = s.trim();
  return s === '' ? null : s;
}

/** The final answer of a reply: the last `\boxed{}`, else the last `Answer:` line; null when neither. */
export function extractMathAnswer(text: string): string | null {
  return lastBoxed(text) ?? answerLine(text);
}

// ---- normalisation ----

/** Words dropped after a value as units (singular; an `s`/`es` plural and a `^2`/`^3` are dropped too). */
const UNIT_WORDS = [
  'square',
  'sq',
  'cubic',
  'unit',
  'cm',
  'mm',
  'km',
  'meter',
  'metre',
  'centimeter',
  'kilometer',
  'inch',
  'inches',
  'foot',
  'feet',
  'ft',
  'yard',
  'yd',
  'mile',
  'mph',
  'degree',
  'radian',
  'cent',
  'dollar',
  'second',
  'minute',
  'min',
  'hour',
  'hr',
  'day',
  'week',
  'month',
  'year',
  'pound',
  'lb',
  'ounce',
  'oz',
  'gram',
  'kg',
  'liter',
  'litre',
  'ml',
  'gallon',
  'point',
  'people',
  'student',
  'way',
  'item',
  'time',
  'integer',
  'number',
  'digit',
  'percent',
];
const UNIT_RE = new RegExp(
  String.raw`(?:^|(?<=[\d}\s)]))\s*(?:(?:${UNIT_WORDS.join('|')})(?:e?s)?\s*(?:\^\s*\{?[23]\}?|[²³])?\s*)+$`,
  'i',
);

/** The `\text{...}`-like commands, all read as `\text`. */
const TEXT_CMDS =
  /\\(?:text|mbox|textrm|textnormal|mathrm|textbf|mathbf|textit|mathit|mathsf|texttt|hbox)\s*\{/g;

function stripMathDelimiters(s: string): string {
  for (;;) {
    const t = s.trim();
    const m =
      /^\$\$([\s\S]*)\$\$$/.exec(t) ??
      /^\$([\s\S]*)\$$/.exec(t) ??
      /^\\\(([\s\S]*)\\\)$/.exec(t) ??
      /^\\\[([\s\S]*)\\\]$/.exec(t);
    if (!m) return t;
    s = m[1]!;
  }
}

/** `\text{X}` groups: the whole answer's text is kept; unit-like text after a value is dropped. */
function handleText(s: string): string {
  const whole = /^\\text\{([\s\S]*)\}$/.exec(s);
  if (whole && matchingBracket(s, 5, '{', '}') === s.length - 1) return whole[1]!.trim();
  let out = s;
  for (let guard = 0; guard < 20; guard++) {
    const at = out.search(/\\text\{/);
    if (at < 0) break;
    const open = at + 5;
    const close = matchingBracket(out, open, '{', '}');
    if (close < 0) break;
    const inner = out.slice(open + 1, close).trim();
    const before = out.slice(0, at);
    let after = out.slice(close + 1);
    let replacement: string;
    if (/^(and|or)$/i.test(inner)) replacement = ',';
    else if (/^[A-Za-z\s.]*$/.test(inner) && /[\d})\]]\s*$/.test(before.trim() === '' ? '' : before)) {
      // a unit after a value: drop it with its power (`\text{ cm}^2`)
      after = after.replace(/^\s*\^\s*(?:\{[^}]*\}|\d)/, '');
      replacement = '';
    } else replacement = inner;
    out = before + replacement + after;
  }
  return out;
}

/**
 * A final answer normalised for comparison: math delimiters, `\left`/`\right`, `\dfrac`/`\tfrac`,
 * spacing commands, `\!`, dollars, `\%`, degrees, `\text{}` units, trailing unit words, thousands
 * separators (`10,\!080`, `58,500`) and a trailing period are removed.
 */
export function normaliseMathAnswer(answer: string): string {
  let s = stripMathDelimiters(answer.replace(/\r?\n/g, ' '));
  s = s.replace(/\\boxed\s*\{([\s\S]*)\}/, '$1');
  s = s.replace(/\\(?:d|t|c)frac(?![a-zA-Z])/g, '\\frac').replace(/\\(?:d|t)binom(?![a-zA-Z])/g, '\\binom');
  s = s.replace(/\\(?:left|right)\s*\./g, '');
  s = s.replace(/\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|big|Big|bigg|Bigg)(?![a-zA-Z])/g, '');
  s = s.replace(/\\(?:displaystyle|textstyle)(?![a-zA-Z])/g, '');
  // thousands separators written for TeX: `10,\!080`, `1{,}000`
  s = s.replace(/(\d)\s*(?:,\s*\\!|\{,\})\s*(?=\d{3})/g, '$1');
  s = s.replace(/\\!/g, '');
  // spacing commands (but not the `\\` row break of a matrix)
  s = s.replace(/\\\\|\\[,;:> ]|\\q?quad(?![a-zA-Z])|~/g, (m) => (m === '\\\\' ? m : ' '));
  s = s.replace(/\\\$|\$/g, '');
  s = s.replace(/\\%|%/g, '');
  s = s.replace(
    /\^\s*\{\s*\\circ\s*\}|\^\s*\\circ(?![a-zA-Z])|\\circ(?![a-zA-Z])|°|\\degree(?![a-zA-Z])/g,
    '',
  );
  s = s.replace(TEXT_CMDS, '\\text{');
  s = s.replace(/\\text\{\s*\.?\s*\}/g, '');
  s = handleText(s.trim());
  s = s
    .replace(/[.\s]+$/, '')
    .replace(/[,;]+$/, '')
    .trim();
  const unit = UNIT_RE.exec(s);
  if (unit && unit.index > 0 && /\d|\\pi|\}/.test(s.slice(0, unit.index))) s = s.slice(0, unit.index).trim();
  // a number with thousands separators as an argument: `\frac{20,000}{\pi}`
  s = s.replace(/\{(-?\d{1,3}(?:,\d{3})+(?:\.\d+)?)\}/g, (_m, n: string) => `{${n.replace(/,/g, '')}}`);
  // a plain number with thousands separators: `58,500`, `1,000,000.5`
  if (/^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$/.test(s)) s = s.replace(/,/g, '');
  return s.replace(/\s+/g, ' ').trim();
}

// ---- structure ----

type Node =
  | { k: 'atom'; text: string }
  /** Ordered: a tuple or interval `(..)`/`[..]`/`(..]`, a vector `\langle..\rangle`, or a bare list (open ''). */
  | { k: 'seq'; open: string; close: string; items: Node[] }
  /** Unordered: a set `\{..\}`, a union of intervals, `a \pm b`, or a bare list where order does not matter. */
  | { k: 'bag'; items: Node[]; plusMinus?: boolean }
  | { k: 'matrix'; rows: Node[][] };

const OPENERS = '([{';
const CLOSERS = ')]}';

/** Split at top-level occurrences of a separator (brackets of any kind nest; `\{`, `\}` count too). */
function splitTop(s: string, sep: RegExp): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '\\') {
      const cmd = /^\\(?:[a-zA-Z]+|.)/.exec(s.slice(i))![0];
      if (cmd === '\\{' || cmd === '\\langle') depth++;
      else if (cmd === '\\}' || cmd === '\\rangle') depth--;
      else if (depth === 0) {
        const m = sep.exec(s.slice(i));
        if (m && m.index === 0) {
          parts.push(s.slice(start, i));
          start = i + m[0].length;
          i = start - 1;
          continue;
        }
      }
      i += cmd.length - 1;
      continue;
    }
    if (OPENERS.includes(ch)) depth++;
    else if (CLOSERS.includes(ch)) depth--;
    else if (depth === 0) {
      const m = sep.exec(s.slice(i));
      if (m && m.index === 0) {
        parts.push(s.slice(start, i));
        start = i + m[0].length;
        i = start - 1;
      }
    }
  }
  parts.push(s.slice(start));
  return parts.map((p) => p.trim());
}

/** The bracket pair enclosing the whole text (`(..)`, `[..]`, `(..]`, `[..)`, `\{..\}`, `\langle..\rangle`), or null. */
function enclosing(s: string): { open: string; close: string; inner: string } | null {
  if (s.startsWith('\\{') && s.endsWith('\\}')) {
    const inner = s.slice(2, -2);
    return balanced(inner) ? { open: '{', close: '}', inner } : null;
  }
  if (s.startsWith('\\langle') && s.endsWith('\\rangle')) {
    const inner = s.slice(7, -7);
    return balanced(inner) ? { open: '<', close: '>', inner } : null;
  }
  const first = s[0];
  const last = s[s.length - 1];
  if (!first || !last || !'(['.includes(first) || !')]'.includes(last)) return null;
  const inner = s.slice(1, -1);
  return balanced(inner) ? { open: first, close: last, inner } : null;
}

/** Brackets of any kind balance (never closing below zero). */
function balanced(s: string): boolean {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '\\') {
      const cmd = /^\\(?:[a-zA-Z]+|.)/.exec(s.slice(i))![0];
      if (cmd === '\\{' || cmd === '\\langle') depth++;
      else if (cmd === '\\}' || cmd === '\\rangle') depth--;
      i += cmd.length - 1;
    } else if (OPENERS.includes(ch)) depth++;
    else if (CLOSERS.includes(ch)) depth--;
    if (depth < 0) return false;
  }
  return depth === 0;
}

/** `x = 5` -> `5`, `\theta = ...` -> `...`, `x \in [a, b]` -> `[a, b]` (one variable on the left only). */
function stripVariablePrefix(s: string): string {
  const inSet = /^\s*(?:[a-zA-Z](?:_\{?\w+\}?)?|\\[a-zA-Z]+)\s*\\in(?![a-zA-Z])\s*([\s\S]+)$/.exec(s);
  if (inSet && !/^\\(?:frac|sqrt|text)/.test(s.trim())) return inSet[1]!.trim();
  const parts = splitTop(s, /^=/);
  if (parts.length === 2 && /^(?:[a-zA-Z](?:_\{?\w+\}?)?|\\[a-zA-Z]+)$/.test(parts[0]!)) {
    if (!/^\\(?:pi|infty)$/.test(parts[0]!)) return parts[1]!;
  }
  return s;
}

/** Expand the first `\pm` / `\mp` into its two signs. */
function expandPlusMinus(s: string): [string, string] | null {
  const m = /\\(pm|mp)(?![a-zA-Z])/.exec(s);
  if (!m) return null;
  const a = m[1] === 'pm' ? '+' : '-';
  const b = m[1] === 'pm' ? '-' : '+';
  const head = s.slice(0, m.index);
  const tail = s.slice(m.index + m[0].length);
  return [`${head}${a}${tail}`, `${head}${b}${tail}`];
}

function matrixOf(s: string): string[][] | null {
  const m = /^\\begin\{([pbBvV]?matrix|array)\}([\s\S]*)\\end\{\1\}$/.exec(s);
  if (!m) return null;
  let body = m[2]!;
  if (m[1] === 'array') body = body.replace(/^\s*\{[^}]*\}/, '');
  const rows = body
    .split(/\\\\/)
    .map((r) => r.trim())
    .filter((r) => r !== '');
  return rows.map((r) => r.split('&').map((x) => x.trim()));
}

function toNode(text: string, unorderedLists: boolean, depth = 0): Node {
  let s = stripVariablePrefix(text.trim());
  if (depth > 6) return { k: 'atom', text: s };
  const next = (x: string) => toNode(x, unorderedLists, depth + 1);
  const matrix = matrixOf(s);
  if (matrix) return { k: 'matrix', rows: matrix.map((r) => r.map(next)) };
  const union = splitTop(s, /^(?:\\cup(?![a-zA-Z])|\s+U\s+)/);
  if (union.length > 1) return { k: 'bag', items: union.map(next) };
  const enc = enclosing(s);
  if (enc) {
    const items = splitTop(enc.inner, /^,/);
    if (enc.open === '{')
      return { k: 'bag', items: flattenPlusMinus(items.filter((x) => x !== '').map(next)) };
    if (items.length > 1) return { k: 'seq', open: enc.open, close: enc.close, items: items.map(next) };
  }
  const list = splitTop(s, /^(?:,|;|\s+(?:and|or)\s+)/).filter((x) => x !== '');
  if (list.length > 1) {
    const items = list.map(next);
    // `a \pm b` in a list stands for two answers, so the list is a set
    if (unorderedLists || items.some((n) => n.k === 'bag' && n.plusMinus))
      return { k: 'bag', items: flattenPlusMinus(items) };
    return { k: 'seq', open: '', close: '', items };
  }
  const pm = expandPlusMinus(s);
  if (pm) return { k: 'bag', items: flattenPlusMinus(pm.map(next)), plusMinus: true };
  s = s.replace(/^\s*\{([^{}]*)\}\s*$/, '$1');
  return { k: 'atom', text: s };
}

/** The answers of `\pm` elements taken into the enclosing set. */
function flattenPlusMinus(items: Node[]): Node[] {
  return items.flatMap((n) => (n.k === 'bag' && n.plusMinus ? n.items : [n]));
}

// ---- comparison ----

const MATH_WORDS = new Set(['sqrt', 'sin', 'cos', 'tan', 'cot', 'sec', 'csc', 'log', 'ln', 'exp', 'pi']);

/** A text answer ("even", "Navin", "(C)"): what is compared case-insensitively instead of as math. */
function textKey(s: string): string {
  return s
    .replace(/\\text\{([^{}]*)\}/g, '$1')
    .replace(/^\(\s*([A-Za-z])\s*\)$/, '$1')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
}

function isTextual(s: string): boolean {
  const t = s.replace(/\\text\{([^{}]*)\}/g, '$1').trim();
  if (/\d|\\/.test(t)) return false;
  if (/^\(\s*[A-Za-z]\s*\)$/.test(t)) return true;
  if (!/^[A-Za-z][A-Za-z\s'-]*$/.test(t)) return false;
  const words = t.split(/[\s'-]+/).filter((w) => w.length >= 3 && !MATH_WORDS.has(w.toLowerCase()));
  return words.length > 0;
}

/** The text without spaces, `\text{}` wrappers and braces around a subscript (`52_{8}` = `52_8`). */
function squeeze(s: string): string {
  return s
    .replace(/\s+/g, '')
    .replace(/\\text\{([^{}]*)\}/g, '$1')
    .replace(/_\{(\w+)\}/g, '_$1');
}

function atomsEqual(a: string, b: string): boolean {
  if (squeeze(a) === squeeze(b)) return true;
  if (isTextual(a) || isTextual(b)) return textKey(a) === textKey(b);
  const ea = splitTop(a, /^=/);
  const eb = splitTop(b, /^=/);
  if (ea.length === 2 && eb.length === 2) {
    const da = parseExpression(`(${ea[0]})-(${ea[1]})`);
    const db = parseExpression(`(${eb[0]})-(${eb[1]})`);
    const dbNeg = parseExpression(`(${eb[1]})-(${eb[0]})`);
    return !!da && !!db && !!dbNeg && (expressionsEqual(da, db) || expressionsEqual(da, dbNeg));
  }
  if (ea.length !== eb.length) return false;
  const pa = parseExpression(a);
  const pb = parseExpression(b);
  return pa !== null && pb !== null && expressionsEqual(pa, pb);
}

function bagsEqual(a: readonly Node[], b: readonly Node[]): boolean {
  if (a.length !== b.length) return false;
  const used = new Array<boolean>(b.length).fill(false);
  const match = (i: number): boolean => {
    if (i === a.length) return true;
    for (let j = 0; j < b.length; j++) {
      if (used[j] || !nodesEqual(a[i]!, b[j]!)) continue;
      used[j] = true;
      if (match(i + 1)) return true;
      used[j] = false;
    }
    return false;
  };
  return match(0);
}

function seqEqual(a: readonly Node[], b: readonly Node[]): boolean {
  return a.length === b.length && a.every((x, i) => nodesEqual(x, b[i]!));
}

/** A column or row vector's entries (a matrix with one column or one row), else null. */
function vectorEntries(m: { rows: Node[][] }): Node[] | null {
  if (m.rows.every((r) => r.length === 1)) return m.rows.map((r) => r[0]!);
  if (m.rows.length === 1) return m.rows[0]!;
  return null;
}

function nodesEqual(a: Node, b: Node): boolean {
  if (a.k === 'atom' && b.k === 'atom') return atomsEqual(a.text, b.text);
  if (a.k === 'bag' && b.k === 'bag') return bagsEqual(a.items, b.items);
  if (a.k === 'seq' && b.k === 'seq')
    return a.open === b.open && a.close === b.close && seqEqual(a.items, b.items);
  if (a.k === 'matrix' && b.k === 'matrix')
    return a.rows.length === b.rows.length && a.rows.every((r, i) => seqEqual(r, b.rows[i]!));
  // a set written as a bare list, or the other way round
  if (a.k === 'bag' && b.k === 'seq' && b.open === '') return bagsEqual(a.items, b.items);
  if (b.k === 'bag' && a.k === 'seq' && a.open === '') return bagsEqual(a.items, b.items);
  // a one-element set and its element
  if (a.k === 'bag' && a.items.length === 1) return nodesEqual(a.items[0]!, b);
  if (b.k === 'bag' && b.items.length === 1) return nodesEqual(a, b.items[0]!);
  // a column vector and the same entries as a tuple
  if (a.k === 'matrix' && b.k === 'seq' && b.open === '(') {
    const v = vectorEntries(a);
    return v !== null && seqEqual(v, b.items);
  }
  if (b.k === 'matrix' && a.k === 'seq' && a.open === '(') {
    const v = vectorEntries(b);
    return v !== null && seqEqual(a.items, v);
  }
  return false;
}

export interface MathCompareOptions {
  /**
   * Whether a bare list (`3, 5, 7`) is a collection of answers in any order (default true). Tuples,
   * intervals and vectors are always ordered; sets, unions and `\pm` never are.
   */
  unorderedLists?: boolean;
}

/** Whether a predicted final answer is mathematically the same as the gold one. */
export function mathAnswersEqual(
  predicted: string | null,
  gold: string,
  opts: MathCompareOptions = {},
): boolean {
  if (predicted === null) return false;
  const p = normaliseMathAnswer(predicted);
  const g = normaliseMathAnswer(gold);
  if (p === '' || g === '') return false;
  if (squeeze(p) === squeeze(g)) return true;
  const unordered = opts.unorderedLists ?? true;
  return nodesEqual(toNode(p, unordered), toNode(g, unordered));
}

/**
 * Whether a problem lets a bare list of answers come in any order: it asks for several answers
 * ("separated by commas", "all ...", roots, solutions, values) and asks for no particular order.
 */
export function problemAllowsAnyOrder(problem: string): boolean {
  if (
    /\b(?:in (?:increasing|decreasing|ascending|descending|that|this|the (?:same|given)) order|from (?:least|smallest|lowest|greatest|largest|highest) to|in order)\b/i.test(
      problem,
    )
  )
    return false;
  return /separated by commas|in any order|unordered|\ball\b|\broots?\b|\bsolutions?\b|\bvalues\b|\bzeros\b/i.test(
    problem,
  );
}

// ---- integers (AIME) ----

/** An integer answer (`33`, `033`, `\text{33}`, `33.0`, `x = 33`, or an expression with an integer value), else null. */
export function integerAnswer(text: string | null): number | null {
  if (text === null) return null;
  const s = stripVariablePrefix(normaliseMathAnswer(text)).replace(/\s+/g, '');
  const plain = /^\+?(-?\d+)(?:\.0*)?$/.exec(s);
  if (plain) return Number(plain[1]);
  const e = parseExpression(s);
  const v = e ? constantValue(e) : null;
  if (v === null || !Number.isFinite(v)) return null;
  const r = Math.round(v);
  return Math.abs(v - r) <= 1e-9 * Math.max(1, Math.abs(v)) ? r : null;
}

// ---- registered parts ----

registerExtractor(
  'math_answer',
  'the last \\boxed{...} (balanced braces; also `\\boxed x` and \\fbox), else the text after the last "Answer:"',
  (t) => extractMathAnswer(t),
);
registerExtractor('boxed', 'the content of the last \\boxed{...} (or \\fbox{...}); null without one', (t) =>
  lastBoxed(t),
);
registerScorer(
  'math_equivalent',
  'the answer is mathematically the target (numbers, fractions, expressions, intervals, tuples, sets, text); bare lists in any order unless extra.ordered_lists',
  (e, target, ctx) => ({
    correct: mathAnswersEqual(e, target, { unorderedLists: ctx.extra?.ordered_lists !== true }),
  }),
);
registerScorer(
  'integer',
  'the answer is the integer target (leading zeros allowed: "033" = 33); shown as the integer read',
  (e, target) => {
    const got = integerAnswer(e);
    const want = integerAnswer(target);
    return {
      correct: got !== null && want !== null && got === want,
      extracted: got === null ? e : String(got),
    };
  },
);
