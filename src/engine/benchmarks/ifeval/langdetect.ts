/**
 * Language identification as Python's `langdetect` 1.0.9 does it (the library IFEval's reference checker
 * calls): the same 55 n-gram profiles, text normalisation and naive-Bayes sampling, with Python's own
 * pseudo-random generator (MT19937, `random.choice`, `random.gauss`) seeded like
 * `DetectorFactory.seed = 0`, so a text gets the language Python gets with that seed. (The reference
 * leaves the seed unset, so for the rare texts near a tie its own answer can change from run to run.)
 */
import { inflateSync } from 'node:zlib';

/** Thrown where langdetect raises LangDetectException ("No features in text."). */
export class LangDetectError extends Error {}

// ---- Python's random.Random (MT19937), exported for tests ----

export class PyRandom {
  private readonly mt = new Uint32Array(624);
  private index = 624;
  private gaussNext: number | null = null;

  /** `random.seed(n)` for a non-negative integer below 2**32. */
  seed(n: number): void {
    this.initByArray([n >>> 0]);
    this.gaussNext = null;
  }

  private initGenrand(s: number): void {
    const mt = this.mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < 624; i++) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.index = 624;
  }

  private initByArray(key: number[]): void {
    const mt = this.mt;
    this.initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(624, key.length); k > 0; k--) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = ((mt[i]! ^ Math.imul(prev, 1664525)) + key[j]! + j) >>> 0;
      i++;
      j++;
      if (i >= 624) {
        mt[0] = mt[623]!;
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = 623; k > 0; k--) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = ((mt[i]! ^ Math.imul(prev, 1566083941)) - i) >>> 0;
      i++;
      if (i >= 624) {
        mt[0] = mt[623]!;
        i = 1;
      }
    }
    mt[0] = 0x80000000;
  }

  private uint32(): number {
    const mt = this.mt;
    if (this.index >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (mt[k]! & 0x80000000) | (mt[(k + 1) % 624]! & 0x7fffffff);
        mt[k] = mt[(k + 397) % 624]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.index = 0;
    }
    let y = mt[this.index++]!;
    y ^= y >>> 11;
    y = (y ^ ((y << 7) & 0x9d2c5680)) >>> 0;
    y = (y ^ ((y << 15) & 0xefc60000)) >>> 0;
    return (y ^ (y >>> 18)) >>> 0;
  }

  /** `random.random()` (53-bit float). */
  random(): number {
    const a = this.uint32() >>> 5;
    const b = this.uint32() >>> 6;
    return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
  }

  /** `random.choice(seq)` index: `_randbelow(n)` by rejection on `getrandbits(n.bit_length())`. */
  below(n: number): number {
    const k = 32 - Math.clz32(n);
    let r = this.uint32() >>> (32 - k);
    while (r >= n) r = this.uint32() >>> (32 - k);
    return r;
  }

  /** `random.gauss(0, 1)`. */
  gauss(): number {
    let z = this.gaussNext;
    this.gaussNext = null;
    if (z === null) {
      const x2pi = this.random() * 2 * Math.PI;
      const g2rad = Math.sqrt(-2.0 * Math.log(1.0 - this.random()));
      z = Math.cos(x2pi) * g2rad;
      this.gaussNext = Math.sin(x2pi) * g2rad;
    }
    return z;
  }
}

// ---- character normalisation (langdetect.utils.ngram.NGram) ----

const LATIN1_EXCLUDED = '\u00A0\u00AB\u00B0\u00BB';
const VI_BASE = 'AEIOUYaeiouy\u00c2\u00ca\u00d4\u00e2\u00ea\u00f4\u0102\u0103\u01a0\u01a1\u01af\u01b0';
const VI_MARKS = '\u0300\u0301\u0303\u0309\u0323';
const VI_COMPOSED = [
  '\u00C0\u00C8\u00CC\u00D2\u00D9\u1EF2\u00E0\u00E8\u00EC\u00F2\u00F9\u1EF3\u1EA6\u1EC0\u1ED2\u1EA7\u1EC1\u1ED3\u1EB0\u1EB1\u1EDC\u1EDD\u1EEA\u1EEB',
  '\u00C1\u00C9\u00CD\u00D3\u00DA\u00DD\u00E1\u00E9\u00ED\u00F3\u00FA\u00FD\u1EA4\u1EBE\u1ED0\u1EA5\u1EBF\u1ED1\u1EAE\u1EAF\u1EDA\u1EDB\u1EE8\u1EE9',
  '\u00C3\u1EBC\u0128\u00D5\u0168\u1EF8\u00E3\u1EBD\u0129\u00F5\u0169\u1EF9\u1EAA\u1EC4\u1ED6\u1EAB\u1EC5\u1ED7\u1EB4\u1EB5\u1EE0\u1EE1\u1EEE\u1EEF',
  '\u1EA2\u1EBA\u1EC8\u1ECE\u1EE6\u1EF6\u1EA3\u1EBB\u1EC9\u1ECF\u1EE7\u1EF7\u1EA8\u1EC2\u1ED4\u1EA9\u1EC3\u1ED5\u1EB2\u1EB3\u1EDE\u1EDF\u1EEC\u1EED',
  '\u1EA0\u1EB8\u1ECA\u1ECC\u1EE4\u1EF4\u1EA1\u1EB9\u1ECB\u1ECD\u1EE5\u1EF5\u1EAC\u1EC6\u1ED8\u1EAD\u1EC7\u1ED9\u1EB6\u1EB7\u1EE2\u1EE3\u1EF0\u1EF1',
];
const VI_PAIR = new RegExp(`([${VI_BASE}])([${VI_MARKS}])`, 'gu');
const URL_RE = /https?:\/\/[-_.?&~;+=/#0-9A-Za-z]{1,2076}/g;
const MAIL_RE = /[-_.0-9A-Za-z]{1,64}@[-_0-9A-Za-z]{1,255}[-_.0-9A-Za-z]{1,255}/g;
const UPPER = /^\p{Uppercase}$/u;

function normaliseVietnamese(text: string): string {
  return text.replace(VI_PAIR, (_m, base: string, mark: string) => {
    const row = Array.from(VI_COMPOSED[VI_MARKS.indexOf(mark)]!);
    return row[Array.from(VI_BASE).indexOf(base)]!;
  });
}

function normaliseChar(ch: string, cjk: Map<string, string>): string {
  const cp = ch.codePointAt(0)!;
  if (cp <= 0x7f) {
    return ch < 'A' || (ch > 'Z' && ch < 'a') || ch > 'z' ? ' ' : ch;
  }
  if (cp <= 0xff) return LATIN1_EXCLUDED.includes(ch) ? ' ' : ch;
  if (cp >= 0x0180 && cp <= 0x024f) {
    if (ch === '\u0219') return '\u015f'; // Romanian s with comma -> with cedilla
    if (ch === '\u021b') return '\u0163'; // t with comma -> with cedilla
    return ch;
  }
  if (cp >= 0x2000 && cp <= 0x206f) return ' '; // General Punctuation
  if (cp >= 0x0600 && cp <= 0x06ff) return ch === '\u06cc' ? '\u064a' : ch; // Farsi yeh -> Arabic yeh
  if (cp >= 0x1e00 && cp <= 0x1eff) return cp >= 0x1ea0 ? '\u1ec3' : ch; // Latin Extended Additional
  if (cp >= 0x3040 && cp <= 0x309f) return '\u3042'; // Hiragana
  if (cp >= 0x30a0 && cp <= 0x30ff) return '\u30a2'; // Katakana
  if ((cp >= 0x3100 && cp <= 0x312f) || (cp >= 0x31a0 && cp <= 0x31bf)) return '\u3105'; // Bopomofo
  if (cp >= 0x4e00 && cp <= 0x9fff) return cjk.get(ch) ?? ch; // CJK Unified Ideographs
  if (cp >= 0xac00 && cp <= 0xd7af) return '\uac00'; // Hangul Syllables
  return ch;
}

// ---- the detector ----

interface Profiles {
  langs: string[];
  /** n-gram -> probability in each language (indexed like `langs`). */
  probs: Map<string, Float64Array>;
  cjk: Map<string, string>;
}

interface RawData {
  cjk: string[];
  profiles: Record<string, { n_words: number[]; freq: Record<string, number> }>;
}

function loadProfiles(deflatedBase64: string): Profiles {
  const raw = JSON.parse(inflateSync(Buffer.from(deflatedBase64, 'base64')).toString('utf8')) as RawData;
  const langs = Object.keys(raw.profiles).sort();
  const probs = new Map<string, Float64Array>();
  langs.forEach((lang, index) => {
    const { n_words, freq } = raw.profiles[lang]!;
    for (const [gram, count] of Object.entries(freq)) {
      const len = Array.from(gram).length;
      if (len < 1 || len > 3) continue;
      let row = probs.get(gram);
      if (!row) probs.set(gram, (row = new Float64Array(langs.length)));
      row[index] = (1.0 * count) / n_words[len - 1]!;
    }
  });
  const cjk = new Map<string, string>();
  for (const cls of raw.cjk) {
    const chars = Array.from(cls);
    for (const ch of chars) cjk.set(ch, chars[0]!);
  }
  return { langs, probs, cjk };
}

const ALPHA = 0.5;
const ALPHA_WIDTH = 0.05;
const TRIALS = 7;
const ITERATION_LIMIT = 1000;
const CONV_THRESHOLD = 0.99999;
const PROB_THRESHOLD = 0.1;
const BASE_FREQ = 10000;
const MAX_TEXT_LENGTH = 10000;

/**
 * A language detector with langdetect's profiles and a seed (0 as `DetectorFactory.seed = 0`). The
 * profiles (about a megabyte) are loaded only here, when a run first needs them.
 */
export async function loadLanguageDetector(seed = 0): Promise<LanguageDetector> {
  const { LANGDETECT_DATA_DEFLATED_BASE64 } = await import('./langdetect-data.js');
  return new LanguageDetector(LANGDETECT_DATA_DEFLATED_BASE64, seed);
}

/** A detector over the profiles (building the tables takes about a second and some 100 MB). */
export class LanguageDetector {
  private readonly profiles: Profiles;

  constructor(
    deflatedProfiles: string,
    private readonly seed = 0,
  ) {
    this.profiles = loadProfiles(deflatedProfiles);
  }

  get languages(): readonly string[] {
    return this.profiles.langs;
  }

  /** `langdetect.detect(text)`: the most probable language code, or 'unknown'; throws LangDetectError. */
  detect(text: string): string {
    const ranked = this.probabilities(text);
    return ranked.length > 0 ? ranked[0]!.lang : 'unknown';
  }

  /** `langdetect.detect_langs(text)`: languages above probability 0.1, most probable first. */
  probabilities(text: string): { lang: string; prob: number }[] {
    const { langs } = this.profiles;
    const ngrams = this.ngrams(this.clean(this.prepare(text)));
    if (ngrams.length === 0) throw new LangDetectError('No features in text.');
    const total = new Float64Array(langs.length);
    const rng = new PyRandom();
    rng.seed(this.seed);
    for (let t = 0; t < TRIALS; t++) {
      const prob = new Float64Array(langs.length).fill(1.0 / langs.length);
      const alpha = ALPHA + rng.gauss() * ALPHA_WIDTH;
      const weight = alpha / BASE_FREQ;
      for (let i = 0; ; i++) {
        const row = this.profiles.probs.get(ngrams[rng.below(ngrams.length)]!)!;
        for (let k = 0; k < prob.length; k++) prob[k]! *= weight + row[k]!;
        if (i % 5 === 0 && (normalise(prob) > CONV_THRESHOLD || i >= ITERATION_LIMIT)) break;
      }
      for (let k = 0; k < total.length; k++) total[k]! += prob[k]! / TRIALS;
    }
    const ranked: { lang: string; prob: number }[] = [];
    total.forEach((p, k) => {
      if (p > PROB_THRESHOLD) ranked.push({ lang: langs[k]!, prob: p });
    });
    // Python's sort is stable; reverse=True keeps equal probabilities in their original order.
    return ranked.sort((a, b) => b.prob - a.prob);
  }

  /** Detector.append: URLs and e-mail addresses out, Vietnamese normalised, runs of spaces collapsed. */
  private prepare(text: string): string[] {
    const t = normaliseVietnamese(text.replace(URL_RE, ' ').replace(MAIL_RE, ' '));
    const chars = Array.from(t).slice(0, MAX_TEXT_LENGTH);
    const out: string[] = [];
    let pre = '';
    for (const ch of chars) {
      if (ch !== ' ' || pre !== ' ') out.push(ch);
      pre = ch;
    }
    return out;
  }

  /** Detector.cleaning_text: a text mostly in another script loses its Latin letters. */
  private clean(chars: string[]): string[] {
    let latin = 0;
    let nonLatin = 0;
    for (const ch of chars) {
      if (ch >= 'A' && ch <= 'z') latin++;
      else if (ch >= '\u0300') {
        const cp = ch.codePointAt(0)!;
        if (!(cp >= 0x1e00 && cp <= 0x1eff)) nonLatin++;
      }
    }
    if (latin * 2 >= nonLatin) return chars;
    return chars.filter((ch) => ch < 'A' || ch > 'z');
  }

  /** Detector._extract_ngrams with NGram.add_char: the 1- to 3-grams that are in some profile. */
  private ngrams(chars: string[]): string[] {
    const { probs, cjk } = this.profiles;
    const result: string[] = [];
    let grams: string[] = [' '];
    let capital = false;
    for (const raw of chars) {
      const ch = normaliseChar(raw, cjk);
      const last = grams[grams.length - 1]!;
      let added = true;
      if (last === ' ') {
        grams = [' '];
        capital = false;
        if (ch === ' ') added = false;
      } else if (grams.length >= 3) {
        grams = grams.slice(1);
      }
      if (added) {
        grams.push(ch);
        if (UPPER.test(ch)) {
          if (UPPER.test(last)) capital = true;
        } else {
          capital = false;
        }
      }
      if (capital) continue;
      for (let n = 1; n <= 3; n++) {
        if (grams.length < n) break;
        const w = grams.slice(grams.length - n).join('');
        if (w !== ' ' && probs.has(w)) result.push(w);
      }
    }
    return result;
  }
}

function normalise(prob: Float64Array): number {
  let sum = 0;
  for (const p of prob) sum += p;
  let max = 0;
  for (let k = 0; k < prob.length; k++) {
    const p = prob[k]! / sum;
    if (max < p) max = p;
    prob[k] = p;
  }
  return max;
}
