/**
 * `custom`: a user's own benchmark from a JSONL/CSV/Parquet file, a prompt template, a target field and
 * named scoring parts (a scorer and optionally an extractor chain). The same options can come from a
 * YAML/JSON file (`extra.benchmark_file`), and defineDataBenchmark makes a named benchmark of them.
 */
import { readFileSync } from 'node:fs';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { NelError, errorMessage } from '../../common/errors.js';
import type { DatasetSource } from '../datasets/types.js';
import { normaliseNumber, optionLetters } from '../scoring/extraction.js';
import {
  goldLetter,
  resolveExtractors,
  resolveScorer,
  scorerNames,
  type Extractor,
  type PartContext,
  type Scorer,
} from '../scoring/parts.js';
import type { EndpointType, EngineParams } from '../types.js';
import { aggregateMetric, fractionScore, openBenchmarkSamples, textRequest } from './common.js';
import type { Benchmark, BenchmarkContext, BenchmarkSample } from './types.js';

export interface CustomOptions {
  promptTemplate: string;
  targetField: string;
  /** Scorer name (see scoring/parts.ts). */
  scorer: string;
  /** Extractor chain names; by default the scorer's usual one (see defaultExtractors). */
  extractors: string[];
  systemPrompt: string | null;
  choicesField: string | null;
  answerRegex: RegExp | null;
  caseSensitive: boolean;
  idField: string | null;
  /** The benchmark's name, for messages. */
  task: string;
}

function configError(message: string, where = 'custom'): NelError {
  return new NelError('ENGINE_CONFIG', `${where}: ${message}`, {
    hint: 'see docs/benchmarks.md, section "custom"',
  });
}

/** The extractor chain a scorer uses unless `extractor` names another. */
export function defaultExtractors(scorer: string, answerRegex: RegExp | null): string[] {
  switch (scorer) {
    case 'exact_match':
      return ['regex'];
    case 'number':
      return answerRegex ? ['regex', 'number'] : ['number'];
    case 'regex':
      return ['raw'];
    case 'multiple_choice':
      return ['choice_letter'];
    default:
      return ['text'];
  }
}

/** Read and validate the custom benchmark's keys from `config.params.extra`. */
export function customOptions(extra: Record<string, unknown>, where = 'custom'): CustomOptions {
  const promptTemplate = extra.prompt_template;
  if (typeof promptTemplate !== 'string' || promptTemplate.trim() === '') {
    throw configError(
      'config.params.extra.prompt_template is required (a text with {field} placeholders)',
      where,
    );
  }
  const scorer = String(extra.scorer ?? 'exact_match');
  if (!scorerNames().includes(scorer)) {
    throw configError(`unknown scorer "${scorer}" (use one of ${scorerNames().join(', ')})`, where);
  }
  let answerRegex: RegExp | null = null;
  if (typeof extra.answer_regex === 'string' && extra.answer_regex !== '') {
    try {
      answerRegex = new RegExp(extra.answer_regex, extra.case_sensitive === true ? '' : 'i');
    } catch {
      throw configError(`answer_regex is not a valid regular expression: ${extra.answer_regex}`, where);
    }
  }
  const given = extra.extractor;
  const extractors =
    given === undefined || given === null || given === ''
      ? defaultExtractors(scorer, answerRegex)
      : (Array.isArray(given) ? given : [given]).map((x) => String(x));
  resolveExtractors(extractors, where); // an unknown name fails here, before any request
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  return {
    promptTemplate,
    targetField: str(extra.target_field) ?? 'target',
    scorer,
    extractors,
    systemPrompt: str(extra.system_prompt),
    choicesField: str(extra.choices_field),
    answerRegex,
    caseSensitive: extra.case_sensitive === true,
    idField: str(extra.id_field),
    task: where,
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

function partContext(sample: BenchmarkSample, opts: CustomOptions, endpointType: EndpointType): PartContext {
  return {
    endpointType,
    task: opts.task,
    index: sample.index,
    choices: choicesOf(sample, opts),
    answerRegex: opts.answerRegex,
    caseSensitive: opts.caseSensitive,
  };
}

function settled<T>(value: T | Promise<T>, what: string): T {
  if (value instanceof Promise) {
    throw configError(`${what} is asynchronous; custom benchmarks use synchronous parts only`);
  }
  return value;
}

/** Score one response with the options' extractor chain and scorer: what was extracted, and whether it is correct. */
export function scoreCustomResponse(
  response: string,
  sample: BenchmarkSample,
  opts: CustomOptions,
  endpointType: EndpointType = 'chat',
): { extracted: string | null; correct: boolean } {
  const ctx = partContext(sample, opts, endpointType);
  let extracted: string | null = response;
  const chain: Extractor[] = resolveExtractors(opts.extractors, opts.task);
  for (const [i, step] of chain.entries()) {
    if (extracted === null) break;
    extracted = settled(step(extracted, ctx), `extractor "${opts.extractors[i]}"`);
  }
  const scorer: Scorer = resolveScorer(opts.scorer, opts.task);
  const outcome = settled(scorer(extracted, targetOf(sample, opts), ctx), `scorer "${opts.scorer}"`);
  return {
    extracted: outcome.extracted !== undefined ? outcome.extracted : extracted,
    correct: outcome.correct,
  };
}

/** A record the custom benchmark can use: it has the target field and fills the prompt template. */
function checkCustomRecord(s: BenchmarkSample, opts: CustomOptions, where: string): void {
  if (s.data[opts.targetField] === undefined || s.data[opts.targetField] === null) {
    throw new NelError(
      'ENGINE_DATASET',
      `${where}: record ${s.index} has no target field "${opts.targetField}"`,
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
      `${where}: record ${s.index}: prompt_template has a ${(e as Error).message}`,
      {
        hint: `fields in the record: ${Object.keys(s.data).join(', ')}`,
      },
    );
  }
}

/** The reply the reference endpoint tries first for a scorer (right or wrong). */
function usualReference(sample: BenchmarkSample, correct: boolean, opts: CustomOptions): string {
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
}

/**
 * A reply the run's own extractor and scorer count as right (or wrong), for the reference endpoint: the
 * scorer's usual reply, else the first of a few common answer formats that scores as wanted.
 */
function customReference(sample: BenchmarkSample, correct: boolean, opts: CustomOptions): string {
  const usual = usualReference(sample, correct, opts);
  const target = targetOf(sample, opts);
  const value = correct ? target : `not ${target}`;
  const candidates = [usual, `Answer: ${value}`, `The answer is ${value}`, `The final answer is ${value}`];
  return candidates.find((c) => scoreCustomResponse(c, sample, opts).correct === correct) ?? usual;
}

/**
 * `extra.benchmark_file`: a YAML or JSON mapping of the same keys as `config.params.extra` (prompt_template,
 * scorer, extractor, target_field, dataset_path, ...); keys set in extra win. A relative dataset_path in the
 * file is relative to the file.
 */
export async function withBenchmarkFile(
  extra: Record<string, unknown>,
  where = 'custom',
): Promise<Record<string, unknown>> {
  const file = extra.benchmark_file;
  if (file === undefined || file === null || file === '') return extra;
  if (typeof file !== 'string')
    throw configError('benchmark_file must be a path to a YAML or JSON file', where);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new NelError('ENGINE_CONFIG', `${where}: cannot read benchmark_file ${file}: ${errorMessage(e)}`, {
      hint: 'config.params.extra.benchmark_file must name a readable YAML or JSON file',
    });
  }
  let doc: unknown;
  try {
    // The YAML reader is loaded only when a benchmark file is read.
    doc =
      extname(file).toLowerCase() === '.json'
        ? JSON.parse(text)
        : (await import('../../common/yaml.js')).parseYaml(text, file);
  } catch (e) {
    if (e instanceof NelError) throw e;
    throw new NelError(
      'ENGINE_CONFIG',
      `${where}: benchmark_file ${file} is not valid JSON: ${errorMessage(e)}`,
    );
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw configError(`benchmark_file ${file} must hold a mapping of options`, where);
  const fromFile: Record<string, unknown> = { ...(doc as Record<string, unknown>) };
  const path = fromFile.dataset_path;
  if (typeof path === 'string' && path !== '' && !isAbsolute(path)) {
    fromFile.dataset_path = resolve(dirname(file), path);
  }
  const merged: Record<string, unknown> = { ...fromFile };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined && v !== null) merged[k] = v;
  return merged;
}

/** A benchmark written as data: a name, a default data set and the custom options (no code). */
export interface DataBenchmarkDefinition {
  name: string;
  description: string;
  endpoint_types?: EndpointType[];
  /** The default data set; without it, `extra.dataset_path` (or NEMO_EVALUATOR_DATASET_DIR) is required. */
  dataset?: DatasetSource | null;
  defaults?: EngineParams;
  /** The custom options (`prompt_template`, `scorer`, `extractor`, `target_field`, ...); extra overrides them. */
  options?: Record<string, unknown>;
}

const CUSTOM_METRIC = { metric: 'pass@1', score: 'correct' };
const CUSTOM_KEY = 'correct';

/** A benchmark from data: prompt template, target field and named parts; metric `pass@1`/`correct`. */
export function defineDataBenchmark(def: DataBenchmarkDefinition): Benchmark {
  const name = def.name;
  return {
    name,
    description: def.description,
    supportedEndpointTypes: def.endpoint_types ?? ['chat', 'completions'],
    dataset: def.dataset ?? null,
    defaults: def.defaults ?? { max_new_tokens: 1024, temperature: 0, top_p: 1, extra: { n_samples: 1 } },
    metrics: [CUSTOM_METRIC],
    headline: CUSTOM_METRIC,

    async prepare(ctx: BenchmarkContext) {
      const extra = await withBenchmarkFile({ ...(def.options ?? {}), ...ctx.extra }, name);
      const opts = customOptions(extra, name);
      const datasetFile = typeof extra.dataset_file === 'string' ? extra.dataset_file : undefined;
      if (!def.dataset && !extra.dataset_path && !ctx.env.NEMO_EVALUATOR_DATASET_DIR) {
        throw configError(
          'config.params.extra.dataset_path is required (a .jsonl, .csv or .parquet file)',
          name,
        );
      }
      const source: DatasetSource = def.dataset ?? {
        repo: name,
        split: 'test',
        localFileNames: datasetFile ? [datasetFile] : [],
      };
      const samples = await openBenchmarkSamples(
        source,
        { ...ctx, extra },
        {
          idOf: (r, i) =>
            opts.idField && r[opts.idField] !== undefined ? String(r[opts.idField]) : String(i),
          check: (s) => checkCustomRecord(s, opts, name),
        },
      );
      return {
        samples,
        buildRequest(sample) {
          const prompt = renderTemplate(opts.promptTemplate, sample.data, choicesOf(sample, opts));
          return textRequest(prompt, ctx.endpointType, opts.systemPrompt);
        },
        async score(sample, responses) {
          const results = responses.map((r) => scoreCustomResponse(r, sample, opts, ctx.endpointType));
          const judged = {
            extracted: results.map((r) => r.extracted),
            correct: results.map((r) => r.correct),
          };
          return fractionScore(sample, judged, CUSTOM_KEY, sample.data[opts.targetField]);
        },
        aggregate: (scores) => aggregateMetric(name, CUSTOM_METRIC, CUSTOM_KEY, scores),
        referenceResponse: (sample, correct) => customReference(sample, correct, opts),
      };
    },
  };
}

export const custom: Benchmark = defineDataBenchmark({
  name: 'custom',
  description:
    'Your own benchmark: a JSONL/CSV file, a prompt template, a target field and a scorer (see docs/benchmarks.md)',
});
