/** Response-stage interceptors: response_logging, reasoning, progress_tracking, raise_client_errors. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/fs.js';
import { isPlainObject, type Obj } from '../../common/objects.js';
import { mergeMetricsBlock } from '../output/metrics-file.js';
import { redactHeaders } from './request-interceptors.js';
import type { SettingsOf, SettingsSchema } from './settings.js';
import {
  defineInterceptor,
  FatalInterceptorError,
  type AdapterResponse,
  type InterceptorDeps,
  type InterceptorHooks,
} from './types.js';

export const responseLoggingInterceptor = defineInterceptor({
  name: 'response_logging',
  stage: 'response',
  settings: {
    log_response_body: { kind: 'boolean' },
    log_response_headers: { kind: 'boolean' },
    max_responses: { kind: 'number', nullable: true },
  },
  create(config, { log }) {
    const max = config.max_responses ?? null;
    const logBody = config.log_response_body !== false;
    const logHeaders = config.log_response_headers !== false;
    let n = 0;
    return {
      onResponse(res) {
        if (max == null || n < max) {
          n++;
          log.info('Outgoing response', {
            status: res.status,
            cache_hit: res.cacheHit,
            headers: logHeaders ? redactHeaders(res.headers) : undefined,
            body: logBody ? (res.body ?? res.text) : undefined,
          });
        }
        return res;
      },
    };
  },
});

export const raiseClientErrorsInterceptor = defineInterceptor({
  name: 'raise_client_errors',
  stage: 'response',
  settings: {
    status_codes: { kind: 'number-list', nullable: true },
    exclude_status_codes: { kind: 'number-list', nullable: true },
    status_code_range_start: { kind: 'number' },
    status_code_range_end: { kind: 'number' },
  },
  create(config) {
    const codes = config.status_codes ?? null;
    const exclude = config.exclude_status_codes ?? [408, 429];
    const start = config.status_code_range_start ?? 400;
    const end = config.status_code_range_end ?? 499;
    return {
      onResponse(res) {
        const s = res.status;
        const fatal = codes?.includes(s) ? true : exclude.includes(s) ? false : s >= start && s <= end;
        if (fatal) {
          const detail = res.text.replace(/\s+/g, ' ').slice(0, 200);
          throw new FatalInterceptorError(`the endpoint answered HTTP ${s} (client error): ${detail}`);
        }
        return res;
      },
    };
  },
});

const words = (s: string): number => (s.trim() ? s.trim().split(/\s+/).length : 0);

interface ReasoningStats {
  total_responses: number;
  responses_with_reasoning: number;
  reasoning_finished_count: number;
  reasoning_started_count: number;
  reasoning_unfinished_count: number;
  reasoning_words: number[];
  original_content_words: number[];
  updated_content_words: number[];
  reasoning_tokens: number[];
  updated_content_tokens: number[];
}

const REASONING_SETTINGS = {
  start_reasoning_token: { kind: 'string' },
  end_reasoning_token: { kind: 'string' },
  add_reasoning: { kind: 'boolean' },
  migrate_reasoning_content: { kind: 'boolean' },
  include_if_not_finished: { kind: 'boolean' },
  enable_reasoning_tracking: { kind: 'boolean' },
  stats_file_saving_interval: { kind: 'number', nullable: true },
  // Accepted as upstream's; the statistics go to eval_factory_metrics.json.
  enable_caching: { kind: 'boolean' },
  cache_dir: { kind: 'string', nullable: true },
  logging_aggregated_stats_interval: { kind: 'number', nullable: true },
} as const satisfies SettingsSchema;

/** Strip `<think>…</think>` (everything up to the last end token) and count reasoning (engine-spec 7.5). */
export const reasoningInterceptor = defineInterceptor({
  name: 'reasoning',
  stage: 'response',
  settings: REASONING_SETTINGS,
  create(config, { outputDir }) {
    return reasoningHooks(config, outputDir);
  },
});

function reasoningHooks(config: SettingsOf<typeof REASONING_SETTINGS>, outputDir: string): InterceptorHooks {
  const startTok = config.start_reasoning_token ?? '<think>';
  const endTok = config.end_reasoning_token ?? '</think>';
  const addReasoning = config.add_reasoning !== false;
  const migrate = config.migrate_reasoning_content === true;
  const includeUnfinished = config.include_if_not_finished !== false;
  const tracking = config.enable_reasoning_tracking !== false;
  const interval = config.stats_file_saving_interval ?? null;
  const st: ReasoningStats = {
    total_responses: 0,
    responses_with_reasoning: 0,
    reasoning_finished_count: 0,
    reasoning_started_count: 0,
    reasoning_unfinished_count: 0,
    reasoning_words: [],
    original_content_words: [],
    updated_content_words: [],
    reasoning_tokens: [],
    updated_content_tokens: [],
  };
  const block = (): Obj => {
    const agg = (name: keyof ReasoningStats): Obj => {
      const xs = st[name] as number[];
      const total = xs.reduce((a, b) => a + b, 0);
      return {
        [`avg_${name}`]: xs.length ? Math.round((total / xs.length) * 100) / 100 : 0,
        [`max_${name}`]: xs.length ? Math.max(...xs) : 0,
        [`total_${name}`]: total,
      };
    };
    return {
      description: 'Reasoning statistics saved during processing',
      total_responses: st.total_responses,
      responses_with_reasoning: st.responses_with_reasoning,
      reasoning_finished_count: st.reasoning_finished_count,
      reasoning_started_count: st.reasoning_started_count,
      reasoning_unfinished_count: st.reasoning_unfinished_count,
      reasoning_finished_ratio: st.responses_with_reasoning
        ? st.reasoning_finished_count / st.responses_with_reasoning
        : 0,
      ...agg('reasoning_words'),
      ...agg('original_content_words'),
      ...agg('updated_content_words'),
      ...agg('reasoning_tokens'),
      ...agg('updated_content_tokens'),
    };
  };
  const save = (): void => mergeMetricsBlock(outputDir, 'reasoning', block());
  return {
    onResponse(res): AdapterResponse {
      if (res.cacheHit || res.status !== 200 || !isPlainObject(res.body) || !Array.isArray(res.body.choices))
        return res;
      let changed = false;
      const usage = isPlainObject(res.body.usage) ? res.body.usage : {};
      for (const choice of res.body.choices as Obj[]) {
        const msg = choice.message;
        if (!isPlainObject(msg) || typeof msg.content !== 'string') continue;
        const original = msg.content;
        let updated = original;
        let reasoning = '';
        let finished = false;
        let started = false;
        if (msg.reasoning_content != null) {
          reasoning = String(msg.reasoning_content);
          started = finished = true;
          if (migrate) {
            updated = `${startTok}${reasoning}${endTok}${original}`;
          }
        } else if (original.includes(endTok)) {
          const cut = original.lastIndexOf(endTok);
          reasoning = original.slice(0, cut).replace(startTok, '');
          started = finished = true;
          if (addReasoning) updated = original.slice(cut + endTok.length).replace(/^\n+|\n+$/g, '');
        } else {
          started = original.includes(startTok);
          if (started) reasoning = original.replace(startTok, '');
          if (addReasoning && !includeUnfinished) updated = '';
        }
        if (updated !== original) {
          msg.content = updated;
          changed = true;
        }
        if (tracking) {
          st.total_responses++;
          if (started || finished) st.responses_with_reasoning++;
          if (finished) st.reasoning_finished_count++;
          if (started) st.reasoning_started_count++;
          if (started && !finished) st.reasoning_unfinished_count++;
          st.reasoning_words.push(words(reasoning));
          st.original_content_words.push(words(original));
          st.updated_content_words.push(words(updated));
          const details = (usage.completion_tokens_details ?? usage.output_tokens_details) as Obj | undefined;
          const rt = (usage.reasoning_tokens ?? details?.reasoning_tokens) as number | undefined;
          if (typeof rt === 'number') st.reasoning_tokens.push(rt);
          if (typeof rt === 'number' && typeof usage.completion_tokens === 'number') {
            st.updated_content_tokens.push(usage.completion_tokens - rt);
          }
        }
      }
      if (tracking && interval && st.total_responses % interval === 0) save();
      return changed ? { ...res, text: JSON.stringify(res.body) } : res;
    },
    postEval() {
      if (tracking) save();
    },
  };
}

const PROGRESS_TRACKING_SETTINGS = {
  progress_tracking_url: { kind: 'string', nullable: true },
  progress_tracking_interval: { kind: 'number' },
  // Accepted as upstream's; progress is counted in responses only.
  progress_tracking_interval_seconds: { kind: 'number', nullable: true },
  request_method: { kind: 'string' },
  output_dir: { kind: 'string', nullable: true },
} as const satisfies SettingsSchema;

/**
 * `progress_tracking`: counts non-cached HTTP 200 responses; every `progress_tracking_interval` sends
 * `{"samples_processed": N}` to `progress_tracking_url` (only when configured explicitly) and writes N to
 * `<output_dir>/progress` when `output_dir` is set and is not the run's own output dir (the engine writes
 * that one itself, counting cached answers too). Writes are monotonic.
 */
export const progressTrackingInterceptor = defineInterceptor({
  name: 'progress_tracking',
  stage: 'response',
  settings: PROGRESS_TRACKING_SETTINGS,
  create(config, deps) {
    return progressTrackingHooks(config, deps);
  },
});

function progressTrackingHooks(
  config: SettingsOf<typeof PROGRESS_TRACKING_SETTINGS>,
  { outputDir: runOutputDir, log, fetch: fetchImpl }: InterceptorDeps,
): InterceptorHooks {
  const url =
    typeof config.progress_tracking_url === 'string' ? expandEnv(config.progress_tracking_url) : null;
  const every = Math.max(1, config.progress_tracking_interval ?? 1);
  const method = (config.request_method ?? 'PATCH').toUpperCase();
  const dir =
    typeof config.output_dir === 'string' && config.output_dir !== runOutputDir ? config.output_dir : null;
  const file = dir ? join(dir, 'progress') : null;
  let count = 0;
  if (file && existsSync(file)) count = Number(readFileSync(file, 'utf8').trim()) || 0;
  let written = count;
  const flush = async (): Promise<void> => {
    const n = count;
    if (file && n > written) {
      written = n;
      writeFileAtomic(file, `${n}\n`);
    }
    if (url) {
      try {
        await fetchImpl(url, {
          method,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ samples_processed: n }),
          signal: AbortSignal.timeout(5000),
        });
      } catch (e) {
        log.warn('progress tracking request failed', {
          url,
          error: e instanceof Error ? e.message : String(e),
        });
      }
    }
  };
  return {
    async onResponse(res) {
      if (!res.cacheHit && res.status === 200) {
        count++;
        if (count % every === 0) await flush();
      }
      return res;
    },
    async postEval() {
      await flush();
    },
  };
}

function expandEnv(s: string): string {
  return s.replace(
    /\$\{(\w+)\}|\$(\w+)/g,
    (_m, a: string | undefined, b: string | undefined) => process.env[(a ?? b)!] ?? '',
  );
}
