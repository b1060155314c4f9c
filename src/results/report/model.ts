/**
 * The data of the HTML reports, read from a job's artifacts: results.yml (scores with their standard
 * errors), run_config.yml (parameters, model), eval_factory_metrics.json (the response_stats interceptor's
 * token counts and latencies, the engine's timings), samples.jsonl (every sample) and the request/response
 * pairs of the cache (report.json, or the cache itself). Plain data: the page (page.ts) renders it.
 *
 * Kept free of launcher modules: the engine builds a job's report at the end of its run from this file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '../../common/hash.js';
import { isPlainObject, type Obj } from '../../common/objects.js';
import { parseYaml } from '../../common/yaml.js';
import type { HeadlineLookup } from '../scores.js';
import { embedJson } from './html.js';

/** One score of results.yml with its uncertainty. */
export interface ReportScore {
  task: string;
  /** null for the whole task, else the sub-group (e.g. an MMLU subject, `level:3`). */
  group: string | null;
  metric: string;
  score: string;
  value: number;
  stderr: number | null;
  /** 95% normal interval value ± 1.96 stderr, null without a stderr. */
  ci: [number, number] | null;
  count: number | null;
  headline: boolean;
}

/** One sample, as the page shows and filters it. */
export interface ReportSample {
  id: string;
  index: number | null;
  /** The prompt as text (chat messages as `role: content` blocks). */
  prompt: string;
  responses: string[];
  extracted: (string | null)[];
  target: string;
  scores: Record<string, number>;
  /** right: the verdict metric is 1 (or more); wrong: 0; partial: in between; failed: the request failed. */
  verdict: 'right' | 'wrong' | 'partial' | 'failed' | 'unscored';
  /** Sub-groups of the sample, `dimension:value` or the category alone. */
  groups: string[];
  /** IFEval: the instruction types of the prompt, and those not followed (strict). */
  instructions?: string[];
  instructionsFailed?: string[];
  flags: string[];
  error?: string;
  /** Benchmark-specific details (compact JSON, which the page shows indented), when the line has any. */
  details?: string;
  /** Indices into JobReportData.requests of this sample's cached request/response pairs. */
  requests?: number[];
}

/** One cached request and its response (today's report.html content), as pretty text. */
export interface ReportRequest {
  key: string;
  endpoint: string;
  request: string;
  response: string;
}

export interface JobReportData {
  kind: 'job';
  title: string;
  generatedAt: string;
  job: {
    jobId: string | null;
    invocationId: string | null;
    task: string;
    model: string | null;
    url: string | null;
    endpointType: string | null;
  };
  /** config.params of run_config.yml, flattened (`extra.n_samples`). */
  params: [string, string][];
  scores: ReportScore[];
  /** The per-sample score that decides a sample's verdict. */
  verdictMetric: string | null;
  /** The response_stats block of eval_factory_metrics.json (token counts, latency, finish reasons). */
  stats: [string, string][];
  /** The engine's timings (the evaluation block of eval_factory_metrics.json). */
  timings: [string, string][];
  samples: ReportSample[];
  requests: ReportRequest[];
  notes: string[];
}

const readText = (path: string): string | undefined => {
  try {
    return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  } catch {
    return undefined;
  }
};

function readYamlObj(path: string, notes: string[]): Obj | undefined {
  const text = readText(path);
  if (text === undefined) return undefined;
  try {
    const doc = parseYaml(text, path);
    return isPlainObject(doc) ? doc : undefined;
  } catch (e) {
    notes.push(`${path} could not be read: ${(e as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

function readJsonObj(path: string, notes: string[]): unknown {
  const text = readText(path);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    notes.push(`${path} is not JSON`);
    return undefined;
  }
}

const num = (v: unknown): number | null =>
  typeof v === 'number' && Number.isFinite(v)
    ? v
    : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))
      ? Number(v)
      : null;

/** A value as one line of text for the parameter and stats tables. */
export function showValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** `a.b.c` -> value pairs of a nested object (arrays and scalars are leaves). */
export function flatten(obj: unknown, prefix = '', out: [string, string][] = []): [string, string][] {
  if (!isPlainObject(obj)) return out;
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (isPlainObject(v) && Object.keys(v).length > 0) flatten(v, key, out);
    else out.push([key, showValue(v)]);
  }
  return out;
}

function scoresOfEntry(task: string, group: string | null, entry: unknown): ReportScore[] {
  const out: ReportScore[] = [];
  const metrics = isPlainObject(entry) ? entry.metrics : undefined;
  if (!isPlainObject(metrics)) return out;
  for (const [metric, m] of Object.entries(metrics)) {
    if (!isPlainObject(m) || !isPlainObject(m.scores)) continue;
    for (const [score, s] of Object.entries(m.scores)) {
      if (!isPlainObject(s)) continue;
      const value = num(s.value);
      if (value === null) continue;
      const stats = isPlainObject(s.stats) ? s.stats : {};
      const stderr = num(stats.stderr);
      out.push({
        task,
        group,
        metric,
        score,
        value,
        stderr,
        ci: stderr === null ? null : [value - 1.96 * stderr, value + 1.96 * stderr],
        count: num(stats.count),
        headline: false,
      });
    }
  }
  return out;
}

/** The scores of a results.yml document: tasks first, then their sub-groups; the headline marked. */
export function reportScores(doc: Obj | undefined, headlines?: HeadlineLookup): ReportScore[] {
  const results = doc && isPlainObject(doc.results) ? doc.results : {};
  const tasks = isPlainObject(results.tasks) ? results.tasks : {};
  const out: ReportScore[] = [];
  for (const [task, entry] of Object.entries(tasks)) {
    const own = scoresOfEntry(task, null, entry);
    if (own.length > 0 && !out.some((s) => s.headline)) {
      const spec = headlines?.(task);
      const first = own[0]!;
      const chosen =
        (spec && own.find((s) => s.metric === spec.metric && s.score === spec.score)) ??
        own.find((s) => s.metric === first.metric && s.score === s.metric) ??
        first;
      chosen.headline = true;
    }
    out.push(...own);
  }
  const groups = isPlainObject(results.groups) ? results.groups : {};
  for (const [task, g] of Object.entries(groups)) {
    const subs = isPlainObject(g) && isPlainObject(g.groups) ? g.groups : {};
    for (const [sub, entry] of Object.entries(subs)) out.push(...scoresOfEntry(task, sub, entry));
  }
  return out;
}

type Pair = { context: string; continuation: string };
const isPair = (m: unknown): m is Pair =>
  isPlainObject(m) && typeof m.context === 'string' && typeof m.continuation === 'string';

/**
 * A log-likelihood sample's (context, continuation) pairs as text: a shared context once with the
 * numbered continuations (ARC, PIQA, HellaSwag, TruthfulQA), numbered contexts with a shared continuation
 * (WinoGrande), else each pair with `‖` between context and continuation.
 */
function pairsText(pairs: Pair[]): string {
  const numbered = (xs: string[]) => xs.map((x, i) => `(${i}) ${x}`).join('\n');
  if (pairs.every((p) => p.context === pairs[0]!.context))
    return `${pairs[0]!.context}\n\n${numbered(pairs.map((p) => p.continuation))}`;
  if (pairs.every((p) => p.continuation === pairs[0]!.continuation))
    return `${numbered(pairs.map((p) => p.context))}\n\n… ${pairs[0]!.continuation}`;
  return numbered(pairs.map((p) => `${p.context}‖${p.continuation}`));
}

/** A prompt (chat messages, a completion prompt or log-likelihood pairs) as text. */
export function promptText(prompt: unknown): string {
  if (typeof prompt === 'string') return prompt;
  if (Array.isArray(prompt) && prompt.length > 0 && prompt.every(isPair)) return pairsText(prompt);
  if (Array.isArray(prompt))
    return prompt
      .map((m) => {
        if (!isPlainObject(m)) return showValue(m);
        const content = typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? null);
        return `${typeof m.role === 'string' ? m.role : '?'}: ${content}`;
      })
      .join('\n\n');
  return prompt === undefined || prompt === null ? '' : JSON.stringify(prompt, null, 2);
}

function sampleGroups(line: Obj): string[] {
  const out: string[] = [];
  const details = isPlainObject(line.details) ? line.details : {};
  for (const src of [line, details]) {
    if (typeof src.category === 'string' && !out.includes(src.category)) out.push(src.category);
    if (isPlainObject(src.groups))
      for (const [k, v] of Object.entries(src.groups)) {
        const name = `${k}:${showValue(v)}`;
        if (!out.includes(name)) out.push(name);
      }
  }
  return out;
}

/** IFEval details: the instruction types, and those some response did not follow (strict). */
function instructionsOf(line: Obj): { all: string[]; failed: string[] } | undefined {
  const d = isPlainObject(line.details) ? line.details : undefined;
  const ids = d?.instruction_id_list;
  if (!d || !Array.isArray(ids) || !ids.every((x) => typeof x === 'string')) return undefined;
  const all = [...new Set(ids as string[])];
  const strict = Array.isArray(d.strict) ? (d.strict as unknown[]) : [];
  const lists = strict.length > 0 && strict.every(Array.isArray) ? (strict as unknown[][]) : [strict];
  const failed = new Set<string>();
  for (const l of lists) (ids as string[]).forEach((t, i) => l[i] === false && failed.add(t));
  return { all, failed: [...failed] };
}

function verdictOf(scores: Record<string, number>, metric: string | null, error: unknown) {
  if (typeof error === 'string') return 'failed' as const;
  const v = metric !== null ? scores[metric] : undefined;
  if (v === undefined) return 'unscored' as const;
  return v >= 1 ? ('right' as const) : v <= 0 ? ('wrong' as const) : ('partial' as const);
}

/**
 * The per-sample metric for verdicts: the headline's metric when samples carry it, else their first score
 * (`keys`: the score names of the first sample that has any).
 */
function pickVerdictMetric(keys: string[] | null, scores: ReportScore[]): string | null {
  if (!keys) return null;
  const head = scores.find((s) => s.headline);
  if (head) {
    for (const k of [head.metric, head.score, `${head.metric}.${head.score}`]) if (keys.includes(k)) return k;
  }
  return keys[0]!;
}

/** samples.jsonl lines (a torn last line is skipped; a later line for the same id replaces an earlier one). */
export function readSampleLines(artifactsDir: string, notes: string[]): Obj[] {
  const file = join(artifactsDir, 'samples.jsonl');
  const text = readText(file);
  if (text === undefined) {
    notes.push('no samples.jsonl (written by the built-in engine only): no per-sample view');
    return [];
  }
  const byId = new Map<string, Obj>();
  let bad = 0;
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    try {
      const v = JSON.parse(raw) as unknown;
      if (isPlainObject(v) && (typeof v.sample_id === 'string' || typeof v.sample_id === 'number'))
        byId.set(String(v.sample_id), v);
      else bad++;
    } catch {
      bad++;
    }
  }
  if (bad > 0) notes.push(`${bad} line(s) of samples.jsonl could not be read and are not shown`);
  return [...byId.values()];
}

/**
 * A sample's prompt, response or details longer than this is shown cut to it, with a note: a report of
 * many long replies stays small enough to open (the full text is in samples.jsonl).
 */
export const SAMPLE_TEXT_LIMIT = 20_000;

export function cutText(text: string, limit = SAMPLE_TEXT_LIMIT): string {
  return text.length > limit
    ? `${text.slice(0, limit)}\n[... cut: ${text.length} characters in all; the full text is in samples.jsonl]`
    : text;
}

/** A samples.jsonl line as the page shows it (its verdict is set once the verdict metric is known). */
function reportSampleOf(l: Obj): ReportSample {
  const scores: Record<string, number> = {};
  if (isPlainObject(l.scores))
    for (const [k, v] of Object.entries(l.scores)) if (typeof v === 'number') scores[k] = v;
  // `verdict` first: the page's JSON of a sample is made once, here, and its verdict spliced in (sampleJson)
  const s: ReportSample = {
    verdict: 'unscored',
    id: String(l.sample_id),
    index: typeof l.index === 'number' ? l.index : null,
    prompt: cutText(promptText(l.prompt ?? l.request)),
    responses: Array.isArray(l.responses)
      ? l.responses.map((r) => cutText(typeof r === 'string' ? r : showValue(r)))
      : [],
    extracted: Array.isArray(l.extracted) ? l.extracted.map((e) => (e === null ? null : showValue(e))) : [],
    target: l.target === undefined ? '' : showValue(l.target),
    scores,
    groups: sampleGroups(l),
    flags: Array.isArray(l.flags) ? l.flags.map(String) : [],
  };
  const inst = instructionsOf(l);
  if (inst) {
    s.instructions = inst.all;
    s.instructionsFailed = inst.failed;
  }
  if (typeof l.error === 'string') s.error = l.error;
  if (isPlainObject(l.details) && Object.keys(l.details).length > 0)
    s.details = cutText(JSON.stringify(l.details));
  return s;
}

/** What pairs a cached request with its sample: the messages (chat) or the prompt (completions). */
function requestPrompt(request: unknown): unknown {
  return isPlainObject(request) ? (request.messages ?? request.prompt) : undefined;
}

/** A raw request/response pair from report.json or the cache, as the page shows it. */
export interface RawPair {
  cache_key: string;
  endpoint: string;
  request: unknown;
  response: unknown;
}

const pretty = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v, null, 2));

/** A prompt a request can carry: a string, or a list of strings, token ids or chat messages. */
const requestShaped = (p: unknown): boolean =>
  typeof p === 'string' ||
  (Array.isArray(p) &&
    p.every((m) => typeof m === 'string' || typeof m === 'number' || (isPlainObject(m) && 'role' in m)));

/**
 * What pairs a prompt with a cached request's: the SHA-256 of its JSON (equal JSON, equal key); none for
 * a prompt no request carries (log-likelihood pairs, which go out batched as strings).
 */
const promptKey = (prompt: unknown): string | null =>
  requestShaped(prompt) ? sha256Hex(JSON.stringify(prompt)) : null;

/**
 * The JSON of each gathered sample as the page embeds it (embedJson), after its verdict: finish() sets
 * only `verdict` and `requests`, which sampleJson puts in front of it, so the sample is serialised once,
 * when it is added. A sample changed in any other way after that must not be given to samplesJson.
 */
const sampleJsonRest = new WeakMap<ReportSample, string>();
const UNSCORED_HEAD = '{"verdict":"unscored"';

/** A sample's JSON for the page, from its JSON made when it was gathered; null if there is none. */
function sampleJson(s: ReportSample): string | null {
  const rest = sampleJsonRest.get(s);
  if (rest === undefined) return null;
  const requests = s.requests === undefined ? '' : `,"requests":${JSON.stringify(s.requests)}`;
  return `{"verdict":${JSON.stringify(s.verdict)}${requests}${rest}`;
}

/**
 * The page's samples as embedded JSON (what embedJson(samples) gives, keys in another order), from each
 * sample's JSON made when ReportSamples gathered it; null when one was not gathered that way.
 */
export function samplesJson(samples: readonly ReportSample[]): string | null {
  const parts: string[] = [];
  for (const s of samples) {
    const j = sampleJson(s);
    if (j === null) return null;
    parts.push(j);
  }
  return `[${parts.join(',')}]`;
}

/**
 * The page's samples, gathered line by line: from samples.jsonl, or by the engine as it writes each line,
 * so that the report need not read the file back at the end of a run. A later line for the same id
 * replaces an earlier one. Each sample keeps only the key of its prompt, to find its cached
 * request/response pairs.
 */
export class ReportSamples {
  private readonly byId = new Map<string, { sample: ReportSample; prompt: string | null }>();
  private scoreKeys: string[] | null = null;

  static fromLines(lines: Obj[]): ReportSamples {
    const out = new ReportSamples();
    for (const l of lines) out.add(l);
    return out;
  }

  add(line: Obj): void {
    if (this.scoreKeys === null && isPlainObject(line.scores) && Object.keys(line.scores).length > 0)
      this.scoreKeys = Object.keys(line.scores);
    const sample = reportSampleOf(line);
    // Its JSON for the page now (during a run: while requests are in flight), not at the end.
    const json = embedJson(sample);
    if (json.startsWith(UNSCORED_HEAD)) sampleJsonRest.set(sample, json.slice(UNSCORED_HEAD.length));
    this.byId.set(sample.id, { sample, prompt: promptKey(line.prompt ?? line.request) });
  }

  /** The samples with their verdicts, and the pairs as the page lists them (each marked on its sample). */
  finish(
    scores: ReportScore[],
    pairs: RawPair[],
  ): { verdictMetric: string | null; samples: ReportSample[]; requests: ReportRequest[] } {
    const verdictMetric = pickVerdictMetric(this.scoreKeys, scores);
    const entries = [...this.byId.values()];
    // set in place (each finish sets them again): no copy of every sample
    const samples = entries.map(({ sample }) => {
      sample.verdict = verdictOf(sample.scores, verdictMetric, sample.error);
      delete sample.requests;
      return sample;
    });
    const requests = pairs.map((p) => ({
      key: p.cache_key,
      endpoint: p.endpoint,
      request: pretty(p.request),
      response: pretty(p.response),
    }));
    const byPrompt = new Map<string, number[]>();
    pairs.forEach((p, i) => {
      const k = promptKey(requestPrompt(p.request));
      if (k !== null) byPrompt.set(k, [...(byPrompt.get(k) ?? []), i]);
    });
    if (byPrompt.size > 0)
      entries.forEach(({ prompt }, i) => {
        const hit = prompt === null ? undefined : byPrompt.get(prompt);
        if (hit) samples[i]!.requests = hit;
      });
    return { verdictMetric, samples, requests };
  }
}

/** report.json of the engine (upstream's shape), as raw pairs. */
export function readReportJson(artifactsDir: string): RawPair[] | undefined {
  const text = readText(join(artifactsDir, 'report.json'));
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    if (!Array.isArray(v)) return undefined;
    return v.filter(isPlainObject).map((e) => ({
      cache_key: showValue(e.cache_key),
      endpoint: showValue(e.endpoint),
      request: e.display_request ?? e.request_data,
      response: e.response,
    }));
  } catch {
    return undefined;
  }
}

export interface JobReportOptions {
  /** The job's ids, when known (the launcher's exec DB). */
  jobId?: string | null;
  invocationId?: string | null;
  /** The built-in benchmarks' headlines (loadBuiltinHeadlines), or the engine's own benchmark. */
  headlines?: HeadlineLookup;
  /** The request/response pairs to show; default: report.json beside the artifacts. */
  pairs?: RawPair[];
  /** The samples, when the caller gathered them as it wrote samples.jsonl; default: read from the file. */
  samples?: ReportSamples;
  /**
   * results.yml and run_config.yml as a reader of the files sees them (sortedYamlView of the documents
   * written), when the caller has them; default: read from the files.
   */
  results?: Obj;
  runConfig?: Obj;
  title?: string;
  now?: () => Date;
}

const STAT_KEYS = [
  'count',
  'successful_count',
  'avg_prompt_tokens',
  'avg_completion_tokens',
  'avg_total_tokens',
  'max_prompt_tokens',
  'max_completion_tokens',
  'max_total_tokens',
  'avg_latency_ms',
  'max_latency_ms',
  'finish_reason',
  'stop_reason',
  'status_codes',
  'tool_calls_count',
  'function_calls_count',
  'inference_time',
  'run_id',
];

/** The report data of one job, from its artifacts dir. Missing files become notes, never errors. */
export function buildJobReportData(artifactsDir: string, opts: JobReportOptions = {}): JobReportData {
  const notes: string[] = [];
  const results = opts.results ?? readYamlObj(join(artifactsDir, 'results.yml'), notes);
  if (!results) notes.push('no results.yml: the run has not finished (or failed); no scores');
  const runConfig = opts.runConfig ?? readYamlObj(join(artifactsDir, 'run_config.yml'), notes) ?? results;
  const config = runConfig && isPlainObject(runConfig.config) ? runConfig.config : {};
  const target = runConfig && isPlainObject(runConfig.target) ? runConfig.target : {};
  const api = isPlainObject(target.api_endpoint) ? target.api_endpoint : {};
  const metricsFile = readJsonObj(join(artifactsDir, 'eval_factory_metrics.json'), notes);
  const mf = isPlainObject(metricsFile) ? metricsFile : {};
  const rs = isPlainObject(mf.response_stats) ? mf.response_stats : {};
  const ev = isPlainObject(mf.evaluation) ? mf.evaluation : {};
  const scores = reportScores(results, opts.headlines);
  const collected = opts.samples ?? ReportSamples.fromLines(readSampleLines(artifactsDir, notes));
  const pairs = opts.pairs ?? readReportJson(artifactsDir) ?? [];
  const { verdictMetric, samples, requests } = collected.finish(scores, pairs);
  const failed = results && isPlainObject(results.failed_samples) ? results.failed_samples : undefined;
  if (failed) notes.push(`${showValue(failed.count)} sample(s) failed and were counted as wrong`);
  const task = typeof config.type === 'string' ? config.type : (scores[0]?.task ?? 'unknown task');
  const model = typeof api.model_id === 'string' ? api.model_id : null;
  const params = flatten(config.params);
  return {
    kind: 'job',
    title: opts.title ?? `${task}${model ? ` - ${model}` : ''}`,
    generatedAt: (opts.now?.() ?? new Date()).toISOString(),
    job: {
      jobId: opts.jobId ?? null,
      invocationId: opts.invocationId ?? null,
      task,
      model,
      url: typeof api.url === 'string' ? api.url : null,
      endpointType: typeof api.type === 'string' ? api.type : null,
    },
    params,
    scores,
    verdictMetric,
    stats: STAT_KEYS.filter((k) => k in rs).map((k) => [k, showValue(rs[k])]),
    timings: flatten(ev),
    samples,
    requests,
    notes,
  };
}
