/**
 * One self-contained HTML file for every report kind: the page's CSS and script inlined (page.ts), the
 * data embedded as JSON in a `<script type="application/json">` block. No network: the page's
 * Content-Security-Policy allows nothing to be fetched, and only the page's own script (by its hash) to run.
 */
import { createHash, randomBytes } from 'node:crypto';
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

const scriptSafe = (json: string): string => json.replace(SCRIPT_UNSAFE, (c) => SCRIPT_ESCAPES[c]!);

/** An object's embedded JSON written ahead: all but its `late` keys, which are added when embedded. */
interface Ahead {
  text: string;
  late: readonly string[];
}
const ahead = new WeakMap<object, Ahead>();

/**
 * Serialize a report's sample now (while the run is still waiting on its endpoint) rather than at the
 * end: `embedJson` then uses this text for it, with the current values of its `late` keys (those set
 * when the report is built). The object must not change otherwise.
 */
export function embedAhead<T extends object>(obj: T, late: readonly (keyof T & string)[]): void {
  const rest = { ...obj } as Record<string, unknown>;
  for (const k of late) delete rest[k];
  ahead.set(obj, { text: scriptSafe(JSON.stringify(rest)), late });
}

function aheadText(obj: Record<string, unknown>, a: Ahead): string {
  let text = a.text.slice(0, -1);
  let first = text === '{';
  for (const k of a.late) {
    if (obj[k] === undefined) continue;
    text += `${first ? '' : ','}${JSON.stringify(k)}:${scriptSafe(JSON.stringify(obj[k]))}`;
    first = false;
  }
  return `${text}}`;
}

/**
 * JSON safe inside a `<script>` element: `<`, `>` and `&` (and the JS line separators) as \u escapes, so
 * no value can close the element or open a comment; JSON.parse reads it back unchanged. A top-level
 * `samples` list whose items were all serialized ahead (embedAhead) is spliced in from that text.
 */
export function embedJson(value: unknown): string {
  const samples = (value as { samples?: unknown } | null)?.samples;
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    !Array.isArray(samples) ||
    samples.length === 0 ||
    !samples.every((s) => typeof s === 'object' && s !== null && ahead.has(s as object))
  )
    return scriptSafe(JSON.stringify(value));
  // A string no value holds (a random nonce between NULs) marks where the list goes.
  const placeholder = `\u0000nel-samples-${randomBytes(8).toString('hex')}\u0000`;
  const marker = JSON.stringify(placeholder);
  const rest = scriptSafe(JSON.stringify({ ...value, samples: placeholder }));
  const at = rest.indexOf(marker);
  const list = samples.map((s) => aheadText(s as Record<string, unknown>, ahead.get(s as object)!));
  return `${rest.slice(0, at)}[${list.join(',')}]${rest.slice(at + marker.length)}`;
}

const SCRIPT_HASH = createHash('sha256').update(PAGE_SCRIPT, 'utf8').digest('base64');

/** The Content-Security-Policy of every report: no fetches at all; only the page's script runs. */
export const REPORT_CSP =
  `default-src 'none'; script-src 'sha256-${SCRIPT_HASH}'; style-src 'unsafe-inline'; ` +
  `img-src 'none'; base-uri 'none'; form-action 'none'`;

/** The report page of `data` (a job, invocation or comparison report; `kind` selects the view). */
export function renderReportPage(data: { kind: string; title: string }): string {
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
<script type="application/json" id="nel-data">${embedJson(data)}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}
