/** Answer extraction helpers shared by the built-in benchmarks. */

const NUMBER_PATTERN = /-?\$?\d[\d,]*(?:\.\d+)?|-?\.\d+/g;

/** Normalise a numeric answer: drop `,`, `$`, spaces, a trailing `.`, and trailing zeros after the decimal point. */
export function normaliseNumber(text: string): string {
  let s = text.trim().replace(/[,$\s]/g, '');
  s = s.replace(/\.$/, '');
  if (/^-?\d*\.\d+$/.test(s)) s = s.replace(/0+$/, '').replace(/\.$/, '');
  if (s.startsWith('.')) s = '0' + s;
  if (s.startsWith('-.')) s = '-0' + s.slice(1);
  if (s === '-0') s = '0';
  return s;
}

/** True when two answers are the same number (or the same normalised text when not numbers). */
export function numbersEqual(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return false;
  const na = normaliseNumber(a);
  const nb = normaliseNumber(b);
  if (na === nb) return true;
  const fa = Number(na);
  const fb = Number(nb);
  return na !== '' && nb !== '' && Number.isFinite(fa) && Number.isFinite(fb) && fa === fb;
}

/** The last number-like token in a text, normalised; null when there is none. */
export function extractLastNumber(text: string): string | null {
  const matches = text.match(NUMBER_PATTERN);
  if (!matches || matches.length === 0) return null;
  return normaliseNumber(matches[matches.length - 1]);
}

/** The number after the LAST occurrence of a marker regex (which must end where the number starts). */
export function extractNumberAfterMarker(text: string, marker: RegExp): string | null {
  const flags = marker.flags.includes('g') ? marker.flags : marker.flags + 'g';
  const re = new RegExp(
    marker.source + String.raw`[ \t]*[:=]?[ \t]*\**[ \t]*(-?\$?[ \t]?\d[\d,]*(?:\.\d+)?|-?\.\d+)`,
    flags,
  );
  let last: string | null = null;
  for (const m of text.matchAll(re)) last = m[1];
  return last === null ? null : normaliseNumber(last);
}

/** GSM8K gold answer: the number after `####`. */
export function gsm8kGoldAnswer(answer: string): string {
  const idx = answer.lastIndexOf('####');
  return normaliseNumber(idx >= 0 ? answer.slice(idx + 4) : answer);
}

/** simple-evals multiple-choice extraction: first `Answer: X` (case-insensitive), X in the allowed letters. */
export function extractAnswerLetter(text: string, letters = 'ABCDEFGHIJ'): string | null {
  const re = /Answer[ \t]*:[ \t]*\$?([A-J])\$?/gi;
  for (const m of text.matchAll(re)) {
    const letter = m[1].toUpperCase();
    if (letters.includes(letter)) return letter;
  }
  return null;
}

/** The first fenced code block (preferring ```python), else the whole text. */
export function extractCodeBlock(text: string): string {
  const python = /```(?:python|py|python3)[ \t]*\r?\n([\s\S]*?)```/i.exec(text);
  if (python) return python[1];
  const any = /```[^\n`]*\r?\n([\s\S]*?)```/.exec(text);
  if (any) return any[1];
  return text;
}

/** The letters A.. for n options. */
export function optionLetters(n: number): string {
  return 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.slice(0, n);
}
