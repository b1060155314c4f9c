/**
 * post_eval_report: report.json and report.html from the request/response caches (engine-spec 6.7).
 * Pairs each cached request with its cached response, sorted by cache key, first `html_report_size`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/fs.js';
import { DiskCacheStore } from '../adapters/disk-cache-store.js';

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

export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

export function renderReportHtml(entries: ReportEntry[], title: string): string {
  const pretty = (v: unknown): string => escapeHtml(typeof v === 'string' ? v : JSON.stringify(v, null, 2));
  const rows = entries
    .map(
      (e, i) => `<section class="pair">
<h2>Request ${i + 1} <small>${escapeHtml(e.cache_key)}</small></h2>
<p>Endpoint: <code>${escapeHtml(e.endpoint)}</code></p>
<div class="cols"><div><h3>Request</h3><pre>${pretty(e.display_request)}</pre></div>
<div><h3>Response</h3><pre>${pretty(e.response)}</pre></div></div>
</section>`,
    )
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;margin:2em}pre{white-space:pre-wrap;word-break:break-word;background:#f6f6f6;padding:1em}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:1em}.pair{border-top:1px solid #ccc;margin-top:1.5em}</style>
</head><body><h1>${escapeHtml(title)}</h1><p>${entries.length} request/response pair(s)</p>
${rows}
</body></html>
`;
}

/** Write the report files; nothing is written when no request was cached. Returns the entry count. */
export function writeReport(opts: {
  outputDir: string;
  cacheDir: string;
  endpoint: string;
  reportTypes: string[];
  size: number | null;
  title: string;
}): number {
  const entries = collectReportEntries(opts.cacheDir, opts.endpoint, opts.size);
  if (entries.length === 0) return 0;
  if (opts.reportTypes.includes('json')) {
    writeFileAtomic(join(opts.outputDir, 'report.json'), JSON.stringify(entries, null, 2) + '\n');
  }
  if (opts.reportTypes.includes('html')) {
    writeFileAtomic(join(opts.outputDir, 'report.html'), renderReportHtml(entries, opts.title));
  }
  return entries.length;
}
