/**
 * A reply built to follow a prompt's instructions, for the reference endpoint when no recorded
 * responses are given: English filler text shaped by each instruction's arguments (length, sections,
 * bullets, keywords, case, wrappers...). It follows most instruction combinations but not all (a reply
 * in another language cannot be made up); the reference endpoint's replies are not model answers.
 */
import type { BenchmarkSample } from '../types.js';

type Kw = Record<string, unknown>;

const FILLER = (
  'this reply covers the topic with care and gives a plain account of what matters most ' +
  'it explains each point in turn so that a reader can follow along without trouble ' +
  'simple words keep the text short and useful for anyone who wants a quick summary ' +
  'good examples help to show how the main idea works in daily life'
).split(' ');

export function constructResponse(sample: BenchmarkSample): string {
  const ids = (sample.data.instruction_id_list ?? []) as string[];
  const all = (sample.data.kwargs ?? []) as Kw[];
  const kw = (id: string): Kw | undefined => {
    const i = ids.indexOf(id);
    return i >= 0 ? (all[i] ?? {}) : undefined;
  };
  const num = (k: Kw | undefined, name: string, fallback = 0): number =>
    typeof k?.[name] === 'number' ? (k[name] as number) : fallback;
  const str = (k: Kw | undefined, name: string): string =>
    typeof k?.[name] === 'string' ? (k[name] as string) : '';

  const lower = kw('change_case:english_lowercase') !== undefined;
  const upper = kw('change_case:english_capital') !== undefined;
  const noComma = kw('punctuation:no_comma') !== undefined;

  // Words the filler must not use: forbidden words, keywords that must stay rare, and a rare letter.
  const forbidden = new Set<string>();
  for (const w of (kw('keywords:forbidden_words')?.forbidden_words ?? []) as string[])
    forbidden.add(w.toLowerCase());
  const freq = kw('keywords:frequency');
  if (freq && freq.relation === 'less than') forbidden.add(str(freq, 'keyword').toLowerCase());
  const letterKw = kw('keywords:letter_frequency');
  const rareLetter =
    letterKw && letterKw.let_relation === 'less than' ? str(letterKw, 'letter').toLowerCase() : '';
  const vocab = FILLER.filter(
    (w) =>
      ![...forbidden].some((f) => f !== '' && w.includes(f)) &&
      (rareLetter === '' || !w.includes(rareLetter)),
  );
  const words = vocab.length > 0 ? vocab : ['ok'];
  let cursor = 0;
  const sentence = (n = 8): string => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(words[cursor++ % words.length]!);
    const s = out.join(' ');
    return `${s.charAt(0).toUpperCase()}${s.slice(1)}.`;
  };

  // How many sentences and words the body needs.
  const sentKw = kw('length_constraints:number_sentences');
  const wordKw = kw('length_constraints:number_words');
  let sentences = 3;
  if (sentKw) sentences = sentKw.relation === 'less than' ? 1 : Math.max(1, num(sentKw, 'num_sentences'));
  let wordsPerSentence = 8;
  if (wordKw && wordKw.relation === 'at least')
    wordsPerSentence = Math.max(8, Math.ceil((num(wordKw, 'num_words') + 20) / sentences));
  if (wordKw && wordKw.relation === 'less than') {
    sentences = 1;
    wordsPerSentence = Math.max(1, Math.min(8, num(wordKw, 'num_words') - 12));
  }

  // Extra content every paragraph layout shares.
  const extras: string[] = [];
  const keywords = (kw('keywords:existence')?.keywords ?? []) as string[];
  if (keywords.length > 0) extras.push(`Key terms: ${keywords.join(' and ')}.`);
  if (freq && freq.relation === 'at least')
    extras.push(Array.from({ length: num(freq, 'frequency') }, () => str(freq, 'keyword')).join(' ') + '.');
  if (letterKw && letterKw.let_relation === 'at least')
    extras.push(`${str(letterKw, 'letter').repeat(num(letterKw, 'let_frequency'))}.`);
  const placeholders = num(kw('detectable_content:number_placeholders'), 'num_placeholders');
  if (placeholders > 0)
    extras.push(Array.from({ length: placeholders }, (_, i) => `[item${i + 1}]`).join(' '));
  const highlights = num(kw('detectable_format:number_highlighted_sections'), 'num_highlights');
  if (highlights > 0) extras.push(Array.from({ length: highlights }, (_, i) => `*point ${i + 1}*`).join(' '));
  const capitals = kw('change_case:capital_word_frequency');
  if (capitals && capitals.capital_relation === 'at least' && !lower)
    extras.push(Array.from({ length: num(capitals, 'capital_frequency') }, () => 'NOTE').join(' '));
  if (kw('detectable_format:constrained_response')) extras.push('My answer is yes.');
  const bullets = num(kw('detectable_format:number_bullet_lists'), 'num_bullets');
  if (bullets > 0)
    extras.push(Array.from({ length: bullets }, (_, i) => `* ${sentence(3)} ${i + 1}`).join('\n'));

  // Paragraph layout: sections, *** dividers, or blank-line paragraphs with a given first word.
  const sectionKw = kw('detectable_format:multiple_sections');
  const starKw = kw('length_constraints:number_paragraphs');
  const nthKw = kw('length_constraints:nth_paragraph_first_word');
  const paragraphCount = Math.max(
    1,
    num(sectionKw, 'num_sections'),
    num(starKw, 'num_paragraphs'),
    num(nthKw, 'num_paragraphs'),
  );
  const paragraphs: string[] = [];
  const perParagraph = Math.max(1, Math.ceil(sentences / paragraphCount));
  for (let p = 0; p < paragraphCount; p++) {
    const body: string[] = [];
    for (let s = 0; s < perParagraph && (p * perParagraph + s < sentences || s === 0); s++)
      body.push(sentence(wordsPerSentence));
    let text = body.join(' ');
    if (nthKw && p === num(nthKw, 'nth_paragraph') - 1) text = `${str(nthKw, 'first_word')} ${text}`;
    if (sectionKw) text = `${str(sectionKw, 'section_spliter')} ${p + 1}\n${text}`;
    paragraphs.push(text);
  }
  paragraphs[paragraphs.length - 1] += `\n\n${extras.join('\n\n')}`;
  let body = paragraphs.join(starKw ? '\n***\n' : '\n\n').trim();

  const title = kw('detectable_format:title') ? '<<a short title>>\n\n' : '';
  body = title + body;
  const ps = kw('detectable_content:postscript');
  if (ps) body += `\n\n${str(ps, 'postscript_marker')} ${sentence(4)}`;
  const end = kw('startend:end_checker');
  if (end) body += `\n\n${str(end, 'end_phrase')}`;
  if (kw('combination:two_responses')) body = `${body}\n******\n${body.replace(/^\S+/, 'Also')} again`;
  const repeat = kw('combination:repeat_prompt');
  if (repeat) body = `${str(repeat, 'prompt_to_repeat')}\n\n${body}`;

  if (noComma) body = body.replace(/,/g, '');
  if (lower) body = body.toLowerCase();
  if (upper) body = body.toUpperCase();
  if (capitals && capitals.capital_relation === 'less than' && !upper)
    body = body.replace(/\b[A-Z]{2,}\b/g, (w) => w.toLowerCase());
  if (kw('detectable_format:json_format')) body = JSON.stringify({ response: body });
  if (kw('startend:quotation')) body = `"${body}"`;
  return body;
}
