/**
 * Sentences and words as IFEval's reference counts them with NLTK: the Punkt sentence tokenizer
 * (`nltk.data.load("tokenizers/punkt/english.pickle")`, `sent_tokenize`) and `nltk.word_tokenize`
 * (Punkt, then NLTK's improved Treebank word tokenizer on each sentence).
 *
 * The Punkt decision procedure below follows NLTK's (tokens, first pass, second pass with the
 * collocation, orthographic, initial and number heuristics, boundary realignment). What cannot be
 * reproduced is the English model's learned parameters (its abbreviation list, collocations and the
 * orthographic statistics of each word, learnt from a news corpus); ENGLISH_PUNKT stands in for them:
 * a list of common English abbreviations, and for the orthographic context, frequent English words
 * counted as "seen lower-case inside sentences and capitalised at their start".
 */
import { PY_WS_CLASS, pyIsLower, pyIsUpper, pyLower, pySplitWhitespace } from './pytext.js';

/** Punkt's learned parameters (nltk PunktParameters). */
export interface PunktParams {
  /** Lower-cased abbreviation types without their final period (`dr`, `u.s`, `e.g`). */
  abbrevTypes: ReadonlySet<string>;
  /** Pairs `type1 type2` (space-separated) that never have a sentence break between them. */
  collocations: ReadonlySet<string>;
  /** Frequent sentence starters (lower-cased types). */
  sentStarters: ReadonlySet<string>;
  /** Orthographic context bit flags of a type (0 when never seen). */
  orthoContext(type: string): number;
}

export const ORTHO_BEG_UC = 1 << 1;
export const ORTHO_MID_UC = 1 << 2;
export const ORTHO_UNK_UC = 1 << 3;
export const ORTHO_BEG_LC = 1 << 4;
export const ORTHO_MID_LC = 1 << 5;
export const ORTHO_UNK_LC = 1 << 6;
const ORTHO_UC = ORTHO_BEG_UC | ORTHO_MID_UC | ORTHO_UNK_UC;
const ORTHO_LC = ORTHO_BEG_LC | ORTHO_MID_LC | ORTHO_UNK_LC;

/** Lower-cased, without the final period. */
const ABBREVIATIONS = // titles and name parts
  (
    'mr mrs ms dr prof sr jr st rev hon messrs mme mlle gen col lt maj capt cmdr sgt cpl adm gov sen rep ' +
    'pres supt ' +
    // companies, addresses, numbers
    'inc ltd co corp bros assn dept univ ave blvd rd mt ft no nos ' +
    // months and days
    'jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun ' +
    // places
    'u.s u.k u.n u.s.a e.u n.y n.j d.c l.a calif fla mass conn ill ariz colo mich minn tenn tex okla ore ' +
    'wash wis penn va pa ga ' +
    // Latin, references, units of time, degrees
    'e.g i.e etc vs cf al approx viz ca fig figs vol vols pp p ch sec ed eds est a.m p.m ph.d m.d b.a m.a ' +
    'b.s m.s'
  ).split(' ');

/** Frequent English words: capitalised, they start a sentence; lower-case, they continue one. */
const COMMON_WORDS = (
  'a about above after again against all also although always an and another any are as at be because ' +
  'been before being below between both but by can could did do does doing down during each either ' +
  'even every few finally first for from further furthermore had has have having he her here hers his ' +
  'how however if in instead into is it its just last let like many may meanwhile might more moreover ' +
  'most much must my neither never next no nor not now of on once one only or other our out over overall ' +
  'perhaps please rather second she should since so some still such than that the their them then there ' +
  'therefore these they third this those though through thus to today too two under unless until up ' +
  'very was we were what when where whether which while who whom whose why will with within without ' +
  'would yes yet you your additionally consequently similarly ultimately imagine remember think'
).split(' ');

const COMMON_SET = new Set(COMMON_WORDS);

/** Stand-in for Punkt's English model (see the file comment). */
export const ENGLISH_PUNKT: PunktParams = {
  abbrevTypes: new Set(ABBREVIATIONS),
  collocations: new Set(),
  sentStarters: new Set(),
  orthoContext: (type) => (COMMON_SET.has(type) ? ORTHO_BEG_UC | ORTHO_MID_LC : 0),
};

// ---- Punkt word tokens (PunktLanguageVars) ----

const WS = `[${PY_WS_CLASS}]`;
const NON_WS = `[^${PY_WS_CLASS}]`;
const NON_WORD = `(?:[)";}\\]*:@'({\\[!?])`;
const MULTI_CHAR = `(?:-{2,}|\\.{2,}|(?:\\.${WS}){2,}\\.)`;
const WORD_START = `[^("\`{\\[:;&#*@)}\\]\\-,]`;
const PUNKT_WORD = new RegExp(
  `${MULTI_CHAR}|(?=${WORD_START})${NON_WS}+?(?=${WS}|$|${NON_WORD}|${MULTI_CHAR}|,(?=$|${WS}|${NON_WORD}|${MULTI_CHAR}))|${NON_WS}`,
  'gu',
);
const PERIOD_CONTEXT = new RegExp(`[.?!](?=(?<after>${NON_WORD}|${WS}+(?<next>${NON_WS}+)))`, 'gdu');
const NUMERIC = /^-?[.,]?\p{Nd}[\p{Nd},.-]*\.?$/u;
const INITIAL = /^[\p{L}\p{Nl}\p{No}_]\.$/u; // Python's [^\W\d] and a period
const ELLIPSIS = /^\.\.+$/;
const REALIGN = new RegExp(`^["')\\]}]+?(?:${WS}+|(?=--)|(?=\\n)|$)`, 'u');
const TRAILING_WS = new RegExp(`${WS}+$`, 'u');

interface Token {
  tok: string;
  type: string;
  periodFinal: boolean;
  sentbreak: boolean;
  abbr: boolean;
  ellipsis: boolean;
}

function makeToken(tok: string): Token {
  const lower = pyLower(tok);
  return {
    tok,
    type: NUMERIC.test(lower) ? '##number##' : lower,
    periodFinal: tok.endsWith('.'),
    sentbreak: false,
    abbr: false,
    ellipsis: false,
  };
}

const typeNoPeriod = (t: Token): string =>
  t.type.length > 1 && t.type.endsWith('.') ? t.type.slice(0, -1) : t.type;
const typeNoSentPeriod = (t: Token): string => (t.sentbreak ? typeNoPeriod(t) : t.type);
const firstChar = (t: Token): string => String.fromCodePoint(t.tok.codePointAt(0)!);
const firstUpper = (t: Token): boolean => pyIsUpper(firstChar(t));
const firstLower = (t: Token): boolean => pyIsLower(firstChar(t));

/** Punkt's word tokens of a text, line by line (blank lines only mark paragraph starts). */
function punktWords(text: string): Token[] {
  const tokens: Token[] = [];
  for (const line of text.split('\n')) {
    if (pySplitWhitespace(line).length === 0) continue;
    for (const m of line.matchAll(PUNKT_WORD)) tokens.push(makeToken(m[0]));
  }
  return tokens;
}

function firstPass(t: Token, params: PunktParams): void {
  if (t.tok === '.' || t.tok === '?' || t.tok === '!') t.sentbreak = true;
  else if (ELLIPSIS.test(t.tok)) t.ellipsis = true;
  else if (t.periodFinal && !t.tok.endsWith('..')) {
    const stem = pyLower(t.tok.slice(0, -1));
    if (params.abbrevTypes.has(stem) || params.abbrevTypes.has(stem.split('-').pop()!)) t.abbr = true;
    else t.sentbreak = true;
  }
}

/** Punkt's orthographic heuristic: does `t` start a sentence (true), not (false), or unknown? */
function orthoHeuristic(t: Token, params: PunktParams): boolean | 'unknown' {
  if (';:,.!?'.includes(t.tok) && t.tok.length === 1) return false;
  const ctx = params.orthoContext(typeNoSentPeriod(t));
  if (firstUpper(t) && ctx & ORTHO_LC && !(ctx & ORTHO_MID_UC)) return true;
  if (firstLower(t) && (ctx & ORTHO_UC || !(ctx & ORTHO_BEG_LC))) return false;
  return 'unknown';
}

function secondPass(t1: Token, t2: Token | undefined, params: PunktParams): void {
  if (!t2 || !t1.periodFinal) return;
  const typ = typeNoPeriod(t1);
  const nextTyp = typeNoSentPeriod(t2);
  const isInitial = INITIAL.test(t1.tok);
  if (params.collocations.has(`${typ} ${nextTyp}`)) {
    t1.sentbreak = false;
    t1.abbr = true;
    return;
  }
  if ((t1.abbr || t1.ellipsis) && !isInitial) {
    if (orthoHeuristic(t2, params) === true) {
      t1.sentbreak = true;
      return;
    }
    if (firstUpper(t2) && params.sentStarters.has(nextTyp)) {
      t1.sentbreak = true;
      return;
    }
  }
  if (isInitial || typ === '##number##') {
    const starter = orthoHeuristic(t2, params);
    if (starter === false) {
      t1.sentbreak = false;
      t1.abbr = true;
      return;
    }
    if (starter === 'unknown' && isInitial && firstUpper(t2) && !(params.orthoContext(nextTyp) & ORTHO_LC)) {
      t1.sentbreak = false;
      t1.abbr = true;
    }
  }
}

/** Whether Punkt finds a sentence break inside `context` (before its last token). */
function containsSentBreak(context: string, params: PunktParams): boolean {
  const tokens = punktWords(context);
  for (const t of tokens) firstPass(t, params);
  for (let i = 0; i < tokens.length; i++) {
    secondPass(tokens[i]!, tokens[i + 1], params);
    if (tokens[i]!.sentbreak && i + 1 < tokens.length) return true;
  }
  return false;
}

/** Index just after the last ASCII whitespace of `s` (Python's string.whitespace), or 0. */
function lastWhitespace(s: string): number {
  for (let i = s.length - 1; i >= 0; i--) if (' \t\n\r\x0b\x0c'.includes(s[i]!)) return i;
  return 0;
}

/** [start, end) of each sentence, as PunktSentenceTokenizer.span_tokenize gives them. */
export function sentenceSpans(text: string, params: PunktParams = ENGLISH_PUNKT): [number, number][] {
  // Potential ends with the text from the previous word to the next token (_match_potential_end_contexts).
  const contexts: { end: number; nextStart: number | null; context: string }[] = [];
  let prevSlice: [number, number] = [0, 0];
  let prev: RegExpExecArray | null = null;
  const emit = (m: RegExpExecArray, slice: [number, number]) => {
    const after = m.groups!.after!;
    contexts.push({
      end: m.index + 1,
      nextStart: m.groups!.next !== undefined ? m.indices!.groups!.next![0] : null,
      context: text.slice(slice[0], slice[1]) + m[0] + after,
    });
  };
  for (const m of text.matchAll(PERIOD_CONTEXT)) {
    const before = text.slice(prevSlice[1], m.index);
    let start = lastWhitespace(before);
    start = start ? start + prevSlice[1] + 1 : prevSlice[0];
    const wordSlice: [number, number] = [start, m.index];
    if (prev && prevSlice[1] <= wordSlice[0]) emit(prev, prevSlice);
    prev = m;
    prevSlice = wordSlice;
  }
  if (prev) emit(prev, prevSlice);

  const slices: [number, number][] = [];
  let lastBreak = 0;
  for (const c of contexts) {
    if (!containsSentBreak(c.context, params)) continue;
    slices.push([lastBreak, c.end]);
    lastBreak = c.nextStart ?? c.end;
  }
  slices.push([lastBreak, text.replace(TRAILING_WS, '').length]);

  // _realign_boundaries: closing quotes and brackets after a break belong to the sentence before.
  const out: [number, number][] = [];
  let realign = 0;
  for (let i = 0; i < slices.length; i++) {
    const s1: [number, number] = [slices[i]![0] + realign, slices[i]![1]];
    const s2 = slices[i + 1];
    if (!s2) {
      if (s1[1] > s1[0]) out.push(s1);
      continue;
    }
    const m = REALIGN.exec(text.slice(s2[0], s2[1]));
    if (m) {
      out.push([s1[0], s2[0] + m[0].replace(TRAILING_WS, '').length]);
      realign = m[0].length;
    } else {
      realign = 0;
      if (s1[1] > s1[0]) out.push(s1);
    }
  }
  return out;
}

export function splitSentences(text: string, params: PunktParams = ENGLISH_PUNKT): string[] {
  return sentenceSpans(text, params).map(([a, b]) => text.slice(a, b));
}

/** `instructions_util.count_sentences`: the number of Punkt sentences. */
export function countSentences(text: string, params: PunktParams = ENGLISH_PUNKT): number {
  return sentenceSpans(text, params).length;
}

// ---- NLTK's improved Treebank word tokenizer (nltk.tokenize.destructive.NLTKWordTokenizer) ----

type Rule = [RegExp, string];
const r = (source: string, flags = ''): RegExp => new RegExp(source, `g${flags}u`);
const PW = '[\\p{L}\\p{N}_]';
const PB = `(?:(?<=${PW})(?!${PW})|(?<!${PW})(?=${PW}))`;

const STARTING_QUOTES: Rule[] = [
  [r('([«“‘„]|[`]+)'), ' $1 '],
  [r('^"'), '``'],
  [r('(``)'), ' $1 '],
  [r('([ ([{<])("|\'{2})'), '$1 `` '],
  [r(`(')(?!re|ve|ll|m|t|s|d|n)(${PW})${PB}`, 'i'), '$1 $2'],
];
const PUNCTUATION: Rule[] = [
  [r(`([^.])(\\.)([\\])}>"'»”’ ]*)${WS}*$`), '$1 $2 $3 '],
  [r('([:,])([^\\p{Nd}])'), ' $1 $2'],
  [r('([:,])$'), ' $1 '],
  [r('\\.{2,}'), ' $& '],
  [r('[;@#$%&]'), ' $& '],
  [r(`([^.])(\\.)([\\])}>"']*)${WS}*$`), '$1 $2$3 '],
  [r('[?!]'), ' $& '],
  [r("([^'])' "), "$1 ' "],
  [r('[*]'), ' $& '],
];
const PARENS: Rule = [r('[\\][(){}<>]'), ' $& '];
const DOUBLE_DASHES: Rule = [r('--'), ' -- '];
const ENDING_QUOTES: Rule[] = [
  [r('([»”’])'), ' $1 '],
  [r("''"), " '' "],
  [r('"'), " '' "],
  [r("([^' ])('[sS]|'[mM]|'[dD]|') "), '$1 $2 '],
  [r("([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) "), '$1 $2 '],
];
const CONTRACTIONS: RegExp[] = [
  r(`${PB}(can)(not)${PB}`, 'i'),
  r(`${PB}(d)('ye)${PB}`, 'i'),
  r(`${PB}(gim)(me)${PB}`, 'i'),
  r(`${PB}(gon)(na)${PB}`, 'i'),
  r(`${PB}(got)(ta)${PB}`, 'i'),
  r(`${PB}(lem)(me)${PB}`, 'i'),
  r(`${PB}(more)('n)${PB}`, 'i'),
  r(`${PB}(wan)(na)(?=${WS})`, 'i'),
  r(` ('t)(is)${PB}`, 'i'),
  r(` ('t)(was)${PB}`, 'i'),
];

/** NLTKWordTokenizer.tokenize on one sentence. */
export function treebankTokenize(sentence: string): string[] {
  let text = sentence;
  const apply = (rules: Rule[]) => {
    for (const [re, sub] of rules) text = text.replace(re, sub);
  };
  apply(STARTING_QUOTES);
  apply(PUNCTUATION);
  apply([PARENS, DOUBLE_DASHES]);
  text = ` ${text} `;
  apply(ENDING_QUOTES);
  for (const re of CONTRACTIONS) text = text.replace(re, ' $1 $2 ');
  return pySplitWhitespace(text);
}

/** `nltk.word_tokenize(text)`: Punkt sentences, then Treebank words of each. */
export function wordTokenize(text: string, params: PunktParams = ENGLISH_PUNKT): string[] {
  return splitSentences(text, params).flatMap(treebankTokenize);
}
