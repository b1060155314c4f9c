/**
 * `ifeval`: IFEval (Zhou et al., 2023), 541 prompts with verifiable instructions, scored as
 * lm-evaluation-harness's `ifeval` task scores them (0-shot, the prompt as it is, greedy, 1280 tokens):
 * per prompt, each instruction is checked strictly and loosely (instructions.ts), and results.yml
 * reports prompt-level accuracy (all instructions followed) and instruction-level accuracy (over every
 * instruction of every prompt), strict and loose.
 */
import { readFileSync } from 'node:fs';
import { NelError, errorMessage } from '../../../common/errors.js';
import { buildEvaluationResult } from '../../scoring/results.js';
import { openBenchmarkSamples, samplesPerPrompt, stringField, textRequest } from '../common.js';
import type { Benchmark, BenchmarkContext, BenchmarkSample, SampleScore } from '../types.js';
import {
  LANGUAGE_INSTRUCTIONS,
  buildChecker,
  checkLoose,
  checkStrict,
  type CheckEnv,
  type Checker,
} from './instructions.js';
import { LangDetectError, loadLanguageDetector, type LanguageDetector } from './langdetect.js';
import { constructResponse } from './reference.js';

const SOURCE = {
  repo: 'google/IFEval',
  split: 'train',
  localFileNames: ['ifeval_input_data.jsonl', 'input_data.jsonl'],
};

const METRIC_NAMES = [
  'prompt_level_strict_acc',
  'inst_level_strict_acc',
  'prompt_level_loose_acc',
  'inst_level_loose_acc',
] as const;

function datasetError(message: string): NelError {
  return new NelError('ENGINE_DATASET', `ifeval: ${message}`, {
    hint: 'the data set must use the IFEval record layout: {key, prompt, instruction_id_list, kwargs} (google/IFEval)',
  });
}

/** The instruction ids and one checker per instruction of a record (a malformed record fails here). */
export function recordCheckers(sample: BenchmarkSample): { ids: string[]; checkers: Checker[] } {
  const where = `record ${sample.id}`;
  stringField(sample, 'prompt', 'ifeval');
  const ids = sample.data.instruction_id_list;
  const kwargs = sample.data.kwargs;
  if (!Array.isArray(ids) || ids.length === 0 || ids.some((x) => typeof x !== 'string'))
    throw datasetError(`${where}: "instruction_id_list" must be a non-empty list of instruction ids`);
  if (!Array.isArray(kwargs) || kwargs.length !== ids.length)
    throw datasetError(`${where}: "kwargs" must be a list with one object per instruction`);
  return {
    ids: ids as string[],
    checkers: (ids as string[]).map((id, i) => buildChecker(id, kwargs[i], where)),
  };
}

/** `extra.reference_responses`: a JSONL file of `{prompt, response}` (optionally `key`) for the reference endpoint. */
function readReferenceResponses(value: unknown): {
  byKey: Map<string, string>;
  byPrompt: Map<string, string>;
} {
  const byKey = new Map<string, string>();
  const byPrompt = new Map<string, string>();
  if (value === undefined || value === null || value === '') return { byKey, byPrompt };
  const hint =
    'config.params.extra.reference_responses must name a JSONL file of {"prompt": ..., "response": ...} lines';
  if (typeof value !== 'string')
    throw new NelError('ENGINE_CONFIG', 'ifeval: reference_responses must be a file path', { hint });
  let text: string;
  try {
    text = readFileSync(value, 'utf8');
  } catch (e) {
    throw new NelError(
      'ENGINE_CONFIG',
      `ifeval: cannot read reference_responses ${value}: ${errorMessage(e)}`,
      {
        hint,
      },
    );
  }
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      row = null;
    }
    const r = row as { prompt?: unknown; response?: unknown; key?: unknown } | null;
    if (!r || typeof r.prompt !== 'string' || typeof r.response !== 'string')
      throw new NelError(
        'ENGINE_CONFIG',
        `ifeval: reference_responses ${value} line ${i + 1} is not a {"prompt", "response"} object`,
        { hint },
      );
    byPrompt.set(r.prompt, r.response);
    if (typeof r.key === 'string' || typeof r.key === 'number') byKey.set(String(r.key), r.response);
  }
  return { byKey, byPrompt };
}

/** One run's checks: the language detector is loaded when a sample first needs it. */
function runCheckEnv(): { env: CheckEnv; ready(ids: readonly string[]): Promise<void> } {
  let detector: LanguageDetector | null = null;
  let loading: Promise<LanguageDetector> | null = null;
  return {
    async ready(ids) {
      if (detector || !ids.some((id) => LANGUAGE_INSTRUCTIONS.has(id))) return;
      loading ??= loadLanguageDetector(0);
      detector = await loading;
    },
    env: {
      detectLanguage(text) {
        if (!detector) throw new Error('ifeval: the language detector is not loaded');
        try {
          return detector.detect(text);
        } catch (e) {
          if (e instanceof LangDetectError) return null;
          throw e;
        }
      },
    },
  };
}

const fraction = (passed: number, total: number): number => (total === 0 ? 0 : passed / total);

export const ifeval: Benchmark = {
  name: 'ifeval',
  description:
    'IFEval instruction following (google/IFEval train, 541 prompts, 25 verifiable instruction types); prompt- and instruction-level accuracy, strict and loose',
  supportedEndpointTypes: ['chat', 'completions'],
  dataset: SOURCE,
  defaults: { max_new_tokens: 1280, temperature: 0, top_p: 1, extra: { n_samples: 1 } },
  metrics: METRIC_NAMES.map((m) => ({ metric: m, score: m })),
  headline: { metric: 'prompt_level_strict_acc', score: 'prompt_level_strict_acc' },
  mirrors: ['lm-evaluation-harness.ifeval'],

  async prepare(ctx: BenchmarkContext) {
    const references = readReferenceResponses(ctx.extra.reference_responses);
    // Instructions per sample, for the instruction-level aggregate (the kept scores carry fractions only).
    const instructionCounts = new Map<string, number>();
    const samples = await openBenchmarkSamples(SOURCE, ctx, {
      idOf: (r, i) => (typeof r.key === 'number' || typeof r.key === 'string' ? String(r.key) : String(i)),
      check: (sample) => instructionCounts.set(sample.id, recordCheckers(sample).ids.length),
    });
    const checks = runCheckEnv();
    const env = checks.env;
    const perPrompt = samplesPerPrompt(ctx.extra);
    return {
      samples,
      buildRequest: (sample) => textRequest(stringField(sample, 'prompt', 'ifeval'), ctx.endpointType),
      async score(sample, responses): Promise<SampleScore> {
        const { ids, checkers } = recordCheckers(sample);
        await checks.ready(ids);
        const strict = responses.map((r) => checkStrict(checkers, r, env));
        const loose = responses.map((r) => checkLoose(checkers, r, env));
        const passed = (lists: boolean[][]) => lists.flat().filter(Boolean).length;
        const allFollowed = (lists: boolean[][]) => lists.filter((l) => l.every(Boolean)).length;
        const n = responses.length;
        return {
          sampleId: sample.id,
          scores: {
            prompt_level_strict_acc: fraction(allFollowed(strict), n),
            inst_level_strict_acc: fraction(passed(strict), n * ids.length),
            prompt_level_loose_acc: fraction(allFollowed(loose), n),
            inst_level_loose_acc: fraction(passed(loose), n * ids.length),
          },
          extracted: strict.map(
            (s, i) =>
              `strict ${s.filter(Boolean).length}/${ids.length}, loose ${loose[i]!.filter(Boolean).length}/${ids.length}`,
          ),
          // One list per instruction; with several responses per prompt, one such list per response.
          details: {
            instruction_id_list: ids,
            strict: n === 1 ? strict[0] : strict,
            loose: n === 1 ? loose[0] : loose,
          },
        };
      },
      aggregate(scores) {
        const values: Record<string, number[]> = Object.fromEntries(METRIC_NAMES.map((m) => [m, []]));
        for (const s of scores) {
          values.prompt_level_strict_acc!.push(s.scores.prompt_level_strict_acc ?? 0);
          values.prompt_level_loose_acc!.push(s.scores.prompt_level_loose_acc ?? 0);
          // lm-eval's agg_inst_level_acc: the mean over all instructions of all prompts.
          const k = (instructionCounts.get(s.sampleId) ?? 1) * perPrompt;
          for (const m of ['inst_level_strict_acc', 'inst_level_loose_acc'] as const) {
            const ok = Math.round((s.scores[m] ?? 0) * k);
            for (let i = 0; i < k; i++) values[m]!.push(i < ok ? 1 : 0);
          }
        }
        return buildEvaluationResult(
          'ifeval',
          METRIC_NAMES.map((m) => ({ metric: m, score: m, values: values[m]! })),
        );
      },
      referenceResponse(sample, correct) {
        if (!correct) return '';
        const key = sample.data.key;
        const given =
          (key !== undefined && key !== null ? references.byKey.get(String(key)) : undefined) ??
          references.byPrompt.get(stringField(sample, 'prompt', 'ifeval'));
        return given ?? constructResponse(sample);
      },
    };
  },
};
