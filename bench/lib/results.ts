/** The shape every suite reports in, and what the report renders. */
import { summarize, type Summary } from './stats.js';

export interface Row {
  label: string;
  /** What the time covers. */
  scope?: string;
  values: number[];
  /** Set when the contender could not run. */
  unavailable?: string;
  /** Set when some rounds failed. */
  errors?: string[];
  /** Median of this row divided by the floor's median (direction given by the table). */
  ratio?: number | null;
  note?: string;
}

export interface Table {
  title: string;
  unit: string;
  /** Higher is better (throughput) or lower is better (latency, memory). */
  better: 'higher' | 'lower';
  /** Label of the floor row, when the table has one. */
  floor?: string;
  rows: Row[];
}

export interface SuiteResult {
  key: string;
  title: string;
  description: string;
  tables: Table[];
  /** Measured facts used by goals and "why" lines. */
  facts: Record<string, number | string | null>;
  notes: string[];
  /** When the whole suite could not run. */
  unavailable?: string;
}

export function rowSummary(r: Row): Summary {
  return summarize(r.values);
}

/** Fill each row's ratio: median / floor median (higher-better) or floor median / median (lower-better). */
export function fillRatios(t: Table): void {
  const floor = t.rows.find((r) => r.label === t.floor);
  const f = floor && floor.values.length > 0 ? summarize(floor.values).median : null;
  for (const r of t.rows) {
    if (f === null || r.values.length === 0) {
      r.ratio = null;
      continue;
    }
    const m = summarize(r.values).median;
    r.ratio = t.better === 'higher' ? m / f : m / f;
  }
}

export function medianOf(t: Table | undefined, label: string): number | null {
  const r = t?.rows.find((x) => x.label === label);
  return r && r.values.length > 0 ? summarize(r.values).median : null;
}
