/**
 * Per-sample rows of a job, from the artifacts/samples.jsonl the engine streams (one line per sample:
 * sample_id, index, prompt, responses, extracted, scores, target, details, flags, error; see
 * src/engine/output/samples-writer.ts). Used by `nel export --format jsonl`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isPlainObject } from '../common/objects.js';

/** One exported row: which job and sample, and how the sample scored. */
export interface SampleRow {
  model: string;
  task: string;
  invocation_id: string;
  job_id: string;
  sample_id: string;
  index: number | null;
  /** Per-sample metric -> value, as samples.jsonl has them (e.g. {exact_match: 1}). */
  scores: Record<string, number>;
  /** What was extracted from each response (one entry per response). */
  extracted: (string | null)[];
  target: unknown;
  /** Set when the sample's request failed. */
  error?: string;
  flags?: string[];
}

export interface RowJob {
  model: string;
  task: string;
  invocation_id: string;
  job_id: string;
}

/** Where the engine writes a job's per-sample file, given the job's artifacts dir. */
export const samplesPathOf = (artifactsDir: string): string => join(artifactsDir, 'samples.jsonl');

/**
 * The rows of one job. Throws an Error with a one-line reason when the file is missing or a line is not
 * a sample object (the caller reports it as that job's failure).
 */
export function readSampleRows(artifactsDir: string, job: RowJob): SampleRow[] {
  const file = samplesPathOf(artifactsDir);
  if (!existsSync(file))
    throw new Error(`no samples.jsonl in ${artifactsDir} (written by the built-in engine only)`);
  const rows: SampleRow[] = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((text, i) => {
    if (text.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      throw new Error(`${file} line ${i + 1} is not JSON`);
    }
    if (!isPlainObject(v) || typeof v.sample_id !== 'string')
      throw new Error(`${file} line ${i + 1} is not a sample (no sample_id)`);
    const scores: Record<string, number> = {};
    if (isPlainObject(v.scores))
      for (const [k, s] of Object.entries(v.scores)) if (typeof s === 'number') scores[k] = s;
    rows.push({
      ...job,
      sample_id: v.sample_id,
      index: typeof v.index === 'number' ? v.index : null,
      scores,
      extracted: Array.isArray(v.extracted)
        ? v.extracted.map((e) => (typeof e === 'string' ? e : e === null ? null : String(e)))
        : [],
      target: v.target ?? null,
      ...(typeof v.error === 'string' ? { error: v.error } : {}),
      ...(Array.isArray(v.flags) && v.flags.length > 0 ? { flags: v.flags.map(String) } : {}),
    });
  });
  return rows;
}
