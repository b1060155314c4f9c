/**
 * One self-contained HTML file for every report kind: the page's CSS and script inlined (page.ts), the
 * data embedded as JSON in a `<script type="application/json">` block. No network: the page's
 * Content-Security-Policy allows nothing to be fetched, and only the page's own script (by its hash) to run.
 */
import { createHash, randomUUID } from 'node:crypto';
import { PAGE_CSS, PAGE_SCRIPT } from './page.js';

export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const SCRIPT_UNSAFE = /[<>&\u2028\u2029]/g;
const SCRIPT_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/**
 * JSON safe inside a `<script>` element: `<`, `>` and `&` (and the JS line separators) as \u escapes, so
 * no value can close the element or open a comment; JSON.parse reads it back unchanged.
 */
export function embedJson(value: unknown): string {
  return escapeEmbedded(JSON.stringify(value));
}

/** JSON text made safe inside a `<script>` element (embedJson's escapes). */
export function escapeEmbedded(json: string): string {
  return json.replace(SCRIPT_UNSAFE, (c) => SCRIPT_ESCAPES[c]!);
}

/**
 * embedJson of an object with some of its top-level values given as embedded JSON already (`given`, by
 * key): each is put in place of a placeholder, so it is not serialised again.
 */
export function embedJsonWith(value: Record<string, unknown>, given: Record<string, string>): string {
  const token = `nel-embedded-${randomUUID()}`;
  const copy: Record<string, unknown> = { ...value };
  for (const k of Object.keys(given)) copy[k] = `${token}-${k}`;
  let out = embedJson(copy);
  for (const [k, json] of Object.entries(given)) {
    const at = out.indexOf(`"${token}-${k}"`);
    if (at < 0) throw new Error(`embedJsonWith: no placeholder for ${k}`);
    out = out.slice(0, at) + json + out.slice(at + token.length + k.length + 3);
  }
  return out;
}

const SCRIPT_HASH = createHash('sha256').update(PAGE_SCRIPT, 'utf8').digest('base64');

/** The Content-Security-Policy of every report: no fetches at all; only the page's script runs. */
export const REPORT_CSP =
  `default-src 'none'; script-src 'sha256-${SCRIPT_HASH}'; style-src 'unsafe-inline'; ` +
  `img-src 'none'; base-uri 'none'; form-action 'none'`;

/**
 * The report page of `data` (a job, invocation or comparison report; `kind` selects the view). `given`:
 * top-level values of `data` already as embedded JSON (embedJsonWith), used in their place.
 */
export function renderReportPage(
  data: { kind: string; title: string },
  given?: Record<string, string>,
): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(REPORT_CSP)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="nemo-evaluator-launcher report (${escapeHtml(data.kind)})">
<title>${escapeHtml(data.title)}</title>
<style>${PAGE_CSS}</style>
</head><body>
<noscript><p>This report needs JavaScript to show its data (embedded in the page as JSON).</p></noscript>
<main id="app"></main>
<script type="application/json" id="nel-data">${given ? embedJsonWith(data, given) : embedJson(data)}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}
