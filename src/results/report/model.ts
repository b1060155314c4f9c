/**
 * The data of the HTML reports, read from a job's artifacts: results.yml (scores with their standard
 * errors), run_config.yml (parameters, model), eval_factory_metrics.json (the response_stats interceptor's
 * token counts and latencies, the engine's timings), samples.jsonl (every sample) and the request/response
 * pairs of the cache (report.json, or the cache itself). Plain data: the page (page.ts) renders it; the
 * samples go to the page as their samples.jsonl lines, which it shapes itself (sample-view.ts).
 *
 * Kept free of launcher modules: the engine builds a job's report at the end of its run from this file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '../../common/hash.js';
import { isPlainObject, type Obj } from '../../common/objects.js';
import { parseYaml } from '../../common/yaml.js';
import type { HeadlineLookup } from '../scores.js';
import { escapeEmbedded } from './html.js';
import { viewSamples, type ReportSample } from './sample-view.js';

export { viewSamples, type ReportSample } from './sample-view.js';

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

/** One cached request and its response (today's report.html content), as pretty text. */
export interface ReportRequest {
  key: string;
  endpoint: string;
  request: string;
  response: string;
  /** The JSON of the request's messages (chat) or prompt (completions): a sample with it is its sample. */
  prompt: string | null;
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
  /** The response_stats block of eval_factory_metrics.json (token counts, latency, finish reasons). */
  stats: [string, string][];
  /** The engine's timings (the evaluation block of eval_factory_metrics.json). */
  timings: [string, string][];
  /** The samples.jsonl lines (long ones cut), which the page shapes (jobSamples here). */
  lines: SampleLines;
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

/** A prompt (chat messages, a completion prompt or log-likelihood pairs) as text, as the page shows it. */
export function promptText(prompt: unknown): string {
  return viewSamples([{ sample_id: '', prompt }], [], []).samples[0]!.prompt;
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

/** The JSON of a cached request's messages (chat) or prompt (completions): what pairs it with a sample. */
function requestPromptJson(request: unknown): string | null {
  const p = isPlainObject(request) ? (request.messages ?? request.prompt) : undefined;
  return requestShaped(p) ? JSON.stringify(p) : null;
}

/**
 * A line longer than SAMPLE_TEXT_LIMIT as the report embeds it: a copy with its long prompt (then as
 * text), responses and texts in its details cut, and the SHA-256 of its full prompt's JSON, by which its
 * requests are found (the page cannot match a cut prompt).
 */
function cutLine(line: Obj): { line: Obj; promptKey: string | null } {
  const out: Obj = { ...line };
  const prompt = line.prompt ?? line.request;
  const key = prompt !== undefined && requestShaped(prompt) ? sha256Hex(JSON.stringify(prompt)) : null;
  const text = promptText(prompt);
  if (text.length > SAMPLE_TEXT_LIMIT) {
    out.prompt = cutText(text);
    delete out.request;
  }
  if (Array.isArray(line.responses))
    out.responses = line.responses.map((r) => cutText(typeof r === 'string' ? r : showValue(r)));
  // details keep their shape (IFEval's instruction lists: the page filters on them); long texts in them cut
  if (line.details !== undefined) out.details = cutStrings(line.details);
  return { line: out, promptKey: key };
}

/** A JSON value with each string longer than SAMPLE_TEXT_LIMIT cut (cutText). */
function cutStrings(v: unknown): unknown {
  if (typeof v === 'string') return cutText(v);
  if (Array.isArray(v)) return v.map(cutStrings);
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cutStrings(x)]));
  return v;
}

/** The lines a job report embeds, as JSON safe inside the page's data block. */
export class SampleLines {
  constructor(
    private readonly texts: readonly string[],
    /** The number of lines. */
    readonly count: number,
  ) {}

  /** The lines as a JSON array, safe inside `<script>` (embedJson's escapes). */
  json(): string {
    return escapeEmbedded(`[${this.texts.join(',')}]`);
  }

  parsed(): Obj[] {
    return JSON.parse(`[${this.texts.join(',')}]`) as Obj[];
  }

  /** JSON.stringify(data) gives the lines themselves. */
  toJSON(): Obj[] {
    return this.parsed();
  }
}

/**
 * The report's samples, gathered line by line: from samples.jsonl, or by the engine as it writes each
 * line (given its JSON as written, which the report then embeds as it is), so that the report need not
 * read the file back at the end of a run, nor shape every sample: the page shapes the lines
 * (sample-view.ts). A later line for the same id replaces an earlier one.
 */
export class ReportSamples {
  private readonly byId = new Map<string, string | { line: Obj; promptKey: string | null }>();

  static fromLines(lines: Obj[]): ReportSamples {
    const out = new ReportSamples();
    for (const l of lines) out.add(l);
    return out;
  }

  /** Add a samples.jsonl line; `json`: JSON.stringify(line), when the caller has it. */
  add(line: Obj, json?: string): void {
    const text = json ?? JSON.stringify(line);
    // no text in a line is longer than the line's JSON
    this.byId.set(String(line.sample_id), text.length <= SAMPLE_TEXT_LIMIT ? text : cutLine(line));
  }

  /** The lines to embed; a cut line carries its requests' indices among `requests` (as the page lists them). */
  finish(requests: readonly ReportRequest[]): SampleLines {
    const byKey = new Map<string, number[]>();
    requests.forEach((r, i) => {
      if (r.prompt === null) return;
      const k = sha256Hex(r.prompt);
      byKey.set(k, [...(byKey.get(k) ?? []), i]);
    });
    const texts: string[] = [];
    for (const v of this.byId.values()) {
      if (typeof v === 'string') {
        texts.push(v);
        continue;
      }
      const hit = v.promptKey === null ? undefined : byKey.get(v.promptKey);
      texts.push(JSON.stringify(hit ? { ...v.line, requests: hit } : v.line));
    }
    return new SampleLines(texts, texts.length);
  }
}

/** The report's rows of a job's samples (sample-view.ts: as the page shows them). */
export function jobSamples(data: JobReportData): { verdictMetric: string | null; samples: ReportSample[] } {
  return viewSamples(data.lines.parsed(), data.scores, data.requests);
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
  const requests = pairs.map((p) => ({
    key: p.cache_key,
    endpoint: p.endpoint,
    request: pretty(p.request),
    response: pretty(p.response),
    prompt: requestPromptJson(p.request),
  }));
  const lines = collected.finish(requests);
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
    stats: STAT_KEYS.filter((k) => k in rs).map((k) => [k, showValue(rs[k])]),
    timings: flatten(ev),
    lines,
    requests,
    notes,
  };
}
