/**
 * The generated parts of docs/benchmarks.md: the benchmark table and the scorer/extractor tables, from
 * the registries. `node dist/src/engine/benchmarks/doc-table.js --write [docs/benchmarks.md]` rewrites the
 * text between the marker comments; test/benchmarks-registry.test.ts fails when the doc is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { listParts } from '../scoring/parts.js';
import { listBenchmarks } from './index.js';
import type { Benchmark } from './types.js';

export const TABLE_START =
  '<!-- benchmarks-table:start (generated: node dist/src/engine/benchmarks/doc-table.js --write) -->';
export const TABLE_END = '<!-- benchmarks-table:end -->';
export const PARTS_START =
  '<!-- scoring-parts:start (generated: node dist/src/engine/benchmarks/doc-table.js --write) -->';
export const PARTS_END = '<!-- scoring-parts:end -->';

function datasetCell(b: Benchmark): string {
  const d = b.dataset;
  if (!d) return 'your file';
  const where = d.config ? `${d.config}/${d.split}` : d.split;
  return `\`${d.repo}\` ${where}${d.gated ? ' (gated: `HF_TOKEN`)' : ''}`;
}

function metricsCell(b: Benchmark): string {
  return b.metrics
    .map((m) => `\`${m.metric}\` / \`${m.score}\`${m.groups ? ` (+ groups per ${m.groups})` : ''}`)
    .join('; ');
}

/** The benchmark table (Markdown), one row per registered benchmark, in registry order. */
export function benchmarkTable(list: readonly Benchmark[] = listBenchmarks()): string {
  const rows = list.map(
    (b) =>
      `| \`${b.name}\` | ${datasetCell(b)} | ${b.supportedEndpointTypes.join(', ')} | ${metricsCell(b)} | ${b.description.replace(/\|/g, '\\|')} |`,
  );
  return [
    '| task | default data set | endpoint types | metric in results.yml | description |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/** The scorer and extractor tables (Markdown). */
export function partsTables(): string {
  const { extractors, scorers } = listParts();
  const table = (head: string, parts: { name: string; description: string }[]) =>
    [
      `| ${head} | what it does |`,
      '|---|---|',
      ...parts.map((p) => `| \`${p.name}\` | ${p.description} |`),
    ].join('\n');
  return `${table('scorer', scorers)}\n\n${table('extractor', extractors)}`;
}

function replaceBetween(text: string, start: string, end: string, body: string): string {
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`markers ${start} ... ${end} not found`);
  return `${text.slice(0, a + start.length)}\n${body}\n${text.slice(b)}`;
}

/** The doc with its generated parts brought up to date. */
export function renderBenchmarksDoc(text: string): string {
  const withTable = replaceBetween(text, TABLE_START, TABLE_END, benchmarkTable());
  return replaceBetween(withTable, PARTS_START, PARTS_END, partsTables());
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv[2] === '--write') {
  const file = process.argv[3] ?? 'docs/benchmarks.md';
  writeFileSync(file, renderBenchmarksDoc(readFileSync(file, 'utf8')));
  process.stdout.write(`updated ${file}\n`);
}
