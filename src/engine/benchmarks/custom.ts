/** `custom`: a user's own benchmark from a JSONL/CSV/Parquet file, a prompt template, a target field and a scorer. */
import { NelError } from '../../common/errors.js';
import {
  buildEvaluationResult,
  extractAnswerLetter,
  extractLastNumber,
  extractNumberAfterMarker,
  normaliseNumber,
  numbersEqual,
  optionLetters,
} from '../scoring/index.js';
import type { EndpointType } from '../types.js';
import { collectSamples, fractionTrue, openBenchmarkSamples, textRequest } from './common.js';
import type { Benchmark, BenchmarkContext, BenchmarkSample } from './types.js';

export const CUSTOM_SCORERS = ['exact_match', 'contains', 'regex', 'number', 'multiple_choice'] as const;
export type CustomScorer = (typeof CUSTOM_SCORERS)[number];

export interface CustomOptions {
  promptTemplate: string;
  targetField: string;
  scorer: CustomScorer;
  systemPrompt: string | null;
  choicesField: string | null;
  answerRegex: RegExp | null;
  caseSensitive: boolean;
  idField: string | null;
}

function configError(message: string): NelError {
  return new NelError('ENGINE_CONFIG', `custom: ${message}`, {
    hint: 'see docs/benchmarks.md, section "custom"',
  });
}

/** Read and validate the custom benchmark's keys from `config.params.extra`. */
export function customOptions(extra: Record<string, unknown>): CustomOptions {
  const promptTemplate = extra.prompt_template;
  if (typeof promptTemplate !== 'string' || promptTemplate.trim() === '') {
    throw configError('config.params.extra.prompt_template is required (a text with {field} placeholders)');
  }
  const scorer = String(extra.scorer ?? 'exact_match') as CustomScorer;
  if (!CUSTOM_SCORERS.includes(scorer)) {
    throw configError(`unknown scorer "${scorer}" (use one of ${CUSTOM_SCORERS.join(', ')})`);
  }
  let answerRegex: RegExp | null = null;
  if (typeof extra.answer_regex === 'string' && extra.answer_regex !== '') {
    try {
      answerRegex = new RegExp(extra.answer_regex, extra.case_sensitive === true ? '' : 'i');
    } catch {
      throw configError(`answer_regex is not a valid regular expression: ${extra.answer_regex}`);
    }
  }
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  return {
    promptTemplate,
    targetField: str(extra.target_field) ?? 'target',
    scorer,
    systemPrompt: str(extra.system_prompt),
    choicesField: str(extra.choices_field),
    answerRegex,
    caseSensitive: extra.case_sensitive === true,
    idField: str(extra.id_field),
  };
}

/** Fill `{field}` placeholders from a record (`{{` and `}}` are literal braces; `{choices}` lists the options). */
export function renderTemplate(
  template: string,
  record: Record<string, unknown>,
  choices?: string[],
): string {
  return template.replace(/\{\{|\}\}|\{([^{}]+)\}/g, (whole, field: string | undefined) => {
    if (whole === '{{') return '{';
    if (whole === '}}') return '}';
    const name = (field ?? '').trim();
    if (name === 'choices' && choices && record.choices === undefined) {
      const letters = optionLetters(choices.length);
      return choices.map((c, i) => `${letters[i]}) ${c}`).join('\n');
    }
    const v = record[name];
    if (v === undefined || v === null) throw new Error(`missing field "${name}"`);
    return typeof v === 'string' ? v : JSON.stringify(v);
  });
}

function choicesOf(sample: BenchmarkSample, opts: CustomOptions): string[] | undefined {
  if (!opts.choicesField) return undefined;
  const v = sample.data[opts.choicesField];
  if (Array.isArray(v)) return v.map((c) => String(c));
  if (typeof v === 'string') {
    try {
      const parsed = JSON.parse(v) as unknown;
      if (Array.isArray(parsed)) return parsed.map((c) => String(c));
    } catch {
      // not JSON: one option per line
    }
    return v.split('\n').filter((l) => l.trim() !== '');
  }
  return undefined;
}

function targetOf(sample: BenchmarkSample, opts: CustomOptions): string {
  const v = sample.data[opts.targetField];
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** The gold letter for multiple choice: a letter, a 0-based index, or the text of one of the choices. */
function goldLetter(target: string, choices: string[] | undefined): string | null {
  const t = target.trim();
  if (/^[A-Ja-j]$/.test(t)) return t.toUpperCase();
  if (choices) {
    const i = choices.findIndex((c) => c.trim() === t);
    if (i >= 0) return optionLetters(choices.length)[i];
    if (/^\d+$/.test(t) && Number(t) < choices.length) return optionLetters(choices.length)[Number(t)];
  }
  return null;
}

function normaliseText(s: string, caseSensitive: boolean): string {
  const collapsed = s.trim().replace(/\s+/g, ' ');
  return caseSensitive ? collapsed : collapsed.toLowerCase();
}

function applyAnswerRegex(response: string, opts: CustomOptions): string | null {
  if (!opts.answerRegex) return response.trim();
  const m = opts.answerRegex.exec(response);
  return m ? (m[1] ?? m[0]).trim() : null;
}

/** Score one response: what was extracted and whether it is correct. */
export function scoreCustomResponse(
  response: string,
  sample: BenchmarkSample,
  opts: CustomOptions,
): { extracted: string | null; correct: boolean } {
  const target = targetOf(sample, opts);
  switch (opts.scorer) {
    case 'exact_match': {
      const extracted = applyAnswerRegex(response, opts);
      const ok =
        extracted !== null &&
        normaliseText(extracted, opts.caseSensitive) === normaliseText(target, opts.caseSensitive);
      return { extracted, correct: ok };
    }
    case 'contains': {
      const ok = normaliseText(response, opts.caseSensitive).includes(
        normaliseText(target, opts.caseSensitive),
      );
      return { extracted: response.trim(), correct: ok };
    }
    case 'regex': {
      let re: RegExp;
      try {
        re = new RegExp(target, opts.caseSensitive ? '' : 'i');
      } catch {
        throw configError(
          `record ${sample.index}: target is not a valid regular expression for the regex scorer`,
        );
      }
      const m = re.exec(response);
      return { extracted: m ? m[0] : null, correct: m !== null };
    }
    case 'number': {
      const region = opts.answerRegex ? applyAnswerRegex(response, opts) : response;
      const extracted =
        region === null
          ? null
          : (extractNumberAfterMarker(region, /answer is/i) ??
            extractNumberAfterMarker(region, /####/) ??
            extractLastNumber(region));
      return { extracted, correct: numbersEqual(extracted, target) };
    }
    case 'multiple_choice': {
      const choices = choicesOf(sample, opts);
      const letters = choices ? optionLetters(choices.length) : 'ABCDEFGHIJ';
      const gold = goldLetter(target, choices);
      const lone = /^\W*([A-J])\W*$/i.exec(response.trim());
      const extracted = extractAnswerLetter(response, letters) ?? (lone ? lone[1].toUpperCase() : null);
      return { extracted, correct: gold !== null && extracted === gold };
    }
  }
}

const optionsBySample = new WeakMap<BenchmarkSample, CustomOptions>();

function optionsFor(ctx: BenchmarkContext): CustomOptions {
  return customOptions(ctx.extra);
}

/** A record the custom benchmark can use: it has the target field and fills the prompt template. */
function checkCustomRecord(s: BenchmarkSample, opts: CustomOptions): void {
  if (s.data[opts.targetField] === undefined || s.data[opts.targetField] === null) {
    throw new NelError(
      'ENGINE_DATASET',
      `custom: record ${s.index} has no target field "${opts.targetField}"`,
      {
        hint: 'set config.params.extra.target_field to the field holding the expected answer',
      },
    );
  }
  try {
    renderTemplate(opts.promptTemplate, s.data, choicesOf(s, opts));
  } catch (e) {
    throw new NelError(
      'ENGINE_DATASET',
      `custom: record ${s.index}: prompt_template has a ${(e as Error).message}`,
      {
        hint: `fields in the record: ${Object.keys(s.data).join(', ')}`,
      },
    );
  }
}

export const custom: Benchmark = {
  name: 'custom',
  description:
    'Your own benchmark: a JSONL/CSV file, a prompt template, a target field and a scorer (see docs/benchmarks.md)',
  supportedEndpointTypes: ['chat', 'completions'],
  defaults: { max_new_tokens: 1024, temperature: 0, top_p: 1, extra: { n_samples: 1 } },

  async loadSamples(ctx) {
    const opts = optionsFor(ctx);
    const samples = collectSamples(await custom.openSamples!(ctx));
    for (const s of samples) optionsBySample.set(s, opts);
    return samples;
  },

  async openSamples(ctx) {
    const opts = optionsFor(ctx);
    const datasetFile = typeof ctx.extra.dataset_file === 'string' ? ctx.extra.dataset_file : undefined;
    if (!ctx.extra.dataset_path && !ctx.env.NEMO_EVALUATOR_DATASET_DIR) {
      throw configError('config.params.extra.dataset_path is required (a .jsonl, .csv or .parquet file)');
    }
    return openBenchmarkSamples(
      { repo: 'custom', split: 'test', localFileNames: datasetFile ? [datasetFile] : [] },
      ctx,
      {
        idOf: (r, i) => (opts.idField && r[opts.idField] !== undefined ? String(r[opts.idField]) : String(i)),
        check: (s) => checkCustomRecord(s, opts),
      },
    );
  },

  buildRequest(sample, ctx) {
    const opts = optionsFor(ctx);
    const prompt = renderTemplate(opts.promptTemplate, sample.data, choicesOf(sample, opts));
    return textRequest(prompt, ctx.endpointType, opts.systemPrompt);
  },

  async score(sample, responses, ctx) {
    const opts = optionsFor(ctx);
    const results = responses.map((r) => scoreCustomResponse(r, sample, opts));
    const correct = results.map((r) => r.correct);
    return {
      sampleId: sample.id,
      scores: { correct: fractionTrue(correct) },
      extracted: results.map((r) => r.extracted),
      correct,
      target: sample.data[opts.targetField],
    };
  },

  aggregate(scores) {
    const values = scores.map((s) => s.scores.correct ?? 0);
    return buildEvaluationResult('custom', [{ metric: 'pass@1', score: 'correct', values }]);
  },

  referenceResponse(sample, correct, _endpointType: EndpointType) {
    const opts = optionsBySample.get(sample) ?? customOptions({ prompt_template: '{}' });
    const target = targetOf(sample, opts);
    switch (opts.scorer) {
      case 'number': {
        const n = Number(normaliseNumber(target));
        return `The answer is ${correct ? target : Number.isFinite(n) ? String(n + 1) : `${target}1`}`;
      }
      case 'multiple_choice': {
        const choices = choicesOf(sample, opts);
        const letters = choices ? optionLetters(choices.length) : 'ABCD';
        const gold = goldLetter(target, choices) ?? 'A';
        const letter = correct ? gold : letters[(letters.indexOf(gold) + 1) % letters.length];
        return `Answer: ${letter}`;
      }
      case 'contains':
        return correct ? `I believe it is ${target}.` : 'I do not know.';
      default:
        return correct ? target : `not ${target}`;
    }
  },
};
