/**
 * samples.jsonl: one line per sample, streamed to disk as samples complete. Lines are buffered and
 * written in chunks (at `chunkBytes`, `flushMs` after the first buffered line, and on close).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { mkdirp } from '../../common/fs.js';

export interface SampleLine {
  sample_id: string;
  index: number;
  prompt: unknown;
  responses: string[];
  extracted: (string | null)[];
  scores: Record<string, number>;
  target?: unknown;
  /** The sample's sub-group (SampleScore.category, e.g. an MMLU subject). */
  category?: string;
  /** Its sub-groups along several dimensions (SampleScore.groups, e.g. {subject, level}). */
  groups?: Record<string, string>;
  /** Benchmark-specific details of the sample (SampleScore.details). */
  details?: Record<string, unknown>;
  /** e.g. ["empty_content"]: the reply's text was empty (content null, or only reasoning). */
  flags?: string[];
  /** The endpoint's error when the sample failed (tolerated by extra.max_failed_samples). */
  error?: string;
}

/** A log-likelihood pair exactly as the engine writes it: `{context, continuation}`, both strings. */
function isPair(p: unknown): p is { context: string; continuation: string } {
  if (p === null || typeof p !== 'object' || Object.getPrototypeOf(p) !== Object.prototype) return false;
  const keys = Object.keys(p);
  const o = p as { context?: unknown; continuation?: unknown };
  return (
    keys.length === 2 &&
    keys[0] === 'context' &&
    keys[1] === 'continuation' &&
    typeof o.context === 'string' &&
    typeof o.continuation === 'string'
  );
}

/** The JSON of a list of pairs, a context or continuation equal to the previous pair's serialised once. */
function pairsJson(prompt: unknown): string | null {
  if (!Array.isArray(prompt) || prompt.length < 2) return null;
  let out = '[';
  let context: string | undefined;
  let contextJson = '';
  let continuation: string | undefined;
  let continuationJson = '';
  for (let i = 0; i < prompt.length; i++) {
    const p: unknown = prompt[i];
    if (!isPair(p)) return null;
    if (p.context !== context) contextJson = JSON.stringify((context = p.context));
    if (p.continuation !== continuation) continuationJson = JSON.stringify((continuation = p.continuation));
    out += `${i === 0 ? '' : ','}{"context":${contextJson},"continuation":${continuationJson}}`;
  }
  return `${out}]`;
}

/**
 * JSON.stringify(line), byte for byte, cheaper for a log-likelihood sample: its prompt repeats one context
 * (ARC's question before each choice) or one continuation (WinoGrande), serialised once here.
 */
export function sampleLineJson(line: SampleLine): string {
  const pairs = pairsJson(line.prompt);
  if (pairs === null) return JSON.stringify(line);
  const keys = Object.keys(line);
  if (
    keys[0] !== 'sample_id' ||
    keys[1] !== 'index' ||
    keys[2] !== 'prompt' ||
    typeof line.sample_id !== 'string' ||
    typeof line.index !== 'number'
  )
    return JSON.stringify(line);
  const { sample_id, index, prompt: _prompt, ...rest } = line;
  const restJson = JSON.stringify(rest);
  const head = `{"sample_id":${JSON.stringify(sample_id)},"index":${JSON.stringify(index)},"prompt":${pairs}`;
  return restJson === '{}' ? `${head}}` : `${head},${restJson.slice(1)}`;
}

export class SamplesWriter {
  private fd: number | null;
  private buffered: string[] = [];
  private bufferedChars = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly path: string,
    private readonly opts: { chunkBytes?: number; flushMs?: number } = {},
  ) {
    mkdirp(dirname(path));
    this.fd = openSync(path, 'w');
  }

  write(line: SampleLine): void {
    if (this.fd === null) return;
    const text = sampleLineJson(line) + '\n';
    this.buffered.push(text);
    this.bufferedChars += text.length;
    if (this.bufferedChars >= (this.opts.chunkBytes ?? 256 * 1024)) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.opts.flushMs ?? 1000).unref();
  }

  /** Write the buffered lines. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.fd === null || this.buffered.length === 0) return;
    const buf = Buffer.from(this.buffered.join(''), 'utf8');
    this.buffered = [];
    this.bufferedChars = 0;
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
  }

  close(): void {
    this.flush();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
