/** Code shared by the built-in benchmarks: loading samples, building requests, reading extra options. */
import { NelError } from '../../common/errors.js';
import {
  applyLimitSamples,
  loadDatasetRecords,
  type DatasetRecord,
  type DatasetSource,
} from '../datasets/index.js';
import type { EndpointType, PreparedRequest } from '../types.js';
import type { BenchmarkContext, BenchmarkSample } from './types.js';

/** Load a benchmark's records (honouring limit_samples) and wrap them as samples. */
export async function loadBenchmarkSamples(
  source: DatasetSource,
  ctx: BenchmarkContext,
  idOf: (record: DatasetRecord, index: number) => string = (_r, i) => String(i),
): Promise<BenchmarkSample[]> {
  const records = await loadDatasetRecords(source, {
    extra: ctx.extra,
    env: ctx.env,
    signal: ctx.signal,
    log: ctx.log,
  });
  return toSamples(applyLimitSamples(records, ctx.params.limit_samples), idOf);
}

export function toSamples(
  records: readonly DatasetRecord[],
  idOf: (record: DatasetRecord, index: number) => string = (_r, i) => String(i),
): BenchmarkSample[] {
  return records.map((data, index) => ({ id: idOf(data, index), index, data }));
}

/** A user prompt as a chat request (optional system message) or a completions prompt. */
export function textRequest(
  userText: string,
  endpointType: EndpointType,
  systemPrompt?: string | null,
  extraBody?: Record<string, unknown>,
): PreparedRequest {
  const request: PreparedRequest =
    endpointType === 'chat'
      ? {
          messages: [
            ...(systemPrompt ? [{ role: 'system', content: systemPrompt }] : []),
            { role: 'user', content: userText },
          ],
        }
      : { prompt: systemPrompt ? `${systemPrompt}\n${userText}` : userText };
  if (extraBody) request.extraBody = extraBody;
  return request;
}

/** `extra.n_samples` (responses per sample), default 1. */
export function samplesPerPrompt(extra: Record<string, unknown>): number {
  const n = Number(extra.n_samples ?? 1);
  return Number.isInteger(n) && n >= 1 ? n : 1;
}

/** A string field of a record, or a clear error naming the record. */
export function stringField(sample: BenchmarkSample, field: string, benchmark: string): string {
  const v = sample.data[field];
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new NelError('ENGINE_DATASET', `${benchmark}: record ${sample.id} has no text field "${field}"`, {
    hint: `the data set must use the upstream record layout (fields: ${Object.keys(sample.data).slice(0, 8).join(', ') || 'none'} found)`,
  });
}

/** Check that all records have the given fields, so a wrong file fails before any request is sent. */
export function requireFields(
  samples: readonly BenchmarkSample[],
  fields: readonly string[],
  benchmark: string,
): void {
  for (const s of samples) {
    for (const f of fields) {
      if (s.data[f] === undefined || s.data[f] === null) {
        throw new NelError('ENGINE_DATASET', `${benchmark}: record ${s.index} has no field "${f}"`, {
          hint: `expected the upstream record layout with fields ${fields.join(', ')}`,
        });
      }
    }
  }
}

/** Fraction of true values (0 for none). */
export function fractionTrue(flags: readonly boolean[]): number {
  return flags.length === 0 ? 0 : flags.filter(Boolean).length / flags.length;
}

/** Deterministic 32-bit PRNG (mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
