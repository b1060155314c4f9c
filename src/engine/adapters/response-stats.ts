/**
 * `response_stats`: status codes, latency, token usage and finish reasons of non-cached responses, written
 * to the `response_stats` block of eval_factory_metrics.json. State persists in <cache_dir>/cache.db
 * (key `interceptor_state`) so that a rerun continues with run_id + 1.
 */
import { errorMessage, NelError, systemError } from '../../common/errors.js';
import { mkdirp } from '../../common/fs.js';
import { isPlainObject, type Obj } from '../../common/objects.js';
import { mergeMetricsBlock } from '../output/metrics-file.js';
import { DiskCacheStore } from './disk-cache-store.js';
import type { SettingsOf, SettingsSchema } from './settings.js';
import { defineInterceptor, type InterceptorDeps, type InterceptorHooks } from './types.js';

interface Aggregates {
  count: number;
  successful_count: number;
  tool_calls_count: number;
  function_calls_count: number;
  sum_prompt_tokens: number;
  sum_total_tokens: number;
  sum_completion_tokens: number;
  sum_latency_ms: number;
  token_samples: number;
  max_prompt_tokens: number;
  max_total_tokens: number;
  max_completion_tokens: number;
  max_latency_ms: number;
  finish_reason: Record<string, number>;
  stop_reason: Record<string, number>;
  status_codes: Record<string, number>;
  inference_time: number;
  inference_run_times: Record<string, Obj>;
}

const emptyAggregates = (): Aggregates => ({
  count: 0,
  successful_count: 0,
  tool_calls_count: 0,
  function_calls_count: 0,
  sum_prompt_tokens: 0,
  sum_total_tokens: 0,
  sum_completion_tokens: 0,
  sum_latency_ms: 0,
  token_samples: 0,
  max_prompt_tokens: 0,
  max_total_tokens: 0,
  max_completion_tokens: 0,
  max_latency_ms: 0,
  finish_reason: {},
  stop_reason: {},
  status_codes: {},
  inference_time: 0,
  inference_run_times: {},
});

/** Periodic saves rewrite eval_factory_metrics.json and a cache row: not more often than this. */
const MIN_SAVE_INTERVAL_MS = 1000;

const round2 = (x: number): number => Math.round(x * 100) / 100;
const localIso = (ms: number): string => new Date(ms).toISOString().replace('Z', '');

const RESPONSE_STATS_SETTINGS = {
  collect_token_stats: { kind: 'boolean' },
  collect_finish_reasons: { kind: 'boolean' },
  collect_tool_calls: { kind: 'boolean' },
  stats_file_saving_interval: { kind: 'number', nullable: true },
  // Accepted as upstream's; per-response rows are not kept.
  save_individuals: { kind: 'boolean' },
  cache_dir: { kind: 'string', nullable: true },
  logging_aggregated_stats_interval: { kind: 'number', nullable: true },
} as const satisfies SettingsSchema;

export const responseStatsInterceptor = defineInterceptor({
  name: 'response_stats',
  stage: 'response',
  settings: RESPONSE_STATS_SETTINGS,
  create: (config, deps) => responseStatsHooks(config, deps),
});

function responseStatsHooks(
  config: SettingsOf<typeof RESPONSE_STATS_SETTINGS>,
  { outputDir, now, log }: InterceptorDeps,
): InterceptorHooks & { snapshot(): Obj } {
  const logEvery = config.logging_aggregated_stats_interval ?? 100;
  const collectTokens = config.collect_token_stats !== false;
  const collectFinish = config.collect_finish_reasons !== false;
  const collectTools = config.collect_tool_calls !== false;
  const saveEvery = config.stats_file_saving_interval ?? 100;
  // the folder now, so that one that cannot be written ends the run before any request
  if (typeof config.cache_dir === 'string') mkdirp(config.cache_dir);
  const runStart = now();
  // The saved state of earlier runs, read at the first reply (or at the end): the store is not opened
  // before the first requests go out.
  let state: {
    store: DiskCacheStore | null;
    runIds: { run_id: number; start: number }[];
    runId: number;
    agg: Aggregates;
  } | null = null;
  const loaded = (): NonNullable<typeof state> => {
    if (state) return state;
    let store: DiskCacheStore | null = null;
    try {
      if (typeof config.cache_dir === 'string') store = new DiskCacheStore(config.cache_dir);
    } catch (e) {
      // ends the run (the chain passes a NelError on), as a failure at the start would
      throw (
        systemError(e, String(config.cache_dir)) ??
        new NelError(
          'ENGINE_RUN',
          `cannot open the response statistics store in ${String(config.cache_dir)}: ${errorMessage(e)}`,
          {
            hint: "check that the response_stats interceptor's cache_dir can be read and written, or move its cache.db aside",
          },
        )
      );
    }
    const prior = store?.getJson('interceptor_state') as
      { run_ids?: { run_id: number; start: number }[]; aggregated_stats?: Aggregates } | undefined;
    const runIds = prior?.run_ids ?? [];
    const runId = runIds.length ? Math.max(...runIds.map((r) => r.run_id)) + 1 : 0;
    runIds.push({ run_id: runId, start: runStart / 1000 });
    state = { store, runIds, runId, agg: { ...emptyAggregates(), ...(prior?.aggregated_stats ?? {}) } };
    return state;
  };
  let first: number | null = null;
  let last: number | null = null;
  let sinceSave = 0;
  let lastSave = -Infinity;

  const snapshot = (): Obj => {
    const { agg, runId } = loaded();
    const runTime = first != null && last != null ? (last - first) / 1000 : 0;
    const runTimes = { ...agg.inference_run_times };
    if (first != null && last != null) {
      runTimes[String(runId)] = {
        run_start: localIso(runStart),
        first_request_time: localIso(first),
        last_request_time: localIso(last),
        inference_time: runTime,
        time_to_first_request_seconds: (first - runStart) / 1000,
      };
    }
    const n = agg.token_samples;
    return {
      description: 'Response statistics saved during processing',
      avg_prompt_tokens: n ? round2(agg.sum_prompt_tokens / n) : 0,
      avg_total_tokens: n ? round2(agg.sum_total_tokens / n) : 0,
      avg_completion_tokens: n ? round2(agg.sum_completion_tokens / n) : 0,
      avg_latency_ms: agg.count ? round2(agg.sum_latency_ms / agg.count) : 0,
      max_prompt_tokens: agg.max_prompt_tokens,
      max_total_tokens: agg.max_total_tokens,
      max_completion_tokens: agg.max_completion_tokens,
      max_latency_ms: round2(agg.max_latency_ms),
      count: agg.count,
      successful_count: agg.successful_count,
      tool_calls_count: agg.tool_calls_count,
      function_calls_count: agg.function_calls_count,
      finish_reason: agg.finish_reason,
      stop_reason: agg.stop_reason,
      status_codes: agg.status_codes,
      inference_time: agg.inference_time + runTime,
      run_id: runId,
      last_request_time: last != null ? last / 1000 : null,
      inference_run_times: runTimes,
    };
  };
  const persist = (): void => {
    const s = snapshot();
    mergeMetricsBlock(outputDir, 'response_stats', s);
    const { store, agg, runIds } = loaded();
    if (store) {
      const saved: Aggregates = {
        ...agg,
        inference_time: s.inference_time as number,
        inference_run_times: s.inference_run_times as Record<string, Obj>,
      };
      store.putJson('interceptor_state', { run_ids: runIds, aggregated_stats: saved });
    }
  };
  return {
    snapshot,
    onResponse(res) {
      if (res.cacheHit) return res;
      const { agg } = loaded();
      const t = now();
      first ??= t;
      last = t;
      agg.count++;
      agg.status_codes[String(res.status)] = (agg.status_codes[String(res.status)] ?? 0) + 1;
      agg.sum_latency_ms += res.latencyMs;
      agg.max_latency_ms = Math.max(agg.max_latency_ms, res.latencyMs);
      if (res.status === 200 && isPlainObject(res.body)) {
        agg.successful_count++;
        const usage = isPlainObject(res.body.usage) ? res.body.usage : null;
        if (collectTokens && usage) {
          const p = Number(usage.prompt_tokens ?? 0);
          const c = Number(usage.completion_tokens ?? 0);
          const tot = Number(usage.total_tokens ?? p + c);
          agg.token_samples++;
          agg.sum_prompt_tokens += p;
          agg.sum_completion_tokens += c;
          agg.sum_total_tokens += tot;
          agg.max_prompt_tokens = Math.max(agg.max_prompt_tokens, p);
          agg.max_completion_tokens = Math.max(agg.max_completion_tokens, c);
          agg.max_total_tokens = Math.max(agg.max_total_tokens, tot);
        }
        const choice = Array.isArray(res.body.choices) ? (res.body.choices[0] as Obj | undefined) : undefined;
        if (choice && collectFinish) {
          if (typeof choice.finish_reason === 'string') {
            agg.finish_reason[choice.finish_reason] = (agg.finish_reason[choice.finish_reason] ?? 0) + 1;
          }
          if (choice.stop_reason != null) {
            const k = String(choice.stop_reason);
            agg.stop_reason[k] = (agg.stop_reason[k] ?? 0) + 1;
          }
        }
        const msg = choice && isPlainObject(choice.message) ? choice.message : null;
        if (msg && collectTools) {
          if (Array.isArray(msg.tool_calls)) agg.tool_calls_count += msg.tool_calls.length;
          if (msg.function_call != null) agg.function_calls_count++;
        }
      }
      if (logEvery && agg.count % logEvery === 0) {
        const snap = snapshot();
        log.info('response stats', {
          count: snap.count,
          successful: snap.successful_count,
          avg_latency_ms: snap.avg_latency_ms,
          avg_completion_tokens: snap.avg_completion_tokens,
        });
      }
      // Every `saveEvery` responses, but at most once per MIN_SAVE_INTERVAL_MS (postEval writes the rest).
      if (++sinceSave >= (saveEvery ?? Infinity) && t - lastSave >= MIN_SAVE_INTERVAL_MS) {
        sinceSave = 0;
        lastSave = t;
        persist();
      }
      return res;
    },
    postEval() {
      persist();
    },
    close() {
      state?.store?.close();
    },
  };
}
