/**
 * MGSM: the 250 GSM8K problems translated into 10 languages plus English, as simple-evals' mgsm_eval.py
 * runs it (chat, 0-shot): a per-language instruction before the question, the last number after the
 * language's answer prefix as the answer, compared as text with the gold number; per-language scores.
 */
import { basename, extname } from 'node:path';
import { NelError } from '../../common/errors.js';
import type { DatasetRecord, DatasetSource } from '../datasets/types.js';
import { buildEvaluationResult, type MetricValues } from '../scoring/results.js';
import { fractionScore, textRequest } from './common.js';
import type { Benchmark, BenchmarkContext, BenchmarkSample, SampleScore } from './types.js';

export const MGSM_LANGUAGES = ['bn', 'de', 'en', 'es', 'fr', 'ja', 'ru', 'sw', 'te', 'th', 'zh'] as const;
export type MgsmLanguage = (typeof MGSM_LANGUAGES)[number];

/** Languages written in Latin script (simple-evals' `group_latin`; the others form `group_non_latin`). */
export const MGSM_LATIN_LANGUAGES: readonly MgsmLanguage[] = ['de', 'en', 'es', 'fr', 'sw'];

/**
 * The instruction placed before the question, per language, exactly as simple-evals has it (typos
 * included: the Japanese text lacks its first character, the Bengali one ends with "।."). The Bengali
 * text's \u09df is the reference's precomposed letter, escaped so that no editor's normalisation splits it.
 */
export const MGSM_INSTRUCTIONS: Readonly<Record<MgsmLanguage, string>> = {
  bn: 'এই গণিতের সমস্যাটি সমাধান করুন। চূড়ান্ত উত্তর দেও\u09dfার আগে যুক্তিসম্পন্ন পদক্ষেপ প্রদান করুন। চূড়ান্ত উত্তরটি একক সংখ্যা হিসাবে "উত্তর:" এর পরে শেষ লাইনে দিন। "উত্তর:" এর পরে অন্য কিছু যুক্ত করবেন না।.',
  de: 'Löse dieses Mathematikproblem. Gib die Schritte zur Begründung an, bevor du die endgültige Antwort in der letzten Zeile alleine im Format "Antwort:" gibst. Füge nichts anderes als die ganzzahlige Antwort nach "Antwort:" hinzu.',
  en: 'Solve this math problem. Give the reasoning steps before giving the final answer on the last line by itself in the format of "Answer:". Do not add anything other than the integer answer after "Answer:".',
  es: 'Resuelve este problema matemático. Proporciona los pasos de razonamiento antes de dar la respuesta final en la última línea por sí misma en el formato de "Respuesta:". No añadas nada más que la respuesta entera después de "Respuesta:".',
  fr: 'Résolvez ce problème de mathématiques. Donnez les étapes de raisonnement avant de fournir la réponse finale sur la dernière ligne elle-même dans le format de "Réponse:". N\'ajoutez rien d\'autre que la réponse entière après "Réponse:".',
  ja: 'の数学の問題を解いてください。最終的な答えを出す前に、解答の推論過程を記述してください。そして最後の行には "答え:" の形式で答えを記述し、その後には整数の答え以外何も追加しないでください。',
  ru: 'Решите эту математическую задачу. Объясните шаги рассуждения перед тем, как дать окончательный ответ в последней строке сам по себе в формате "Ответ:". Не добавляйте ничего, кроме целочисленного ответа после "Ответ:".',
  sw: 'Suluhisha tatizo hili la hesabu. Toa hatua za mantiki kabla ya kutoa jibu la mwisho kwenye mstari wa mwisho peke yake katika muundo wa "Jibu:". Usiongeze chochote kingine isipokuwa jibu la integer baada ya "Jibu:".',
  te: "ఈ గణిత సమస్యను పరిష్కరించండి. చివరి సమాధానాన్ని ఇవ్వదానికి ముందు తర్కాత్మక అదుగులను ఇవ్వండి. చివరి పంక్తిలో మాత్రమే 'సమాధానం:' అనే ఆకారంలో చివరి సమాధానాద్ని ఇవ్వండి సమాధానం: తర్వాత పూర్ణాంక సమాధానానికి తప్పించి ఎదేనా చేర్చవద్దు.",
  th: 'แก้ปัญหาคณิตศาสตร์นี้ ให้ให้ขั้นตอนการใช้เหตุผลก่อนที่จะให้คำตอบสุดท้ายในบรรทัดสุดท้ายโดยอยู่ในรูปแบบ "คำตอบ:" ไม่ควรเพิ่มอะไรนอกจากคำตอบที่เป็นจำนวนเต็มหลังจาก "คำตอบ:"',
  zh: '解决这个数学问题。在最后一行给出答案前，请提供推理步骤。最后一行应该以 "答案: " 的形式独立给出答案。在 "答案：" 后不要添加除整数答案之外的任何内容。',
};

/** The word after which the answer is read, per language (simple-evals: without the colon). */
export const MGSM_ANSWER_PREFIXES: Readonly<Record<MgsmLanguage, string>> = {
  bn: 'উত্তর',
  de: 'Antwort',
  en: 'Answer',
  es: 'Respuesta',
  fr: 'Réponse',
  ja: '答え',
  ru: 'Ответ',
  sw: 'Jibu',
  te: 'సమాధానం',
  th: 'คำตอบ',
  zh: '答案',
};

/** A short line of working for the reference endpoint's replies, per language. */
const REFERENCE_WORKING: Readonly<Record<MgsmLanguage, string>> = {
  bn: 'ধাপে ধাপে সমাধান।',
  de: 'Schritt für Schritt gelöst.',
  en: 'Solved step by step.',
  es: 'Resuelto paso a paso.',
  fr: 'Résolu étape par étape.',
  ja: '順を追って解きます。',
  ru: 'Решаем шаг за шагом.',
  sw: 'Tunatatua hatua kwa hatua.',
  te: 'దశలవారీగా పరిష్కారం.',
  th: 'แก้ทีละขั้นตอน',
  zh: '逐步求解。',
};

/** The user message: the language's instruction, a blank line, the question. */
export function mgsmPrompt(language: MgsmLanguage, question: string): string {
  return `${MGSM_INSTRUCTIONS[language]}\n\n${question}`;
}

// Python's `\d` (str patterns) is any Unicode decimal digit, i.e. category Nd.
const NUMBER = /\p{Nd}+\.?\p{Nd}*/gu;

/**
 * simple-evals parse_answer: '' without the prefix; else, in the text after its last occurrence with
 * commas removed, the last number (digits, optionally one `.` and more digits), a trailing `.` dropped.
 */
export function parseMgsmAnswer(reply: string, prefix: string): string {
  if (!reply.includes(prefix)) return '';
  const after = reply.split(prefix).pop()!.replaceAll(',', '');
  const numbers = after.match(NUMBER);
  return numbers ? numbers[numbers.length - 1]!.replace(/\.+$/, '') : '';
}

/**
 * simple-evals score_mgsm: a prediction with a `.` loses trailing zeros, then a trailing `.`; both sides
 * lose commas; then they must be the same text (so `18.00` matches 18, `1.000` and `১৮` do not).
 */
export function scoreMgsm(target: string, prediction: string): boolean {
  let p = prediction;
  if (p.includes('.')) p = p.replace(/0+$/, '').replace(/\.+$/, '');
  return target.replaceAll(',', '') === p.replaceAll(',', '');
}

const LOCAL_FILE_NAMES = MGSM_LANGUAGES.map((l) => `mgsm_${l}.tsv`);
const SOURCE: DatasetSource = { repo: 'juletxara/mgsm', split: 'test', localFileNames: LOCAL_FILE_NAMES };
/** The columns of the header-less TSV files (the hub data set's field names). */
const TSV_COLUMNS = ['question', 'answer_number'];
const LANGUAGE_HINT = `config.params.extra.languages: a list (or comma-separated string) of ${MGSM_LANGUAGES.join(', ')}`;

function isLanguage(s: string): s is MgsmLanguage {
  return (MGSM_LANGUAGES as readonly string[]).includes(s);
}

/** `extra.languages` as a list (null when unset); unknown or empty is a configuration error. */
export function parseLanguages(value: unknown): MgsmLanguage[] | null {
  if (value === undefined || value === null) return null;
  let items: unknown[];
  if (typeof value === 'string') items = value.split(/[\s,]+/).filter((s) => s !== '');
  else if (Array.isArray(value)) items = value;
  else {
    throw new NelError(
      'ENGINE_CONFIG',
      `mgsm: extra.languages must be a list, got ${JSON.stringify(value)}`,
      {
        hint: LANGUAGE_HINT,
      },
    );
  }
  const out: MgsmLanguage[] = [];
  for (const item of items) {
    const code = typeof item === 'string' ? item.trim().toLowerCase() : '';
    if (!isLanguage(code)) {
      throw new NelError(
        'ENGINE_CONFIG',
        `mgsm: unknown language ${JSON.stringify(item)} in extra.languages`,
        {
          hint: LANGUAGE_HINT,
        },
      );
    }
    if (!out.includes(code)) out.push(code);
  }
  if (out.length === 0) {
    throw new NelError('ENGINE_CONFIG', 'mgsm: extra.languages is empty', { hint: LANGUAGE_HINT });
  }
  return out;
}

/** The language a data file's name gives: `mgsm_<lang>.<ext>` or `<lang>.<ext>`; null otherwise. */
export function languageOfFile(path: string): MgsmLanguage | null {
  const m = /^(?:mgsm_)?([a-z]{2})$/.exec(basename(path, extname(path)).toLowerCase());
  return m && isLanguage(m[1]!) ? m[1] : null;
}

/**
 * The file of each asked language. Without extra.languages all 11 are asked, except that a data set of a
 * single file is its own language's; a single file whose name gives no language serves one asked language.
 */
export function mgsmFilesByLanguage(
  files: readonly string[],
  asked: MgsmLanguage[] | null,
): Map<MgsmLanguage, string> {
  const named = new Map<MgsmLanguage, string>();
  for (const f of files) {
    const lang = languageOfFile(f);
    if (!lang) continue;
    const other = named.get(lang);
    // The same name twice (e.g. a copy in a subfolder): the shallower file is the data set's.
    if (!other || depth(f) < depth(other)) named.set(lang, f);
    else if (depth(f) === depth(other) && f !== other) {
      throw new NelError('ENGINE_DATASET', `mgsm: two data files for language ${lang}: ${other}, ${f}`, {
        hint: 'keep one file per language, or set config.params.extra.dataset_path to one of them',
      });
    }
  }
  if (files.length === 1 && named.size === 0) {
    if (asked?.length === 1) return new Map([[asked[0]!, files[0]!]]);
    throw new NelError('ENGINE_DATASET', `mgsm: cannot tell the language of ${files[0]}`, {
      hint: 'name the file mgsm_<lang>.tsv, or set config.params.extra.languages to its one language',
    });
  }
  const wanted = asked ?? (files.length === 1 ? [...named.keys()] : [...MGSM_LANGUAGES]);
  const missing = wanted.filter((l) => !named.has(l));
  if (missing.length > 0) {
    const found = [...named.keys()].join(', ');
    const shown = files.slice(0, 3).join(', ') + (files.length > 3 ? ', ...' : '');
    throw new NelError(
      'ENGINE_DATASET',
      `mgsm: no data file for language${missing.length === 1 ? '' : 's'} ${missing.join(', ')} (found: ${found || `none, in ${shown}`})`,
      { hint: `add mgsm_<lang>.tsv for each, or choose the languages with ${LANGUAGE_HINT}` },
    );
  }
  return new Map(wanted.map((l) => [l, named.get(l)!]));
}

function depth(path: string): number {
  return path.split(/[\\/]/).length;
}

/** A record as the benchmark uses it; the reference's `line.strip()` trims the line's two ends. */
function toItem(record: DatasetRecord, file: string, row: number): { question: string; answer: string } {
  const q = record.question;
  const a = record.answer_number;
  const answer =
    typeof a === 'number' && Number.isInteger(a) ? String(a) : typeof a === 'string' ? a.trim() : '';
  if (typeof q !== 'string' || q.trim() === '' || !/^[0-9][0-9,]*$/.test(answer)) {
    throw new NelError(
      'ENGINE_DATASET',
      `mgsm: ${file}: record ${row + 1} is not a question and an integer answer_number (got ${JSON.stringify(record).slice(0, 120)})`,
      {
        hint: 'TSV files hold question<TAB>answer_number lines, no header; other formats need the fields question and answer_number',
      },
    );
  }
  return { question: q.trimStart(), answer };
}

/** The samples of a run: each asked language's records in file order, limit_samples applying per language. */
async function loadSamples(ctx: BenchmarkContext): Promise<BenchmarkSample[]> {
  const asked = parseLanguages(ctx.extra.languages);
  // The data set readers (Parquet, CSV) are loaded only when a run opens its data.
  const { limitedCount, resolveDataFiles } = await import('../datasets/index.js');
  const { parseDataFile } = await import('../datasets/parse.js');
  limitedCount(0, ctx.params.limit_samples); // a bad limit_samples fails before the data set is read
  const files = await resolveDataFiles(SOURCE, {
    extra: ctx.extra,
    env: ctx.env,
    signal: ctx.signal,
    log: ctx.log,
  });
  const samples: BenchmarkSample[] = [];
  for (const [language, file] of mgsmFilesByLanguage(files, asked)) {
    const isTsv = extname(file).toLowerCase() === '.tsv';
    const records = await parseDataFile(file, isTsv ? { columns: TSV_COLUMNS } : {});
    const keep = limitedCount(records.length, ctx.params.limit_samples);
    for (let i = 0; i < keep; i++) {
      const item = toItem(records[i]!, file, i);
      samples.push({
        id: `${language}/${i}`,
        index: samples.length,
        data: { question: item.question, answer_number: item.answer, language },
      });
    }
  }
  return samples;
}

function sampleLanguage(sample: BenchmarkSample): MgsmLanguage {
  const l = sample.data.language;
  if (typeof l === 'string' && isLanguage(l)) return l;
  throw new NelError('ENGINE_DATASET', `mgsm: sample ${sample.id} has no language`);
}

function sampleAnswer(sample: BenchmarkSample): string {
  return String(sample.data.answer_number);
}

const METRIC = { metric: 'score', score: 'micro', groups: 'language' };
const KEY = 'score';

/** The task's score over all samples; sub-groups per language and simple-evals' latin / non-latin groups. */
function aggregate(scores: readonly SampleScore[]) {
  const entry = (): MetricValues[] => [{ metric: METRIC.metric, score: METRIC.score, values: [] }];
  const groups: Record<string, MetricValues[]> = {};
  for (const s of scores) {
    if (!s.category) continue;
    const v = s.scores[KEY] ?? 0;
    (groups[s.category] ??= entry())[0]!.values.push(v);
    const script = (MGSM_LATIN_LANGUAGES as readonly string[]).includes(s.category)
      ? 'group_latin'
      : 'group_non_latin';
    (groups[script] ??= entry())[0]!.values.push(v);
  }
  const all = scores.map((s) => s.scores[KEY] ?? 0);
  return buildEvaluationResult('mgsm', [{ metric: METRIC.metric, score: METRIC.score, values: all }], groups);
}

export const mgsm: Benchmark = {
  name: 'mgsm',
  description:
    'MGSM, 250 grade-school math problems in 11 languages (juletxara/mgsm test TSVs, 2,750 items); simple-evals prompt and answer prefix per language',
  supportedEndpointTypes: ['chat'],
  dataset: SOURCE,
  defaults: { max_new_tokens: 16384, temperature: 0, top_p: 1e-5, extra: { n_samples: 1 } },
  metrics: [METRIC],
  headline: { metric: METRIC.metric, score: METRIC.score },
  mirrors: ['simple_evals.mgsm'],

  async prepare(ctx) {
    const list = await loadSamples(ctx);
    return {
      samples: {
        total: list.length,
        samples: () => list,
      },
      buildRequest: (sample) =>
        textRequest(mgsmPrompt(sampleLanguage(sample), String(sample.data.question)), 'chat'),
      async score(sample, responses) {
        const language = sampleLanguage(sample);
        const target = sampleAnswer(sample);
        const extracted = responses.map((r) => parseMgsmAnswer(r, MGSM_ANSWER_PREFIXES[language]));
        const correct = extracted.map((e) => scoreMgsm(target, e));
        return fractionScore(
          sample,
          { extracted: extracted.map((e) => (e === '' ? null : e)), correct },
          KEY,
          target,
          language,
        );
      },
      aggregate,
      referenceResponse(sample, correct) {
        const language = sampleLanguage(sample);
        const gold = sampleAnswer(sample);
        const value = correct ? gold : String(Number(gold.replaceAll(',', '')) + 1);
        return `${REFERENCE_WORKING[language]}\n${MGSM_ANSWER_PREFIXES[language]}: ${value}`;
      },
    };
  },
};
