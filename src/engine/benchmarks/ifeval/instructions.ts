/**
 * IFEval's 25 verifiable instructions (google-research `instruction_following_eval/instructions.py`, as
 * lm-evaluation-harness's `ifeval` task runs it): each instruction id with its keyword arguments becomes
 * a checker of a response, and a prompt's instructions are checked strictly (the response as it is) and
 * loosely (also with its first and/or last line dropped and/or `*` removed).
 */
import { NelError } from '../../../common/errors.js';
import { countSentences, wordTokenize } from './sentences.js';
import {
  PY_WS_CLASS,
  countMatches,
  countWords,
  pyIsLower,
  pyIsUpper,
  pyLower,
  pyRegex,
  pySplitWhitespace,
  pyStrip,
  pyStripChars,
} from './pytext.js';

/** What a checker may need besides the response: language identification (langdetect). */
export interface CheckEnv {
  /** `langdetect.detect(text)`, or null where langdetect finds no features (the reference then passes). */
  detectLanguage(text: string): string | null;
}

export type Checker = (response: string, env: CheckEnv) => boolean;

type Kwargs = Record<string, unknown>;
const RELATIONS = ['less than', 'at least'] as const;
type Relation = (typeof RELATIONS)[number];

function kwargsError(id: string, where: string, message: string): NelError {
  return new NelError('ENGINE_DATASET', `ifeval: ${where}: instruction ${id}: ${message}`, {
    hint: 'the data set must use the IFEval record layout: {key, prompt, instruction_id_list, kwargs} with one kwargs object per instruction',
  });
}

/** Readers of one instruction's keyword arguments: missing or mistyped ones are data errors. */
function args(id: string, kwargs: Kwargs, where: string) {
  const fail = (m: string) => kwargsError(id, where, m);
  return {
    fail,
    int(name: string): number {
      const v = kwargs[name];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
        throw fail(`"${name}" must be a non-negative number (got ${JSON.stringify(v ?? null)})`);
      return v;
    },
    str(name: string): string {
      const v = kwargs[name];
      if (typeof v !== 'string' || v === '')
        throw fail(`"${name}" must be a non-empty string (got ${JSON.stringify(v ?? null)})`);
      return v;
    },
    list(name: string): string[] {
      const v = kwargs[name];
      if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string'))
        throw fail(`"${name}" must be a non-empty list of strings (got ${JSON.stringify(v ?? null)})`);
      return v as string[];
    },
    relation(name: string): Relation {
      const v = kwargs[name];
      if (!RELATIONS.includes(v as Relation))
        throw fail(`"${name}" must be "less than" or "at least" (got ${JSON.stringify(v ?? null)})`);
      return v as Relation;
    },
  };
}

const compare = (actual: number, relation: Relation, threshold: number): boolean =>
  relation === 'less than' ? actual < threshold : actual >= threshold;

/** Occurrences of one character in `text` (Python's `collections.Counter(text)[ch]`). */
function countChar(text: string, ch: string): number {
  if (Array.from(ch).length !== 1) return text.split(ch).length - 1;
  let n = 0;
  for (const c of text) if (c === ch) n++;
  return n;
}

const CONSTRAINED_OPTIONS = ['My answer is yes.', 'My answer is no.', 'My answer is maybe.'];
// `^\s*\*[^\*].*$` and `^\s*-.*$` with re.MULTILINE: `^` after "\n" only, `.` anything but "\n".
const BULLET_STAR = new RegExp(`(?<=^|\\n)[${PY_WS_CLASS}]*\\*[^*][^\\n]*(?=\\n|$)`, 'gu');
const BULLET_DASH = new RegExp(`(?<=^|\\n)[${PY_WS_CLASS}]*-[^\\n]*(?=\\n|$)`, 'gu');
const HIGHLIGHT = /\*[^\n*]*\*/g;
const DOUBLE_HIGHLIGHT = /\*\*[^\n*]*\*\*/g;
const PARAGRAPH_DIVIDER = pyRegex('\\s?\\*\\*\\*\\s?');
const TITLE = /<<[^\n]+>>/g;
const P_P_S = pyRegex('p\\.\\s?p\\.\\s?s');
const P_S = pyRegex('p\\.\\s?s\\.');

/** Python's json.loads: JSON, plus the NaN and (-)Infinity literals it also accepts. */
function isPythonJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    const replaced = text.replace(/"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g, (m) => (m.startsWith('"') ? m : '0'));
    if (replaced === text) return false;
    try {
      JSON.parse(replaced);
      return true;
    } catch {
      return false;
    }
  }
}

function removePrefix(s: string, p: string): string {
  return s.startsWith(p) ? s.slice(p.length) : s;
}

type Builder = (a: ReturnType<typeof args>, kwargs: Kwargs) => Checker;

/** Instruction id -> a builder of its checker from the keyword arguments. */
const BUILDERS: Record<string, Builder> = {
  'keywords:existence': (a) => {
    const patterns = a.list('keywords').map((k) => pyRegex(k, 'i'));
    return (value) => patterns.every((re) => re.test(value));
  },
  'keywords:frequency': (a) => {
    const re = pyRegex(pyStrip(a.str('keyword')), 'gi');
    const frequency = a.int('frequency');
    const relation = a.relation('relation');
    return (value) => compare(countMatches(re, value), relation, frequency);
  },
  'keywords:forbidden_words': (a) => {
    const patterns = a.list('forbidden_words').map((w) => pyRegex(`\\b${w}\\b`, 'i'));
    return (value) => !patterns.some((re) => re.test(value));
  },
  'keywords:letter_frequency': (a) => {
    const given = a.str('letter');
    // A single ASCII letter as the reference takes it; any other character is counted as it is (the
    // reference would count a random letter instead; its published verdicts count the character).
    const valid = Array.from(given).length === 1 && /^[a-z]$/.test(pyLower(given));
    const letter = pyLower(valid ? pyStrip(given) : given);
    const frequency = a.int('let_frequency');
    const relation = a.relation('let_relation');
    return (value) => compare(countChar(pyLower(value), letter), relation, frequency);
  },
  'language:response_language': (a) => {
    const language = a.str('language');
    return (value, env) => {
      const found = env.detectLanguage(value);
      return found === null || found === language;
    };
  },
  'length_constraints:number_sentences': (a) => {
    const threshold = a.int('num_sentences');
    const relation = a.relation('relation');
    return (value) => compare(countSentences(value), relation, threshold);
  },
  'length_constraints:number_paragraphs': (a) => {
    const expected = a.int('num_paragraphs');
    return (value) => {
      const paragraphs = value.split(PARAGRAPH_DIVIDER);
      let count = paragraphs.length;
      for (const [i, p] of paragraphs.entries()) {
        if (pyStrip(p) !== '') continue;
        if (i === 0 || i === paragraphs.length - 1) count--;
        else return false;
      }
      return count === expected;
    };
  },
  'length_constraints:number_words': (a) => {
    const threshold = a.int('num_words');
    const relation = a.relation('relation');
    return (value) => compare(countWords(value), relation, threshold);
  },
  'length_constraints:nth_paragraph_first_word': (a, kwargs) => {
    const expected = a.int('num_paragraphs');
    const nth = a.int('nth_paragraph');
    if (nth <= 0 || nth > expected)
      throw a.fail(
        `"nth_paragraph" must be between 1 and num_paragraphs (got ${JSON.stringify(kwargs.nth_paragraph)})`,
      );
    const firstWord = pyLower(a.str('first_word'));
    return (value) => {
      const paragraphs = value.split('\n\n');
      let count = paragraphs.length;
      for (const p of paragraphs) if (pyStrip(p) === '') count--;
      if (nth > count) return false;
      const paragraph = pyStrip(paragraphs[nth - 1]!);
      if (paragraph === '') return false;
      let word = pyStrip(pySplitWhitespace(paragraph)[0]!);
      word = pyStripChars(pyStripChars(word, "'", 'left'), '"', 'left');
      let first = '';
      for (const ch of word) {
        if ('.,?!\'"'.includes(ch)) break;
        first += pyLower(ch);
      }
      return count === expected && first === firstWord;
    };
  },
  'detectable_content:number_placeholders': (a) => {
    const expected = a.int('num_placeholders');
    return (value) => countMatches(/\[[^\n]*?\]/g, value) >= expected;
  },
  'detectable_content:postscript': (a) => {
    const marker = pyStrip(a.str('postscript_marker'));
    const re = marker === 'P.P.S' ? P_P_S : marker === 'P.S.' ? P_S : pyRegex(pyLower(marker));
    return (value) => re.test(pyLower(value));
  },
  'detectable_format:number_bullet_lists': (a) => {
    const expected = a.int('num_bullets');
    return (value) => countMatches(BULLET_STAR, value) + countMatches(BULLET_DASH, value) === expected;
  },
  'detectable_format:constrained_response': () => (value) => {
    const v = pyStrip(value);
    return CONSTRAINED_OPTIONS.some((o) => v.includes(o));
  },
  'detectable_format:number_highlighted_sections': (a) => {
    const expected = a.int('num_highlights');
    return (value) => {
      let n = 0;
      for (const m of value.matchAll(HIGHLIGHT)) if (pyStrip(pyStripChars(m[0], '*')) !== '') n++;
      for (const m of value.matchAll(DOUBLE_HIGHLIGHT)) if (pyStrip(m[0].slice(2, -2)) !== '') n++;
      return n >= expected;
    };
  },
  'detectable_format:multiple_sections': (a) => {
    const splitter = pyStrip(a.str('section_spliter'));
    const re = pyRegex(`\\s?${splitter}\\s?\\d+\\s?`, 'g');
    const expected = a.int('num_sections');
    return (value) => countMatches(re, value) >= expected;
  },
  'detectable_format:json_format': () => (value) => {
    let v = pyStrip(value);
    for (const p of ['```json', '```Json', '```JSON', '```']) v = removePrefix(v, p);
    if (v.endsWith('```')) v = v.slice(0, -3);
    return isPythonJson(pyStrip(v));
  },
  'detectable_format:title': () => (value) => {
    for (const m of value.matchAll(TITLE)) {
      const inner = pyStripChars(pyStripChars(m[0], '<', 'left'), '>', 'right');
      if (pyStrip(inner) !== '') return true;
    }
    return false;
  },
  'combination:two_responses': () => (value) => {
    const parts = value.split('******');
    const valid: string[] = [];
    for (const [i, p] of parts.entries()) {
      if (pyStrip(p) === '') {
        if (i !== 0 && i !== parts.length - 1) return false;
      } else valid.push(p);
    }
    return valid.length === 2 && pyStrip(valid[0]!) !== pyStrip(valid[1]!);
  },
  'combination:repeat_prompt': (a) => {
    const prompt = pyLower(pyStrip(a.str('prompt_to_repeat')));
    return (value) => pyLower(pyStrip(value)).startsWith(prompt);
  },
  'startend:end_checker': (a) => {
    const phrase = pyLower(pyStrip(a.str('end_phrase')));
    return (value) => pyLower(pyStripChars(pyStrip(value), '"')).endsWith(phrase);
  },
  'change_case:capital_word_frequency': (a) => {
    const frequency = a.int('capital_frequency');
    const relation = a.relation('capital_relation');
    return (value) => compare(wordTokenize(value).filter(pyIsUpper).length, relation, frequency);
  },
  'change_case:english_capital': () => (value, env) => {
    if (!pyIsUpper(value)) return false;
    const found = env.detectLanguage(value);
    return found === null || found === 'en';
  },
  'change_case:english_lowercase': () => (value, env) => {
    if (!pyIsLower(value)) return false;
    const found = env.detectLanguage(value);
    return found === null || found === 'en';
  },
  'punctuation:no_comma': () => (value) => !value.includes(','),
  'startend:quotation': () => (value) => {
    const v = pyStrip(value);
    return v.length > 1 && v.startsWith('"') && v.endsWith('"');
  },
};

/** The instruction ids IFEval defines (25). */
export const INSTRUCTION_IDS: readonly string[] = Object.keys(BUILDERS);

/** Instructions whose check calls langdetect. */
export const LANGUAGE_INSTRUCTIONS: ReadonlySet<string> = new Set([
  'language:response_language',
  'change_case:english_capital',
  'change_case:english_lowercase',
]);

/**
 * The checker of one instruction. Null keyword arguments (the hub data set has every key, null where
 * unused) are dropped as the reference does; a missing or malformed one is a data error here, where the
 * reference would draw a random value.
 */
export function buildChecker(id: string, kwargs: unknown, where: string): Checker {
  const builder = BUILDERS[id];
  if (!builder) {
    throw new NelError('ENGINE_DATASET', `ifeval: ${where}: unknown instruction id "${id}"`, {
      hint: `IFEval's instruction ids are: ${INSTRUCTION_IDS.join(', ')}`,
    });
  }
  if (kwargs !== undefined && kwargs !== null && (typeof kwargs !== 'object' || Array.isArray(kwargs)))
    throw kwargsError(id, where, 'kwargs must be an object');
  const given: Kwargs = {};
  for (const [k, v] of Object.entries((kwargs ?? {}) as Kwargs))
    if (v !== null && v !== undefined) given[k] = v;
  return builder(args(id, given, where), given);
}

/** The responses the loose check tries: as given, without its first/last/both lines, each also without `*`. */
export function looseVariants(response: string): string[] {
  const lines = response.split('\n');
  const noFirst = pyStrip(lines.slice(1).join('\n'));
  const noLast = pyStrip(lines.slice(0, -1).join('\n'));
  const noBoth = pyStrip(lines.slice(1, -1).join('\n'));
  const unstar = (s: string) => s.split('*').join('');
  return [
    response,
    unstar(response),
    noFirst,
    noLast,
    noBoth,
    unstar(noFirst),
    unstar(noLast),
    unstar(noBoth),
  ];
}

/** Strict verdicts: each instruction followed by the response as it is (an empty response follows none). */
export function checkStrict(checkers: readonly Checker[], response: string, env: CheckEnv): boolean[] {
  return checkers.map((check) => pyStrip(response) !== '' && check(response, env));
}

/** Loose verdicts: each instruction followed by any of the loose variants of the response. */
export function checkLoose(checkers: readonly Checker[], response: string, env: CheckEnv): boolean[] {
  const variants = looseVariants(response);
  return checkers.map((check) => variants.some((v) => pyStrip(v) !== '' && check(v, env)));
}
