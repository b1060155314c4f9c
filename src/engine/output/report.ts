/**
 * post_eval_report: report.json from the request/response caches (engine-spec 6.7: each cached request
 * with its cached response, sorted by cache key, first `html_report_size`) and report.html, the job's
 * report (src/results/report), which shows those pairs beside every sample.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/fs.js';
import { DiskCacheStore } from '../adapters/disk-cache-store.js';
import type { HeadlineLookup } from '../../results/scores.js';
import { writeJobReport } from '../../results/report/job.js';
import type { ReportSamples } from '../../results/report/model.js';

export { escapeHtml } from '../../results/report/html.js';

export interface ReportEntry {
  request_data: unknown;
  display_request: unknown;
  response: unknown;
  endpoint: string;
  cache_key: string;
}

/** A body longer than this is embedded in the reports cut to this many characters, with a note. */
export const REPORT_BODY_LIMIT = 64 * 1024;

function bounded(text: string): unknown {
  if (text.length > REPORT_BODY_LIMIT) {
    return `${text.slice(0, REPORT_BODY_LIMIT)}\n[... truncated: ${text.length} characters in all; the full body is in the cache]`;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function collectReportEntries(cacheDir: string, endpoint: string, size: number | null): ReportEntry[] {
  const reqDir = join(cacheDir, 'requests');
  const resDir = join(cacheDir, 'responses');
  if (!existsSync(join(reqDir, 'cache.db')) || !existsSync(join(resDir, 'cache.db'))) return [];
  const requests = new DiskCacheStore(reqDir);
  const responses = new DiskCacheStore(resDir);
  try {
    let keys = requests.keys().filter((k) => responses.has(k));
    keys.sort();
    if (size != null) keys = keys.slice(0, size);
    return keys.map((key) => {
      let request: unknown = null;
      let response: unknown = null;
      try {
        request = bounded(requests.getBuffer(key)?.toString('utf8') ?? 'null');
        response = bounded(responses.getBuffer(key)?.toString('utf8') ?? 'null');
      } catch {
        /* an unreadable row: shown as null */
      }
      return { request_data: request, display_request: request, response, endpoint, cache_key: key };
    });
  } finally {
    requests.close();
    responses.close();
  }
}

/** Write the report files: report.json (upstream's shape, when asked for and a request was cached) and
 * report.html, the job's report (scores, run, tokens and timings, every sample; the cached request/response
 * pairs are one of its views). Returns the number of request/response pairs. */
export function writeReport(opts: {
  outputDir: string;
  cacheDir: string;
  endpoint: string;
  reportTypes: string[];
  size: number | null;
  title: string;
  /** The benchmark's headline, to mark it among the scores. */
  headlines?: HeadlineLookup;
  /** The samples as the run wrote them (default: read back from samples.jsonl). */
  samples?: ReportSamples;
  /** results.yml and run_config.yml as written (JobReportOptions; default: read back from the files). */
  results?: Record<string, unknown>;
  runConfig?: Record<string, unknown>;
}): number {
  const entries = collectReportEntries(opts.cacheDir, opts.endpoint, opts.size);
  if (opts.reportTypes.includes('json') && entries.length > 0) {
    writeFileAtomic(join(opts.outputDir, 'report.json'), JSON.stringify(entries, null, 2) + '\n');
  }
  if (opts.reportTypes.includes('html')) {
    writeJobReport(opts.outputDir, {
      title: opts.title,
      headlines: opts.headlines,
      samples: opts.samples,
      results: opts.results,
      runConfig: opts.runConfig,
      pairs: entries.map((e) => ({
        cache_key: e.cache_key,
        endpoint: e.endpoint,
        request: e.display_request,
        response: e.response,
      })),
    });
  }
  return entries.length;
}
