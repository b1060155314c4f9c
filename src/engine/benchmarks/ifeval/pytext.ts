/**
 * String functions with Python's semantics, for checkers that must agree with a Python reference:
 * Unicode whitespace as `str.strip()`/`str.split()` see it, `str.isupper()`/`str.islower()`, and
 * translation of Python regular expressions (`\b`, `\w`, `\d`, `\s`, `.`) to JavaScript ones.
 */

/** The characters Python's `str.isspace()` (and so `str.strip()`, `str.split()`, `re`'s `\s`) treats as whitespace. */
export const PY_WS_CLASS =
  '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
/** `re`'s `\w` for str patterns: letters, digits and numerals of any script, and `_`. */
export const PY_WORD_CLASS = '\\p{L}\\p{N}_';

const WS = new RegExp(`[${PY_WS_CLASS}]`, 'u');
const LEADING_WS = new RegExp(`^[${PY_WS_CLASS}]+`, 'u');
const TRAILING_WS = new RegExp(`[${PY_WS_CLASS}]+$`, 'u');
const WS_RUN = new RegExp(`[${PY_WS_CLASS}]+`, 'u');

export function isPyWhitespace(ch: string): boolean {
  return WS.test(ch);
}

/** `s.strip()` (no argument: Unicode whitespace). */
export function pyStrip(s: string): string {
  return s.replace(LEADING_WS, '').replace(TRAILING_WS, '');
}

/** `s.strip(chars)`, `s.lstrip(chars)`, `s.rstrip(chars)` with an explicit set of characters. */
export function pyStripChars(s: string, chars: string, side: 'both' | 'left' | 'right' = 'both'): string {
  const set = new Set(Array.from(chars));
  const cps = Array.from(s);
  let start = 0;
  let end = cps.length;
  if (side !== 'right') while (start < end && set.has(cps[start]!)) start++;
  if (side !== 'left') while (end > start && set.has(cps[end - 1]!)) end--;
  return cps.slice(start, end).join('');
}

/** `s.split()` (no argument): runs of whitespace separate, no empty strings. */
export function pySplitWhitespace(s: string): string[] {
  const stripped = pyStrip(s);
  return stripped === '' ? [] : stripped.split(WS_RUN);
}

const HAS_LOWER_OR_TITLE = /[\p{Lowercase}\p{Lt}]/u;
const HAS_UPPER_OR_TITLE = /[\p{Uppercase}\p{Lt}]/u;
const HAS_UPPER = /\p{Uppercase}/u;
const HAS_LOWER = /\p{Lowercase}/u;

/** `s.isupper()`: at least one cased character, and none lower- or title-case. */
export function pyIsUpper(s: string): boolean {
  return HAS_UPPER.test(s) && !HAS_LOWER_OR_TITLE.test(s);
}

/** `s.islower()`: at least one cased character, and none upper- or title-case. */
export function pyIsLower(s: string): boolean {
  return HAS_LOWER.test(s) && !HAS_UPPER_OR_TITLE.test(s);
}

/** Python's `s.lower()` (full case mapping, as JavaScript's toLowerCase except for a few locale-free details). */
export function pyLower(s: string): string {
  return s.toLowerCase();
}

const SYNTAX = '^$\\.*+?()[]{}|/';
const W = `[${PY_WORD_CLASS}]`;
/** `\b` of a Python str pattern: a boundary between a Unicode word character and anything else. */
const PY_BOUNDARY = `(?:(?<=${W})(?!${W})|(?<!${W})(?=${W}))`;
const PY_NON_BOUNDARY = `(?:(?<=${W})(?=${W})|(?<!${W})(?!${W}))`;

/**
 * A Python regular expression (as the reference passes data-set strings to `re`) as a JavaScript one
 * with the `u` flag: `\b \B \w \W \d \D \s \S` and `.` get Python's Unicode meaning. Unusual syntax
 * that has no JavaScript form makes the pattern a literal string instead (what it almost always is).
 */
export function pyRegex(pattern: string, flags = ''): RegExp {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) {
      const n = pattern[++i]!;
      if (n === 'b') out += inClass ? '\\x08' : PY_BOUNDARY;
      else if (n === 'B' && !inClass) out += PY_NON_BOUNDARY;
      else if (n === 'w') out += inClass ? PY_WORD_CLASS : W;
      else if (n === 'W') out += inClass ? '\\W' : `[^${PY_WORD_CLASS}]`;
      else if (n === 'd') out += '\\p{Nd}';
      else if (n === 'D') out += '\\P{Nd}';
      else if (n === 's') out += inClass ? PY_WS_CLASS : `[${PY_WS_CLASS}]`;
      else if (n === 'S') out += inClass ? '\\S' : `[^${PY_WS_CLASS}]`;
      else if (/[A-Za-z0-9]/.test(n) || SYNTAX.includes(n) || (inClass && n === '-')) out += `\\${n}`;
      else out += n; // an escaped punctuation mark is itself (the `u` flag refuses needless escapes)
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (pattern[i + 1] === '^') out += pattern[++i];
      if (pattern[i + 1] === ']') out += `\\${pattern[++i]}`;
      continue;
    }
    out += c === '.' ? '[^\\n]' : c;
  }
  try {
    return new RegExp(out, `${flags}u`);
  } catch {
    return new RegExp(escapeRegex(pattern), `${flags}u`);
  }
}

export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** Number of non-overlapping matches (Python's `len(re.findall(...))`). */
export function countMatches(re: RegExp, s: string): number {
  const g = re.global ? re : new RegExp(re.source, `${re.flags}g`);
  let n = 0;
  for (const _ of s.matchAll(g)) n++;
  return n;
}

const WORD_RUN = new RegExp(`${W}+`, 'gu');

/** Words as nltk's `RegexpTokenizer(r"\w+")` finds them (runs of Unicode word characters). */
export function countWords(s: string): number {
  return countMatches(WORD_RUN, s);
}
