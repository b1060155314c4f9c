/**
 * Named, reusable scoring parts: answer extractors (a reply -> the answer text) and scorers (an answer and
 * the gold target -> correct or not). Built-in benchmarks and `custom` refer to them by name; a benchmark
 * may also pass its own function where a name is expected.
 */
import { NelError } from '../../common/errors.js';
import type { EndpointType } from '../types.js';
import {
  extractAnswerLetter,
  extractCodeBlock,
  extractLastNumber,
  extractNumberAfterMarker,
  numbersEqual,
  optionLetters,
} from './extraction.js';

/** What a part may read besides the reply: the sample's options and the run's settings. */
export interface PartContext {
  endpointType: EndpointType;
  /** The benchmark's name (for messages). */
  task?: string;
  /** The sample's options (multiple choice), when it has them. */
  choices?: string[];
  /** 0-based index of the sample (for messages). */
  index: number;
  /** `extra.answer_regex` compiled (the `regex` extractor). */
  answerRegex?: RegExp | null;
  /** `extra.case_sensitive`. */
  caseSensitive?: boolean;
  /** `config.params.extra` of the run (settings of parts such as code execution). */
  extra?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

export type Extractor = (text: string, ctx: PartContext) => string | null | Promise<string | null>;

export interface ScoreOutcome {
  correct: boolean;
  /** Replaces what is shown as extracted (e.g. the text a regex target matched, a test run's status). */
  extracted?: string | null;
}

export type Scorer = (
  extracted: string | null,
  target: string,
  ctx: PartContext,
) => ScoreOutcome | Promise<ScoreOutcome>;

interface Part<F> {
  name: string;
  description: string;
  fn: F;
}

const extractors = new Map<string, Part<Extractor>>();
const scorers = new Map<string, Part<Scorer>>();

function register<F>(map: Map<string, Part<F>>, kind: string, part: Part<F>): () => void {
  if (map.has(part.name)) throw new Error(`${kind} "${part.name}" is already registered`);
  map.set(part.name, part);
  return () => void map.delete(part.name);
}

/** Add an answer extractor under a name; returns a function that removes it again. */
export function registerExtractor(name: string, description: string, fn: Extractor): () => void {
  return register(extractors, 'extractor', { name, description, fn });
}

/** Add a scorer under a name; returns a function that removes it again. */
export function registerScorer(name: string, description: string, fn: Scorer): () => void {
  return register(scorers, 'scorer', { name, description, fn });
}

export function extractorNames(): string[] {
  return [...extractors.keys()];
}

export function scorerNames(): string[] {
  return [...scorers.keys()];
}

/** Name and description of every part, for listings and docs. */
export function listParts(): { extractors: Part<Extractor>[]; scorers: Part<Scorer>[] } {
  return { extractors: [...extractors.values()], scorers: [...scorers.values()] };
}

function unknownPart(kind: string, name: string, names: string[], where: string): NelError {
  return new NelError(
    'ENGINE_CONFIG',
    `${where}: unknown ${kind} "${name}" (use one of ${names.join(', ')})`,
    {
      hint: 'see docs/benchmarks.md, section "Scorers and extractors"',
    },
  );
}

export type ExtractorRef = string | Extractor;
export type ScorerRef = string | Scorer;

/** Resolve a chain of extractor names (or functions); unknown names are a configuration error. */
export function resolveExtractors(refs: readonly ExtractorRef[], where: string): Extractor[] {
  return refs.map((r) => {
    if (typeof r !== 'string') return r;
    const part = extractors.get(r);
    if (!part) throw unknownPart('extractor', r, extractorNames(), where);
    return part.fn;
  });
}

export function resolveScorer(ref: ScorerRef, where: string): Scorer {
  if (typeof ref !== 'string') return ref;
  const part = scorers.get(ref);
  if (!part) throw unknownPart('scorer', ref, scorerNames(), where);
  return part.fn;
}

/** Run an extractor chain: each step gets the previous one's answer; null stops the chain. */
export async function extractWith(
  chain: readonly Extractor[],
  reply: string,
  ctx: PartContext,
): Promise<string | null> {
  let text: string | null = reply;
  for (const step of chain) {
    if (text === null) return null;
    text = await step(text, ctx);
  }
  return text;
}

/** Each reply extracted and scored against the target: what the per-sample JSONL shows, and correctness. */
export async function judgeReplies(
  replies: readonly string[],
  target: string,
  parts: { extract: readonly Extractor[]; score: Scorer },
  ctx: PartContext,
): Promise<{ extracted: (string | null)[]; correct: boolean[] }> {
  const outcomes = await Promise.all(
    replies.map(async (reply) => {
      const extracted = await extractWith(parts.extract, reply, ctx);
      const outcome = await parts.score(extracted, target, ctx);
      return {
        extracted: outcome.extracted !== undefined ? outcome.extracted : extracted,
        ok: outcome.correct,
      };
    }),
  );
  return { extracted: outcomes.map((o) => o.extracted), correct: outcomes.map((o) => o.ok) };
}

/** Collapsed whitespace, trimmed, lower-cased unless case-sensitive. */
export function normaliseText(s: string, caseSensitive: boolean): string {
  const collapsed = s.trim().replace(/\s+/g, ' ');
  return caseSensitive ? collapsed : collapsed.toLowerCase();
}

/** The option letters of a sample: one per choice, else A-J. */
export function lettersOf(ctx: PartContext): string {
  return ctx.choices ? optionLetters(ctx.choices.length) : 'ABCDEFGHIJ';
}

/** The gold letter for multiple choice: a letter, the text of one of the choices, or a 0-based index. */
export function goldLetter(target: string, choices: string[] | undefined): string | null {
  const t = target.trim();
  if (/^[A-Ja-j]$/.test(t)) return t.toUpperCase();
  if (choices) {
    const i = choices.findIndex((c) => c.trim() === t);
    if (i >= 0) return optionLetters(choices.length)[i]!;
    if (/^\d+$/.test(t) && Number(t) < choices.length) return optionLetters(choices.length)[Number(t)]!;
  }
  return null;
}

const ANSWER_MARKER = /the final answer is/i;

// ---- built-in extractors ----
registerExtractor('raw', 'the reply as it is', (t) => t);
registerExtractor('text', 'the reply, trimmed', (t) => t.trim());
registerExtractor(
  'regex',
  'group 1 (else the whole match) of extra.answer_regex, trimmed; null without a match',
  (t, ctx) => {
    if (!ctx.answerRegex) return t.trim();
    const m = ctx.answerRegex.exec(t);
    return m ? (m[1] ?? m[0]).trim() : null;
  },
);
registerExtractor(
  'number',
  'the number after "answer is" (else after "####", else the last number), normalised',
  (t) =>
    extractNumberAfterMarker(t, /answer is/i) ?? extractNumberAfterMarker(t, /####/) ?? extractLastNumber(t),
);
registerExtractor('last_number', 'the last number in the reply, normalised', (t) => extractLastNumber(t));
registerExtractor(
  'final_answer_number',
  'the number after "The final answer is" or "####" ("####" first for completions), else the last number',
  (t, ctx) => {
    const hashes = extractNumberAfterMarker(t, /####/);
    const marker = extractNumberAfterMarker(t, ANSWER_MARKER);
    const first = ctx.endpointType === 'chat' ? (marker ?? hashes) : (hashes ?? marker);
    return first ?? extractLastNumber(t);
  },
);
registerExtractor(
  'answer_letter',
  'the first "Answer: X" with X one of the option letters (simple-evals)',
  (t, ctx) => extractAnswerLetter(t, lettersOf(ctx)),
);
registerExtractor('choice_letter', '"Answer: X", else a reply that is a lone letter', (t, ctx) => {
  const lone = /^\W*([A-J])\W*$/i.exec(t.trim());
  return extractAnswerLetter(t, lettersOf(ctx)) ?? (lone ? lone[1]!.toUpperCase() : null);
});
registerExtractor(
  'code_block',
  'the first fenced code block (a python one first), else the whole reply',
  (t) => extractCodeBlock(t),
);

// ---- built-in scorers ----
registerScorer(
  'exact_match',
  'the answer equals the target (trimmed, whitespace collapsed, case-insensitive unless case_sensitive)',
  (e, target, ctx) => ({
    correct:
      e !== null &&
      normaliseText(e, ctx.caseSensitive ?? false) === normaliseText(target, ctx.caseSensitive ?? false),
  }),
);
registerScorer(
  'contains',
  'the answer contains the target (normalised like exact_match)',
  (e, target, ctx) => ({
    correct:
      e !== null &&
      normaliseText(e, ctx.caseSensitive ?? false).includes(
        normaliseText(target, ctx.caseSensitive ?? false),
      ),
  }),
);
registerScorer('regex', 'the target is a regular expression that must match the answer', (e, target, ctx) => {
  let re: RegExp;
  try {
    re = new RegExp(target, ctx.caseSensitive ? '' : 'i');
  } catch {
    throw new NelError(
      'ENGINE_CONFIG',
      `${ctx.task ?? 'custom'}: record ${ctx.index}: target is not a valid regular expression for the regex scorer`,
      { hint: 'see docs/benchmarks.md, section "custom"' },
    );
  }
  const m = e === null ? null : re.exec(e);
  return { correct: m !== null, extracted: m ? m[0] : null };
});
registerScorer('number', 'the answer is the same number as the target', (e, target) => ({
  correct: numbersEqual(e, target),
}));
registerScorer(
  'multiple_choice',
  'the answer letter is the gold letter (target: a letter, a 0-based index or the text of a choice)',
  (e, target, ctx) => {
    const gold = goldLetter(target, ctx.choices);
    return { correct: gold !== null && e === gold };
  },
);
